"""Editing requirements.txt inside the IDE, through the widgets: the Packages panel's "Edit
requirements.txt" button opens it in an editor tab (created with a short comment when missing),
typed lines are saved with Ctrl+S (plain text, not linted as a flow), the panel offers to install
what the saved file asks for and installs it with real pip from wheels built in the test; a
double-click on a row opens the file at its line; unsaved edits are asked about when the tab or
the window closes; the tab comes back with the session, told apart from a flow of the same name."""

from __future__ import annotations

import pytest
from PySide6.QtCore import Qt

from app.linting import DEBOUNCE_MS
from app.packages.editing import TEMPLATE
from packages.wheels import build_wheel

INSTALL_TIMEOUT = 90000  # a real pip run; a few seconds on a quiet machine
KEY = "./requirements.txt"  # the tab's session key


@pytest.fixture
def wheels(tmp_path):
    folder = tmp_path / "wheels"
    build_wheel(folder, "tinytool", "1.0")
    return folder


def _titles(window) -> list[str]:
    return [window.tabs.tabText(i) for i in range(window.tabs.count())]


def _panel(window):
    panel = window.packages
    panel.dock.show()
    panel.dock.raise_()
    return panel


def _click_edit(qtbot, window):
    qtbot.mouseClick(window.packages.edit_button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: window.tabs.current_key() == KEY, timeout=5000)
    return window.tabs.current_editor()


def _type_lines(qtbot, editor, *lines: str) -> None:
    qtbot.keyClick(editor, Qt.Key.Key_End, Qt.KeyboardModifier.ControlModifier)
    for line in lines:
        qtbot.keyClicks(editor, line)
        qtbot.keyClick(editor, Qt.Key.Key_Return)


def test_edit_creates_the_file_ctrl_s_saves_it_and_the_offer_installs(make_window, qtbot, workspace, wheels):
    path = workspace.root / "requirements.txt"
    window = make_window(workspace)
    window.open_flow("Messenger")
    panel = _panel(window)
    qtbot.waitUntil(lambda: panel.state is not None, timeout=10000)
    assert panel.summary.text().startswith("No requirements.txt in this workspace. Click Edit requirements.txt")
    assert panel.edit_button.isVisible() and panel.edit_button.isEnabled()

    editor = _click_edit(qtbot, window)
    assert _titles(window) == ["Messenger", "requirements.txt"]
    assert window.tabs.tabToolTip(1) == str(path)
    assert path.read_text(encoding="utf-8") == TEMPLATE == editor.text()
    assert TEMPLATE.startswith("# Python packages the flows of this workspace import, in pip's format")
    assert editor.hasFocus() and not editor.is_dirty()
    assert not window.run_action.isEnabled(), "not a flow to run"
    assert not window.debug.debug_action.isEnabled(), "not a flow to debug (F6)"
    # The new file names no package: nothing to offer, and the summary says so.
    qtbot.waitUntil(lambda: panel.summary.text() == "0 requirements, all installed", timeout=5000)
    assert panel.offer_text == ""

    _type_lines(qtbot, editor, "--no-index", f"--find-links {wheels}", "tinytool==1.0")
    assert _titles(window)[1] == "● requirements.txt"
    qtbot.keyClick(editor, Qt.Key.Key_S, Qt.KeyboardModifier.ControlModifier)
    assert _titles(window) == ["Messenger", "requirements.txt"]
    assert path.read_text(encoding="utf-8") == TEMPLATE + f"--no-index\n--find-links {wheels}\ntinytool==1.0\n"
    assert window.statusBar().currentMessage() == "Saved requirements.txt"
    assert not (workspace.root / "files" / "requirements.txt").exists()
    assert not (workspace.root / "flows" / "requirements.txt.py").exists()

    # The panel's watcher sees the save: the offer to install, nothing installed yet.
    qtbot.waitUntil(lambda: panel.offer_text != "", timeout=10000)
    assert panel.offer_text == "requirements.txt changed: 1 package to install"
    assert panel.offer_bar.isVisible() and panel.status_button.isVisible()
    with qtbot.waitSignal(panel.packages_changed, timeout=INSTALL_TIMEOUT):
        qtbot.mouseClick(panel.offer_install, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: panel.summary.text() == "1 requirement, all installed", timeout=10000)

    # Plain text: no flow lint ("--no-index" is no Python) and one style (no Python highlighting).
    qtbot.wait(DEBOUNCE_MS + 500)
    assert window.problems_model.rowCount() == 0 and editor.indicator_ranges() == []
    editor.colourise(0, -1)
    assert {editor.styleAt(pos) for pos in range(editor.length())} == {0}

    # A second click shows the open tab, its buffer as it is (not reread, not recreated).
    window.tabs.setCurrentIndex(0)
    qtbot.keyClicks(editor, "# draft")
    assert _click_edit(qtbot, window) is editor and editor.text().endswith("# draft")
    assert window.tabs.count() == 2


