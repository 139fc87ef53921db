"""The first window a new user sees: the examples with Main Process and the Welcome page, the
Executions panel in front, a toolbar of themed icons whose tooltips name their keys, and
Help ▸ About with the version and the licences."""

from __future__ import annotations

from importlib import metadata

import pytest
from PySide6.QtGui import QColor, QIcon
from PySide6.QtWidgets import QTabBar, QTextBrowser, QToolButton

from app import about
from app.first_start import open_start_workspace
from app.welcome import WelcomePage


@pytest.fixture
def examples_home(tmp_path, monkeypatch):
    """Where a first start copies the example workspace (not the real home folder)."""
    target = tmp_path / "flowdesk-examples"
    monkeypatch.setenv("FLOWDESK_EXAMPLES", str(target))
    return target


def _raised_bottom_tab(window) -> str:
    bars = [bar for bar in window.findChildren(QTabBar) if bar.parent() is window
            and "Executions" in [bar.tabText(i) for i in range(bar.count())]]
    assert len(bars) == 1
    return bars[0].tabText(bars[0].currentIndex())


def _open_first(qtbot, make_window, requested=None):
    window = make_window(None)
    with qtbot.waitSignal(window.bridge.opened, timeout=20000):
        assert open_start_workspace(window, requested)
    return window


def test_first_start_opens_the_examples_with_main_process_and_the_welcome_page(qtbot, make_window, examples_home):
    window = _open_first(qtbot, make_window)
    assert window.workspace.root == examples_home.resolve()
    assert (examples_home / "flows" / "Calculator.py").is_file()
    tabs = window.tabs
    assert [tabs.tabText(i) for i in range(tabs.count())] == ["Main Process", "Welcome"]
    page = tabs.currentWidget()
    assert isinstance(page, WelcomePage)
    text = page.toPlainText()
    for words in ("A flow is a Python file", "handler(system, this, inputs)", "F5", "F6", "F9",
                  "Set or clear a breakpoint", "Shift+F11", "README.md", "Help ▸ Welcome"):
        assert words in text, words
    assert _raised_bottom_tab(window) == "Executions"
    # The link in the text opens the flow.
    from PySide6.QtCore import QUrl
    page.anchorClicked.emit(QUrl("flow:Main Process"))
    assert tabs.current_flow() == "Main Process"


def test_f5_with_the_welcome_page_in_front_runs_main_process(qtbot, make_window, examples_home):
    """The page says F5 runs Main Process: it does, without switching tabs first."""
    from inputs_driver import answer_inputs

    window = _open_first(qtbot, make_window)
    assert isinstance(window.tabs.currentWidget(), WelcomePage)
    assert window.run_action.isEnabled()
    seen = []
    answer_inputs(qtbot, {}, seen)
    window.run_action.trigger()
    assert [title for title, _ in seen] == ["Run Main Process"]
    qtbot.waitUntil(lambda: [t.split(" ", 1)[1] for t in window.explorer.recent_texts()] == ["Main Process — success"],
                    timeout=20000)
    # A page about no flow leaves Run disabled.
    from PySide6.QtWidgets import QLabel
    window.tabs.open_page("plain", "Plain", lambda: QLabel("no flow here"))
    assert window.tabs.current_flow() is None and not window.run_action.isEnabled()


def test_the_next_start_restores_the_tabs_without_the_welcome_page(qtbot, make_window, examples_home):
    window = _open_first(qtbot, make_window)
    window.open_flow("Calculator")
    window.close()
    again = _open_first(qtbot, make_window)  # the last workspace, known to the session now
    assert again.workspace.root == examples_home.resolve()
    assert again.tabs.page("welcome") is None
    assert again.tabs.open_flow_names() == ["Main Process", "Calculator"]
    # Help ▸ Welcome shows it again, once.
    action = next(a for a in again.menuBar().actions() if a.text() == "&Help").menu().actions()[0]
    assert action.text() == "Welcome"
    action.trigger()
    action.trigger()
    assert [again.tabs.tabText(i) for i in range(again.tabs.count())].count("Welcome") == 1
    assert isinstance(again.tabs.currentWidget(), WelcomePage)


def test_a_workspace_without_main_process_opens_its_first_flow(qtbot, make_window, workspace, examples_home):
    (workspace.root / "flows" / "Main Process.py").unlink()
    window = _open_first(qtbot, make_window, str(workspace.root))
    assert window.tabs.open_flow_names() == ["Calculator"]
    assert "Double-click a flow in the Explorer" in window.tabs.page("welcome").toPlainText()
    assert not examples_home.exists(), "a workspace was asked for: no examples copied"


