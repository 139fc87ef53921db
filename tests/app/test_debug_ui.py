"""Debugging from the IDE: breakpoint by clicking the margin, Debug, the current-line arrow,
a variable in the panel, a step, continue to success."""

from __future__ import annotations

import os
import signal
import threading
import time

from PySide6.QtCore import QPoint, Qt

from debug.session_ends import assert_nothing_left, debug_processes

PARENT = """
import flow_api

def handler(system, this, inputs):
    count = inputs.get('start', 1)
    child = this.flow('Child', value=count)
    result = child.get('output_value')['double']
    return this.success(f'result {result}')
"""

CHILD = """
def handler(system, this, inputs):
    value = inputs['value']
    this.set_output(double=value * 2)
"""


def click_breakpoint_margin(qtbot, editor, line: int) -> None:
    x = editor.marginWidthN(0) + editor.marginWidthN(1) // 2
    y = editor.pointYFromPosition(editor.positionFromLine(line - 1)) + editor.textHeight(line - 1) // 2
    qtbot.mouseClick(editor.viewport(), Qt.MouseButton.LeftButton, pos=QPoint(x, y))


def test_debug_a_flow_from_the_ide(qtbot, make_window, workspace):
    workspace.write_flow("Parent", PARENT)
    workspace.write_flow("Child", CHILD)
    window = make_window(workspace)
    window.ask_run_inputs = lambda flow, remembered: {"start": 20}
    window.open_flow("Parent")
    editor = window.tabs.current_editor()
    click_breakpoint_margin(qtbot, editor, 5)
    assert editor.breakpoint_lines() == [5]
    assert window.debug.store.for_flow("Parent")[0].line == 5
    assert window.debug.breakpoints_panel.tree.topLevelItem(0).text(0) == "Parent:5"

    qtbot.keyClick(editor, Qt.Key.Key_F6)  # Debug
    controller = window.debug.controller
    qtbot.waitUntil(lambda: controller.is_stopped, timeout=20000)
    assert editor.execution_line() == 5
    flowchart = window.visuals.flowchart
    assert flowchart.flow == "Parent" and flowchart.chart.box_at_line(5).id == flowchart.marked
    qtbot.waitUntil(lambda: window.tree_model.node(controller.session.execution_id) is not None
                    and window.tree_model.node(controller.session.execution_id).stopped, timeout=5000)
    root_index = window.tree_model.index_for(controller.session.execution_id)
    assert window.tree_model.index(root_index.row(), 2).data() == "stopped (debugger)"
    panel = window.debug.panel
    assert panel.stack.item(0).text() == "handler — Parent  :5"
    model = panel.variables_model
    qtbot.waitUntil(lambda: model.find("Locals", "count").isValid(), timeout=5000)
    count = model.find("Locals", "count")
    assert model.index(count.row(), 1, count.parent()).data() == "20"

    # Step In (F11) lands in the child flow; the stack shows the parent below it.
    qtbot.keyClick(editor, Qt.Key.Key_F11)
    qtbot.waitUntil(lambda: controller.is_stopped and controller.frames[0].flow == "Child", timeout=10000)
    child_editor = window.tabs.editor_for("Child")
    assert window.tabs.current_flow() == "Child" and child_editor.execution_line() == 2
    assert [panel.stack.item(i).text() for i in range(panel.stack.count())] == [
        "handler — Child  :2", "handler — Parent  :5"]
    assert editor.execution_line() is None

    # The console evaluates in the selected frame.
    panel.console_input.setText("inputs['value'] + 1")
    qtbot.keyClick(panel.console_input, Qt.Key.Key_Return)
    qtbot.waitUntil(lambda: "21" in panel.console.toPlainText(), timeout=5000)

    # Step Out (Shift+F11) returns to the parent; F5 continues to the end.
    qtbot.keyClick(child_editor, Qt.Key.Key_F11, Qt.KeyboardModifier.ShiftModifier)
    qtbot.waitUntil(lambda: controller.is_stopped and controller.frames[0].flow == "Parent", timeout=10000)
    qtbot.keyClick(window.tabs.current_editor(), Qt.Key.Key_F5)
    qtbot.waitUntil(lambda: not controller.active, timeout=20000)
    root = window.tree_model.node(window.last_run_id)
    qtbot.waitUntil(lambda: root.status in ("success", "error", "cancelled"), timeout=5000)
    assert (root.status, root.message) == ("success", "result 40")
    assert all(e.execution_line() is None for e in window.tabs.editors())


def test_breakpoints_persist_and_stop_ends_the_tree(qtbot, make_window, workspace):
    workspace.write_flow("Parent", PARENT)
    workspace.write_flow("Child", CHILD)
    window = make_window(workspace)
    window.open_flow("Child")
    window.tabs.current_editor().go_to_line(3)
    window.debug.toggle_action.trigger()  # F9 on the current line
    assert window.tabs.current_editor().breakpoint_lines() == [3]
    window.open_flow("Parent")
    window.ask_run_inputs = lambda flow, remembered: {}
    window.debug.debug_action.trigger()
    controller = window.debug.controller
    qtbot.waitUntil(lambda: controller.is_stopped, timeout=20000)
    assert controller.frames[0].flow == "Child" and controller.frames[0].line == 3
    root_id = controller.session.execution_id
    # Editing while stopped is allowed, and the IDE says what runs.
    qtbot.keyClicks(window.tabs.editor_for("Child"), "# edit")
    assert "the running code is the version that was started" in window.debug.notice.text()
    pids = debug_processes(controller.session)
    stopped_at = time.monotonic()
    window.stop_run()  # Shift+F5
    qtbot.waitUntil(lambda: not controller.active, timeout=20000)
    qtbot.waitUntil(lambda: window.tree_model.node(root_id).status == "cancelled", timeout=5000)
    assert window.tree_model.node(root_id).message == "cancelled: debugging stopped"
    assert_nothing_left(window.bridge.engine, pids, stopped_at)

    from engine_core.debug import BreakpointStore
    from engine_core.workspace import Workspace
    assert [b.line for b in BreakpointStore(Workspace.open(workspace.root)).for_flow("Child")] == [3]


