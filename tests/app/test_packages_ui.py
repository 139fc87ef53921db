"""The Packages panel, driven through its widgets with real pip and real wheels built in the test
(installed with `--no-index --find-links`, no network): the offer when requirements.txt asks for
something not installed, Install with pip's lines in the log, the table's versions and states, a
flow importing the package run with the Run action, a broken requirement's clear message with the
previous version kept, and the offer coming back when the file is edited from outside."""

from __future__ import annotations

import os

import pytest
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QApplication

from app.packages import COLUMNS, install
from packages.wheels import build_wheel

INSTALL_TIMEOUT = 90000  # a real pip run; a few seconds on a quiet machine


@pytest.fixture
def wheels(tmp_path):
    folder = tmp_path / "wheels"
    build_wheel(folder, "tinytool", "1.0")
    build_wheel(folder, "tinytool", "1.1")
    return folder


def _write_requirements(workspace, wheels, *lines: str, replace: bool = False) -> None:
    """Write the file in place (most editors), or a new file renamed over it (as `git pull` does)."""
    text = "\n".join(["--no-index", f"--find-links {wheels}", *lines]) + "\n"
    path = workspace.root / "requirements.txt"
    if replace:
        fresh = path.with_name("requirements.txt.new")
        fresh.write_text(text, encoding="utf-8")
        os.replace(fresh, path)
    else:
        path.write_text(text, encoding="utf-8")


def _table(panel) -> dict[str, dict[str, str]]:
    """The table as the person sees it: {name: {column: text}}."""
    model = panel.model
    return {model.index(r, 0).data(): {COLUMNS[c]: model.index(r, c).data() for c in range(len(COLUMNS))}
            for r in range(model.rowCount())}


def _opened(make_window, qtbot, workspace):
    window = make_window(workspace)
    panel = install(window)
    assert install(window) is panel  # a second install adds nothing
    assert window.packages is panel
    assert panel.dock.windowTitle() == "Packages"
    assert panel.dock.toggleViewAction() in window.view_menu.actions()
    return window, panel


def _click_install(qtbot, panel, button) -> None:
    qtbot.mouseClick(button, Qt.MouseButton.LeftButton)
    assert panel.busy and panel.progress.isVisible()  # the busy bar while pip runs
    assert not panel.install_button.isEnabled()
    qtbot.waitUntil(lambda: not panel.busy, timeout=INSTALL_TIMEOUT)
    assert not panel.progress.isVisible()


def _install_first_version(make_window, qtbot, workspace, wheels):
    _write_requirements(workspace, wheels, "tinytool==1.0")
    window, panel = _opened(make_window, qtbot, workspace)
    qtbot.waitUntil(lambda: panel.offer_text != "", timeout=10000)
    with qtbot.waitSignal(panel.packages_changed, timeout=INSTALL_TIMEOUT):
        _click_install(qtbot, panel, panel.offer_install)
    qtbot.waitUntil(lambda: _table(panel).get("tinytool", {}).get("Installed") == "1.0", timeout=10000)
    return window, panel


def test_offer_install_and_run_a_flow_importing_the_package(make_window, qtbot, workspace, wheels):
    _write_requirements(workspace, wheels, "tinytool==1.0")
    window, panel = _opened(make_window, qtbot, workspace)

    # Opening a workspace whose packages are not installed offers to install them, without doing so.
    qtbot.waitUntil(lambda: panel.offer_text != "", timeout=10000)
    assert panel.offer_text == "requirements.txt changed: 1 package to install"
    assert panel.offer_bar.isVisible() and panel.isVisible()  # the panel was brought to the front
    assert panel.status_button.isVisible()
    assert window.statusBar().currentMessage() == "requirements.txt changed: 1 package to install"
    assert _table(panel) == {"tinytool": {"Name": "tinytool", "Wanted": "==1.0", "Installed": "—",
                                          "State": "not installed"}}
    assert "click Install" in panel.model.index(0, 3).data(Qt.ItemDataRole.ToolTipRole)
    assert "1 to install" in panel.summary.text()
    assert not (workspace.root / ".flowdesk" / "packages" / "current.json").exists()

    with qtbot.waitSignal(panel.packages_changed, timeout=INSTALL_TIMEOUT):
        _click_install(qtbot, panel, panel.offer_install)

    log = panel.log.toPlainText()
    assert "tinytool" in log and "Successfully installed tinytool-1.0" in log, log
    assert log.splitlines()[-1] == "Done: flows use the new packages from their next run"
    assert window.statusBar().currentMessage().startswith("Installed 1 package in ")
    qtbot.waitUntil(lambda: _table(panel)["tinytool"]["Installed"] == "1.0", timeout=10000)
    assert _table(panel)["tinytool"]["State"] == "installed"
    assert panel.offer_text == "" and not panel.status_button.isVisible()
    assert not panel.error.isVisible() and window.last_error is None
    assert panel.summary.text() == "1 requirement, all installed"

    # A flow importing the package runs from the IDE (the engine's workers take up the new set).
    workspace.write_flow("Use Tool", """
        import flow_api
        import tinytool

        def handler(system: flow_api.System, this: flow_api.Execution, inputs: dict):
            return this.success(f"tinytool {tinytool.VERSION}")
        """)
    window.open_flow("Use Tool")
    window.ask_run_inputs = lambda flow, remembered: {}
    window.run_action.trigger()
    model = window.tree_model
    qtbot.waitUntil(lambda: window.last_run_id is not None and model.node(window.last_run_id) is not None
                    and model.node(window.last_run_id).status in ("success", "error"), timeout=30000)
    qtbot.waitUntil(lambda: "tinytool 1.0" in window.executions.details.toPlainText(), timeout=10000)
    assert model.node(window.last_run_id).status == "success"