EXPECTED_TOOLTIPS = [
    "New Flow (Ctrl+N)", "Save (Ctrl+S)", "Run Flow (F5)", "Stop (Shift+F5)", "Debug Flow / Pause (F6)",
    "Continue (F5)", "Step Over (F10)", "Step In (F11)", "Step Out (Shift+F11)", "Stop Debugging (Shift+F5)",
]


def _colours(icon: QIcon, size: int = 24) -> set[str]:
    image = icon.pixmap(size, size).toImage()
    return {QColor(image.pixel(x, y)).name() for x in range(size) for y in range(size)
            if QColor.fromRgba(image.pixel(x, y)).alpha() == 255}


def test_toolbar_buttons_are_themed_icons_with_the_key_in_the_tooltip(qtbot, make_window, workspace):
    window = make_window(workspace)
    # The buttons; the "Run on" combo (app/cluster) is a widget of its own, after them.
    actions = [a for a in window.toolbar.actions()
               if not a.isSeparator() and isinstance(window.toolbar.widgetForAction(a), QToolButton)]
    assert [a.toolTip() for a in actions] == EXPECTED_TOOLTIPS
    for action in actions:
        assert not action.icon().isNull(), action.toolTip()
        button = window.toolbar.widgetForAction(action)
        assert button.toolButtonStyle().name == "ToolButtonIconOnly"
    save = window.findChild(type(actions[0]), "saveAction")
    run = window.findChild(type(actions[0]), "runAction")
    window.apply_theme("light")
    assert "#424242" in _colours(save.icon()) and "#388a34" in _colours(run.icon())
    window.apply_theme("dark")
    assert "#c5c5c5" in _colours(save.icon()) and "#424242" not in _colours(save.icon())
    assert "#89d185" in _colours(run.icon())


def _about_dialog(qtbot, window):
    help_menu = next(a for a in window.menuBar().actions() if a.text() == "&Help").menu()
    action = next(a for a in help_menu.actions() if a.text() == "About Flowdesk")
    action.trigger()  # opened with open(): not modal-blocking, so the test reads it directly
    dialog = window.findChild(about.AboutDialog)
    assert dialog is not None and dialog.isVisible()
    qtbot.addWidget(dialog)
    return dialog


def test_about_shows_the_version_and_the_licences(qtbot, make_window):
    window = make_window(None)
    dialog = _about_dialog(qtbot, window)
    assert f"Flowdesk {metadata.version('flowdesk')}" in dialog.version_label.text()
    assert "MIT" in dialog.version_label.text()
    text = dialog.licences.toPlainText()
    for words in ("Qt 6 and PySide6", metadata.version("PySide6-Essentials"), "LGPL-3.0", "Scintilla",
                  "HPND-style", "SQLAlchemy", "debugpy"):
        assert words in text, words


def test_about_opens_the_licence_texts_the_app_carries(qtbot, make_window, tmp_path, monkeypatch):
    licences = tmp_path / "resources" / "app" / "licenses"
    licences.mkdir(parents=True)
    (licences / "PySide6-LGPL-3.0.txt").write_text("GNU LESSER GENERAL PUBLIC LICENSE\nVersion 3\n")
    monkeypatch.setattr(about, "resources_dir", lambda: tmp_path / "resources")
    window = make_window(None)
    dialog = _about_dialog(qtbot, window)
    browser: QTextBrowser = dialog.licences
    assert "PySide6-LGPL-3.0.txt" in browser.toPlainText()
    from PySide6.QtCore import QUrl
    browser.anchorClicked.emit(QUrl("licence:PySide6-LGPL-3.0.txt"))
    assert "GNU LESSER GENERAL PUBLIC LICENSE" in browser.toPlainText()
    browser.anchorClicked.emit(QUrl("back:"))
    assert "Qt 6 and PySide6" in browser.toPlainText()


def test_about_falls_back_to_the_built_in_version(monkeypatch):
    # A frozen app may carry no package metadata: About shows what --version prints.
    import engine_core
    import importlib.metadata

    def missing(name):
        raise metadata.PackageNotFoundError(name)
    monkeypatch.setattr(importlib.metadata, "version", missing)
    engine_core.version.cache_clear()  # read once per process: read it again without metadata
    try:
        assert about.flowdesk_version() == engine_core.VERSION
    finally:
        engine_core.version.cache_clear()