def start_debugging_to_the_childs_breakpoint(qtbot, make_window, workspace):
    """The IDE stopped in Child (line 3) under Parent: (window, controller, root id, pids)."""
    workspace.write_flow("Parent", PARENT)
    workspace.write_flow("Child", CHILD)
    window = make_window(workspace)
    window.open_flow("Child")
    window.tabs.current_editor().go_to_line(3)
    window.debug.toggle_action.trigger()
    window.open_flow("Parent")
    window.ask_run_inputs = lambda flow, remembered: {}
    window.debug.debug_action.trigger()
    controller = window.debug.controller
    qtbot.waitUntil(lambda: controller.is_stopped, timeout=20000)
    return window, controller, controller.session.execution_id, debug_processes(controller.session)


def ended_in_the_ide(qtbot, window, controller, root_id) -> None:
    qtbot.waitUntil(lambda: not controller.active, timeout=10000)
    assert window.debug.stop_action.isEnabled() is False and window.debug.step_in_action.isEnabled() is False
    assert all(e.execution_line() is None for e in window.tabs.editors())
    qtbot.waitUntil(lambda: window.tree_model.node(root_id).status in ("error", "cancelled"), timeout=5000)


def test_the_debuggee_killed_ends_debugging_and_its_execution(qtbot, make_window, workspace):
    window, controller, root_id, pids = start_debugging_to_the_childs_breakpoint(qtbot, make_window, workspace)
    killed_at = time.monotonic()
    os.kill(pids["debuggee"], signal.SIGKILL)
    ended_in_the_ide(qtbot, window, controller, root_id)
    assert "killed by SIGKILL" in window.tree_model.node(root_id).message
    assert_nothing_left(window.bridge.engine, pids, killed_at)


def test_the_adapter_killed_ends_debugging_and_its_execution(qtbot, make_window, workspace):
    window, controller, root_id, pids = start_debugging_to_the_childs_breakpoint(qtbot, make_window, workspace)
    killed_at = time.monotonic()
    os.kill(pids["adapter"], signal.SIGKILL)
    ended_in_the_ide(qtbot, window, controller, root_id)
    assert "debug adapter" in window.tree_model.node(root_id).message
    assert_nothing_left(window.bridge.engine, pids, killed_at)


def test_closing_the_window_while_debugging_leaves_nothing_running(qtbot, make_window, workspace):
    window, controller, root_id, pids = start_debugging_to_the_childs_breakpoint(qtbot, make_window, workspace)
    engine = window.bridge.engine
    closed_at = time.monotonic()
    window.close()
    assert not window.isVisible()
    record = engine.store.execution(root_id)
    assert (record["status"], record["message"]) == ("cancelled", "cancelled: debugging stopped"), record
    assert_nothing_left(engine, pids, closed_at)


def test_a_late_end_of_an_earlier_session_does_not_end_the_current_one(qtbot, make_window, workspace):
    window, controller, first_root, first_pids = start_debugging_to_the_childs_breakpoint(qtbot, make_window, workspace)
    first = controller.session
    window.stop_run()
    qtbot.waitUntil(lambda: not controller.active, timeout=10000)
    window.debug.debug_action.trigger()  # a second session, stopped at the same breakpoint
    qtbot.waitUntil(lambda: controller.is_stopped, timeout=20000)
    second = controller.session
    assert second is not first
    # The first session's listeners fire once more, late (as a slow adapter's "terminated"
    # would): the IDE keeps debugging the second one.
    from app.tasks import call_on_gui_thread

    delivered = []

    def late_events():  # on a thread of their own, as the session's events come
        first._emit("terminated", {"reason": "late"})
        first._emit("stopped", first.last_stop)
        call_on_gui_thread(delivered.append, True)  # queued behind the late events

    late = threading.Thread(target=late_events)
    late.start()
    late.join()
    qtbot.waitUntil(lambda: bool(delivered), timeout=5000)
    assert controller.session is second and controller.is_stopped
    assert window.debug.stop_action.isEnabled()
    assert window.tree_model.node(second.execution_id).status == "running"
    second_pids = debug_processes(second)
    window.debug.continue_action.trigger()
    qtbot.waitUntil(lambda: not controller.active, timeout=20000)
    qtbot.waitUntil(lambda: window.tree_model.node(second.execution_id).status == "success", timeout=5000)
    assert window.tree_model.node(first_root).status == "cancelled"
    assert_nothing_left(window.bridge.engine, {**first_pids, **{"2" + k: v for k, v in second_pids.items()}},
                        time.monotonic())
