"""The IDE driven through its widgets, as a user would (the Run inputs dialog too: answered
by typing into the real dialog, see inputs_driver.py)."""

from __future__ import annotations

import json
from pathlib import Path

from PySide6.QtCore import Qt

from inputs_driver import answer_inputs


ARTIFACTS = Path(__file__).resolve().parent.parent / "artifacts"


def _type_at_end(qtbot, editor, text: str) -> None:
    """Type like a user at the end of the flow (QTest has no key for '\n': press Return)."""
    editor.setFocus()
    qtbot.keyClick(editor, Qt.Key.Key_End, Qt.KeyboardModifier.ControlModifier)
    for i, part in enumerate(text.split("\n")):
        if i:
            qtbot.keyClick(editor, Qt.Key.Key_Return)
        if part:
            qtbot.keyClicks(editor, part)


def _problem_messages(window) -> list[str]:
    model = window.problems_model
    return [model.index(r, 2).data() for r in range(model.rowCount())]


def test_workspace_explorer_lists_flows_and_recent_executions(qtbot, make_window, workspace):
    window = make_window(workspace)
    assert window.explorer.flow_names() == sorted(p.stem for p in (workspace.root / "flows").glob("*.py"))
    answer_inputs(qtbot, {"initial_value": 1})
    window.run_flow("Calculator")
    # Listed while it runs, too: wait for its final status.
    qtbot.waitUntil(lambda: [t.split(" ", 1)[1] for t in window.explorer.recent_texts()] == ["Calculator — success"],
                    timeout=10000)
    # A flow file added outside the IDE shows up.
    workspace.write_flow("Added Outside", "def handler(system, this, inputs):\n    pass\n")
    qtbot.waitUntil(lambda: "Added Outside" in window.explorer.flow_names(), timeout=5000)


def test_lint_problem_appears_in_panel_and_margin_then_goes(qtbot, make_window, workspace):
    window = make_window(workspace)
    window.open_flow("Calculator")
    editor = window.tabs.current_editor()
    _type_at_end(qtbot, editor, "\nprint(undefined_thing)\n")
    qtbot.waitUntil(lambda: any("undefined name 'undefined_thing'" in m for m in _problem_messages(window)), timeout=5000)
    line = next(p.line for p in window.problems_model.problems("Calculator") if "undefined_thing" in p.message)
    assert editor.problems_at_line(line), "a marker is on the line of the problem"
    assert editor.indicator_ranges(), "the name is underlined"
    assert window.tabs.tabText(window.tabs.currentIndex()) == "● Calculator"
    # Clicking the row jumps to the line.
    editor.go_to_line(1)
    window.problems_view.clicked.emit(window.problems_model.index(0, 0))
    assert editor.current_line() == line
    # Fix it: the problem goes away everywhere.
    editor.set_text(editor.text().replace("print(undefined_thing)", "print('fixed')"))
    editor.textEdited.emit()
    qtbot.waitUntil(lambda: window.problems_model.rowCount() == 0, timeout=5000)
    assert editor.problems_at_line(line) == []
    assert window.problems_label.text() == "No problems"


def test_unknown_flow_name_is_flagged(qtbot, make_window, workspace):
    window = make_window(workspace)
    window.open_flow("Main Process")
    editor = window.tabs.current_editor()
    editor.set_text(editor.text().replace("'Messenger'", "'Mesenger'"))
    editor.textEdited.emit()
    qtbot.waitUntil(lambda: any("no flow 'Mesenger'" in m for m in _problem_messages(window)), timeout=5000)
    assert any("did you mean 'Messenger'" in m for m in _problem_messages(window))


def test_run_main_process_shows_the_live_tree(qtbot, make_window, workspace):
    window = make_window(workspace)
    window.open_flow("Main Process")
    asked = []
    answer_inputs(qtbot, {}, asked)
    qtbot.keyClick(window.tabs.current_editor(), Qt.Key.Key_F5)
    assert asked == [("Run Main Process", "{}")]
    model = window.tree_model
    qtbot.waitUntil(lambda: window.last_run_id is not None and model.node(window.last_run_id) is not None
                    and model.node(window.last_run_id).status == "success", timeout=15000)
    root = model.index(0, 0)
    assert root.data() == f"Main Process  #{window.last_run_id}"
    assert [model.index(r, 0, root).data().split("  #")[0] for r in range(model.rowCount(root))] == [
        "calculate new value", "create message with result"]
    assert [model.index(r, 2, root).data() for r in range(model.rowCount(root))] == ["success", "success"]
    assert model.index(0, 2).data() == "success"
    qtbot.waitUntil(lambda: window.messages_model.rowCount() == 1, timeout=5000)
    assert window.messages_model.index(0, 3).data() == " The value is: 42"
    # The root is selected and its details are shown.
    qtbot.waitUntil(lambda: "all done" in window.executions.details.toPlainText(), timeout=5000)
    assert window.executions.cancel_button.isEnabled() is False