def test_a_broken_requirement_says_why_and_keeps_the_previous_version(make_window, qtbot, workspace, wheels):
    window, panel = _install_first_version(make_window, qtbot, workspace, wheels)

    # An edit from outside the IDE (another editor, a git pull) brings the offer back.
    _write_requirements(workspace, wheels, "tinytool==1.0", "nosuchthing==3.1")
    qtbot.waitUntil(lambda: panel.offer_text != "", timeout=10000)
    assert panel.offer_text == "requirements.txt changed: 1 package to install"
    assert _table(panel)["nosuchthing"]["State"] == "not installed"

    _click_install(qtbot, panel, panel.status_button)  # the status bar's button does the same
    message = panel.error.text()
    assert panel.error.isVisible()
    assert "nosuchthing" in message, message
    assert window.statusBar().currentMessage() == message
    assert QApplication.activeModalWidget() is None  # no dialog to click away
    assert "Traceback" not in message
    assert "Install failed; the packages installed before stay in use" in panel.log.toPlainText()
    qtbot.waitUntil(lambda: "nosuchthing" in _table(panel), timeout=10000)
    table = _table(panel)
    assert table["tinytool"]["Installed"] == "1.0" and table["tinytool"]["State"] == "installed"
    assert table["nosuchthing"]["Installed"] == "—"
    # Answered: no offer for this version of the file; the failure is on screen instead.
    assert panel.offer_text == ""


def test_upgrade_by_editing_the_file_and_not_now(make_window, qtbot, workspace, wheels):
    window, panel = _install_first_version(make_window, qtbot, workspace, wheels)

    _write_requirements(workspace, wheels, "tinytool==1.1")
    qtbot.waitUntil(lambda: panel.offer_text != "", timeout=10000)
    assert _table(panel)["tinytool"]["State"] == "needs update"
    assert not panel.install_button.isVisible()  # one Install button in sight: the offer's
    qtbot.mouseClick(panel.offer_dismiss, Qt.MouseButton.LeftButton)
    assert panel.offer_text == "" and not panel.status_button.isVisible()
    assert panel.install_button.isVisible() and panel.install_button.isEnabled()

    # Saving the same text again is not a change; a real edit asks again.
    _write_requirements(workspace, wheels, "tinytool==1.1")
    qtbot.wait(1000)
    assert panel.offer_text == ""
    _write_requirements(workspace, wheels, "tinytool>=1.1", replace=True)
    qtbot.waitUntil(lambda: panel.offer_text != "", timeout=10000)
    qtbot.mouseClick(panel.offer_dismiss, Qt.MouseButton.LeftButton)
    # Written in place after the rename: the new file is watched, not only its folder.
    _write_requirements(workspace, wheels, "tinytool>=1.1", "# upgrade")
    qtbot.waitUntil(lambda: panel.offer_text != "", timeout=10000)
    qtbot.mouseClick(panel.offer_dismiss, Qt.MouseButton.LeftButton)

    with qtbot.waitSignal(panel.packages_changed, timeout=INSTALL_TIMEOUT):
        _click_install(qtbot, panel, panel.install_button)  # the panel's own button, offer or not
    qtbot.waitUntil(lambda: _table(panel)["tinytool"]["Installed"] == "1.1", timeout=10000)
    assert _table(panel)["tinytool"]["State"] == "installed"


def test_add_and_install_creates_the_file(make_window, qtbot, workspace, wheels):
    window, panel = _opened(make_window, qtbot, workspace)
    qtbot.waitUntil(lambda: panel.state is not None, timeout=10000)
    assert panel.summary.text().startswith("No requirements.txt in this workspace.")
    assert not panel.install_button.isEnabled() and panel.offer_text == ""

    # The options first (as a user would write them), then the quick fix adds the package.
    (workspace.root / "requirements.txt").write_text(f"--no-index\n--find-links {wheels}\n", encoding="utf-8")
    with qtbot.waitSignal(panel.packages_changed, timeout=INSTALL_TIMEOUT):
        panel.add_and_install("tinytool")
    assert "tinytool" in (workspace.root / "requirements.txt").read_text(encoding="utf-8")
    assert "Added tinytool to requirements.txt" in panel.log.toPlainText()
    qtbot.waitUntil(lambda: _table(panel).get("tinytool", {}).get("Installed") == "1.1", timeout=10000)
    qtbot.wait(600)  # the watcher saw the file change during the install: no offer afterwards
    assert panel.offer_text == ""