def test_a_double_click_on_a_row_opens_the_file_at_its_line(make_window, qtbot, workspace, wheels):
    (workspace.root / "requirements.txt").write_text(
        f"# tools\n--no-index\n--find-links {wheels}\n\nTinyTool==1.0\n", encoding="utf-8")
    window = make_window(workspace)
    panel = _panel(window)
    qtbot.waitUntil(lambda: "TinyTool" in panel.model.names(), timeout=10000)
    row = panel.model.names().index("TinyTool")
    rect = panel.view.visualRect(panel.model.index(row, 0))
    qtbot.mouseClick(panel.view.viewport(), Qt.MouseButton.LeftButton, pos=rect.center())
    qtbot.mouseDClick(panel.view.viewport(), Qt.MouseButton.LeftButton, pos=rect.center())
    qtbot.waitUntil(lambda: window.tabs.current_key() == KEY, timeout=5000)
    editor = window.tabs.current_editor()
    assert editor.current_line() == 5 and editor.hasFocus()
    assert (workspace.root / "requirements.txt").read_text(encoding="utf-8").startswith("# tools\n")  # not replaced


def test_unsaved_edits_are_asked_about_and_the_tab_comes_back(make_window, qtbot, workspace):
    path = workspace.root / "requirements.txt"
    path.write_text("# mine\n", encoding="utf-8")
    workspace.write_flow("requirements.txt", """
        import flow_api

        def handler(system: flow_api.System, this: flow_api.Execution, inputs: dict):
            return this.success('a flow named like the file')
        """)
    window = make_window(workspace)
    _panel(window)
    editor = _click_edit(qtbot, window)
    qtbot.keyClicks(editor, "PyYAML>=6")
    asked = []
    window.tabs.ask_save_changes = lambda names: asked.append(names) or "cancel"
    window.close_current_tab()
    assert asked == [["requirements.txt"]] and window.tabs.count() == 1, "cancel keeps the tab"
    assert window.close() is False and asked[-1] == ["requirements.txt"]
    assert path.read_text(encoding="utf-8") == "# mine\n"
    window.tabs.ask_save_changes = lambda names: "save"

    # A flow of the same name beside it: the session tells them apart.
    window.open_flow("requirements.txt")
    window.tabs.setCurrentWidget(editor)
    assert window.tabs.tab_keys() == [KEY, "requirements.txt"]
    assert window.close() is True
    assert path.read_text(encoding="utf-8") == "PyYAML>=6# mine\n"

    again = make_window(None)
    with qtbot.waitSignal(again.bridge.opened, timeout=20000):
        again.open_workspace(again.session.last_workspace())
    qtbot.waitUntil(lambda: sorted(again.tabs.tab_keys()) == sorted([KEY, "requirements.txt"]), timeout=5000)
    qtbot.waitUntil(lambda: again.tabs.current_key() == KEY, timeout=5000)
    assert again.tabs.current_editor().text() == "PyYAML>=6# mine\n"
    assert again.tabs.flow_of(again.tabs.editor_for("requirements.txt")) == "requirements.txt"
    again.close()

    # Deleted meanwhile: not reopened, and not created again behind the user's back.
    path.unlink()
    third = make_window(None)
    with qtbot.waitSignal(third.bridge.opened, timeout=20000):
        third.open_workspace(third.session.last_workspace())
    qtbot.wait(500)
    assert third.tabs.tab_keys() == ["requirements.txt"] and not path.exists()