def test_screenshot_of_a_running_tree(qtbot, make_window, workspace):
    workspace.write_flow("Slow Child", """
        def handler(system, this, inputs):
            this.log('working on', inputs['n'])
            this.sleep(20)
    """)
    workspace.write_flow("Fan Out", """
        def handler(system, this, inputs):
            children = [this.flow('Slow Child', name=f'part {n}', wait=False, n=n) for n in range(3)]
            this.wait_for(*children)
    """)
    window = make_window(workspace)
    window.resize(1280, 820)
    window.open_flow("Fan Out")
    answer_inputs(qtbot, {})
    window.run_current()
    qtbot.waitUntil(lambda: window.last_run_id is not None and window.tree_model.node(window.last_run_id)
                    and len(window.tree_model.node(window.last_run_id).children) == 3
                    and all(c.status == "running" for c in window.tree_model.node(window.last_run_id).children),
                    timeout=15000)
    window.executions.tree.expandAll()
    ARTIFACTS.mkdir(exist_ok=True)
    path = ARTIFACTS / "main_window_running_tree.png"
    assert window.grab().save(str(path))
    assert path.stat().st_size > 10_000
    window.stop_run()
    qtbot.waitUntil(lambda: window.tree_model.node(window.last_run_id).status == "cancelled", timeout=10000)


def test_cancel_a_looping_flow_from_the_panel(qtbot, make_window, workspace):
    workspace.write_flow("Looper", """
        def handler(system, this, inputs):
            while True:
                pass
    """)
    window = make_window(workspace)
    window.open_flow("Looper")
    answer_inputs(qtbot, {})
    window.run_current()
    qtbot.waitUntil(lambda: window.last_run_id is not None and window.tree_model.node(window.last_run_id)
                    and window.tree_model.node(window.last_run_id).status == "running", timeout=10000)
    window.executions.select(window.last_run_id)
    qtbot.waitUntil(window.executions.cancel_button.isEnabled, timeout=5000)
    qtbot.mouseClick(window.executions.cancel_button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: window.tree_model.node(window.last_run_id).status == "cancelled", timeout=10000)
    assert not window.executions.cancel_button.isEnabled()


def test_failed_execution_links_to_the_flow_line(qtbot, make_window, workspace):
    workspace.write_flow("Fails", """
        def handler(system, this, inputs):
            x = 1
            return x / 0
    """)
    window = make_window(workspace)
    answer_inputs(qtbot, {})
    window.run_flow("Fails")
    qtbot.waitUntil(lambda: window.last_run_id is not None and window.tree_model.node(window.last_run_id)
                    and window.tree_model.node(window.last_run_id).status == "error", timeout=10000)
    window.executions.select(window.last_run_id)
    qtbot.waitUntil(lambda: "Traceback" in window.executions.details.toPlainText(), timeout=5000)
    html = window.executions.details.toHtml()
    assert 'href="flow:Fails:3"' in html
    from PySide6.QtCore import QUrl
    window.executions.details.anchorClicked.emit(QUrl("flow:Fails:3"))
    assert window.tabs.current_flow() == "Fails"
    assert window.tabs.current_editor().current_line() == 3


def test_run_inputs_are_remembered_per_flow(qtbot, make_window, workspace):
    window = make_window(workspace)
    window.open_flow("Calculator")
    seen = []
    answer_inputs(qtbot, {"initial_value": 7}, seen)
    window.run_current()
    qtbot.waitUntil(lambda: window.last_run_id is not None, timeout=10000)
    answer_inputs(qtbot, None, seen)  # cancelled: nothing runs, the remembered inputs stay
    window.run_current()
    window.open_flow("Messenger")
    answer_inputs(qtbot, None, seen)
    window.run_current()
    assert [title for title, _ in seen] == ["Run Calculator", "Run Calculator", "Run Messenger"]
    assert json.loads(seen[1][1]) == {"initial_value": 7}
    assert json.loads(seen[2][1]) == {"message_value": None}, "another flow: its own inputs"


def test_unsaved_changes_prompt(qtbot, make_window, workspace):
    window = make_window(workspace)
    window.open_flow("Messenger")
    editor = window.tabs.current_editor()
    path = workspace.root / "flows" / "Messenger.py"
    original = path.read_text()
    _type_at_end(qtbot, editor, "# edited\n")
    asked = []
    window.tabs.ask_save_changes = lambda names: asked.append(names) or "cancel"
    window.close_current_tab()
    assert asked == [["Messenger"]] and window.tabs.count() == 1, "cancel keeps the tab"
    window.tabs.ask_save_changes = lambda names: "discard"
    window.close_current_tab()
    assert window.tabs.count() == 0 and path.read_text() == original
    window.open_flow("Messenger")
    _type_at_end(qtbot, window.tabs.current_editor(), "# kept\n")
    window.tabs.ask_save_changes = lambda names: "save"
    window.close_current_tab()
    assert path.read_text().endswith("# kept\n")


def test_ctrl_s_saves_and_clears_the_dirty_marker(qtbot, make_window, workspace):
    window = make_window(workspace)
    window.open_flow("Messenger")
    editor = window.tabs.current_editor()
    _type_at_end(qtbot, editor, "# saved\n")
    assert window.tabs.tabText(0) == "● Messenger"
    qtbot.keyClick(editor, Qt.Key.Key_S, Qt.KeyboardModifier.ControlModifier)
    assert (workspace.root / "flows" / "Messenger.py").read_text().endswith("# saved\n")
    assert window.tabs.tabText(0) == "Messenger"


def test_session_restored_after_reopening(qtbot, make_window, workspace):
    window = make_window(workspace)
    window.open_flow("Calculator")
    window.open_flow("Messenger")
    window.open_flow("Calculator")
    window.resize(700, 540)  # within the offscreen screen (800x600)
    size = (window.width(), window.height())
    assert size != (1280, 820), "the window was resized"
    window.apply_theme("dark")
    window.close()
    again = make_window(None)
    assert again.session.last_workspace() == str(workspace.root)
    with qtbot.waitSignal(again.bridge.opened, timeout=20000):
        again.open_workspace(again.session.last_workspace())
    assert again.tabs.open_flow_names() == ["Calculator", "Messenger"]
    assert again.tabs.current_flow() == "Calculator"
    assert (again.width(), again.height()) == size
    assert again.theme == "dark" and again.theme_actions["dark"].isChecked()


def test_bad_workspace_gets_a_clear_message(make_window, tmp_path):
    window = make_window(None)
    assert not window.open_workspace(str(tmp_path))
    assert "is not a Flowdesk workspace: it has no 'flows/' folder" in window.last_error


def test_new_rename_delete_flow_from_the_window(qtbot, make_window, workspace):
    window = make_window(workspace)
    assert window.create_flow("Fresh")
    assert "Fresh" in window.explorer.flow_names() and window.tabs.current_flow() == "Fresh"
    assert not window.create_flow("Fresh")
    assert "a flow 'Fresh' already exists" in window.last_error
    assert window.do_rename_flow("Fresh", "Renamed")
    assert window.tabs.current_flow() == "Renamed" and window.tabs.tabText(window.tabs.currentIndex()) == "Renamed"
    assert "Renamed" in window.explorer.flow_names() and "Fresh" not in window.explorer.flow_names()
    assert window.do_delete_flow("Renamed")
    assert "Renamed" not in window.explorer.flow_names() and window.tabs.count() == 0


def test_settings_are_listed_and_saved(qtbot, make_window, workspace):
    window = make_window(workspace)
    window.save_setting("region", {"name": "eu"})
    qtbot.waitUntil(lambda: window.explorer.item_for("setting", "region") is not None, timeout=5000)
    assert window.explorer.item_for("setting", "region").text() == 'region = {"name": "eu"}'
    assert window.bridge.engine.store.settings() == {"region": {"name": "eu"}}


def test_completion_after_this_dot(qtbot, make_window, workspace):
    window = make_window(workspace)
    window.open_flow("Messenger")
    editor = window.tabs.current_editor()
    editor.go_to_line(4)  # inside the handler
    qtbot.keyClick(editor, Qt.Key.Key_End)
    qtbot.keyClick(editor, Qt.Key.Key_Return)
    # "this.se" would match both this.set and this.set_output: type enough to mean one.
    qtbot.keyClicks(editor, "this.set_o")
    qtbot.keyClick(editor, Qt.Key.Key_Space, Qt.KeyboardModifier.ControlModifier)
    qtbot.waitUntil(editor.autoCActive, timeout=10000)
    qtbot.keyClick(editor, Qt.Key.Key_Return)
    assert editor.text().splitlines()[editor.current_line() - 1].strip() == "this.set_output"


def test_json_dialog_validates(qtbot):
    from app.dialogs.json_dialog import JsonDialog
    from PySide6.QtWidgets import QDialogButtonBox

    dialog = JsonDialog("Run", "Inputs", "{}", require_object=True)
    qtbot.addWidget(dialog)
    ok = dialog.buttons.button(QDialogButtonBox.StandardButton.Ok)
    assert ok.isEnabled()
    dialog.editor.setPlainText('{"a": ')
    assert not ok.isEnabled() and dialog.error.text().startswith("Not valid JSON")
    dialog.editor.setPlainText("[1]")
    assert not ok.isEnabled() and "must be a JSON object" in dialog.error.text()
    dialog.editor.setPlainText('{"a": 1}')
    assert ok.isEnabled() and dialog.value() == {"a": 1}


def test_flowdesk_command_passes_engine_commands_to_the_cli(workspace):
    import subprocess
    import sys

    result = subprocess.run([sys.executable, "-m", "app.launcher", "flows", "-w", str(workspace)],
                            capture_output=True, text=True, timeout=60)
    assert result.returncode == 0
    assert "Main Process" in result.stdout.splitlines()
