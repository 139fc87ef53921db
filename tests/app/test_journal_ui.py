"""Journals and replays in the IDE: the Journal tab lists an execution's calls, "Debug this
execution again" from the tree's context menu starts a replay that stops at a breakpoint, the
banner at the end of a recording, the tree's marks for resumed executions and replays (placed
by ``ExecutionCreated.replay_of``), and the extension points the feature is installed through."""

from __future__ import annotations

import time

import pytest
from PySide6.QtCore import QModelIndex

from app.journal import install as install_journal
from engine_core import Engine
from engine_core import events as ev

DEPLOY = """
import flow_api

def handler(system, this, inputs):
    target = system.setting('target').get()
    exists = system.setting('target').exists()
    raise ValueError(f'no route to {target}')
"""

needs_replay = pytest.mark.skipif(not hasattr(Engine, "replay"), reason="Engine.replay (helper C2) has not landed")


def _run_failed(qtbot, window):
    window.bridge.engine.store.save_setting("target", "prod")
    record = window.bridge.engine.run("Deploy")
    qtbot.waitUntil(lambda: window.tree_model.index_for(record["id"]).isValid(), timeout=5000)
    window.executions.select(record["id"])
    return record


@needs_replay
def test_journal_tab_lists_the_calls(qtbot, make_window, workspace):
    workspace.write_flow("Deploy", DEPLOY)
    window = make_window(workspace)
    _run_failed(qtbot, window)
    feature = window.journal
    feature.tabs.setCurrentWidget(feature.view)
    table = feature.view.table
    qtbot.waitUntil(lambda: table.topLevelItemCount() == 2, timeout=5000)
    rows = [[table.topLevelItem(i).text(c) for c in range(4)] for i in range(2)]
    assert rows[0][:2] == ["1", "4"] and "target" in rows[0][2] and "prod" in rows[0][3]
    assert rows[1][:2] == ["2", "5"] and "true" in rows[1][3]
    assert feature.view.summary.text().startswith("2 flow API calls recorded")


@needs_replay
def test_debug_again_from_the_context_menu_stops_at_a_breakpoint(qtbot, make_window, workspace):
    workspace.write_flow("Deploy", DEPLOY)
    window = make_window(workspace)
    record = _run_failed(qtbot, window)
    window.debug.store.toggle("Deploy", 5)
    window.bridge.engine.store.save_setting("target", "changed since")
    menu = window.executions.context_actions(record["id"])
    action = next(a for a in menu.actions() if a.text() == "Debug this execution again")
    assert action.isEnabled()
    action.trigger()
    controller = window.debug.controller
    qtbot.waitUntil(lambda: controller.is_stopped, timeout=20000)
    assert controller.frames[0].flow == "Deploy" and controller.frames[0].line == 5
    assert window.tabs.editor_for("Deploy").execution_line() == 5
    replay_id = controller.session.execution_id
    node = window.tree_model.node(replay_id)
    assert node is not None and node.parent is window.tree_model.node(record["id"])  # beside its original
    model = window.debug.panel.variables_model
    qtbot.waitUntil(lambda: model.find("Locals", "target").isValid(), timeout=5000)
    target = model.find("Locals", "target")
    assert model.index(target.row(), 1, target.parent()).data() == "'prod'"
    controller.stop()
    qtbot.waitUntil(lambda: not controller.active, timeout=10000)


def test_tree_marks_resumed_executions_and_shows_a_replay_under_its_original(qtbot):
    from app.models.execution_tree import ExecutionTreeModel

    model = ExecutionTreeModel()
    now = time.time()
    model.enqueue([
        ev.ExecutionCreated(12, None, 12, "Deploy", "Deploy", "flow", "running", {}, now),
        ev.ExecutionCreated(13, None, 13, "Other", "Other", "flow", "running", {}, now),
        ev.ExecutionResumed(12, 12.4, now),
        ev.ExecutionCreated(40, None, 40, "Deploy", "Deploy (replay of #12)", "flow", "running", {}, now, replay_of=12),
        # A root merely named like a replay is a root; a replay's inline child stays under the replay.
        ev.ExecutionCreated(41, None, 41, "Other", "Other (replay of #13)", "flow", "running", {}, now),
        ev.ExecutionCreated(42, 40, 40, "Child", "Child", "flow", "running", {}, now, replay_of=14),
    ])
    qtbot.waitUntil(lambda: model.pending() == 0 and model.node(42) is not None, timeout=2000)
    assert model.rowCount() == 3  # the replay is not another root row
    assert model.index_for(41).parent() == QModelIndex() and model.node(41).replay_of is None
    assert model.node(42).parent is model.node(40) and "replay of #14" in model.data(model.index_for(42), 3)
    original = model.index_for(12)
    assert original.data() == "Deploy  #12  ↻ resumed after restart, 12 s lost"
    assert "resumed after restart, 12 s lost" in model.data(original, 3)  # tooltip
    replay = model.index_for(40)
    assert replay.parent() == original and replay.data() == "Deploy (replay of #12)  #40"
    assert "replay of #12" in model.data(replay, 3)
    model.load_history([
        {"id": 12, "parent_id": None, "flow": "Deploy", "name": "Deploy", "kind": "flow", "status": "error",
         "message": "x", "started_at": now, "ended_at": now, "lost_s": 3.0},
        {"id": 40, "parent_id": None, "flow": "Deploy", "name": "again", "kind": "flow", "status": "error",
         "message": "x", "started_at": now, "ended_at": now, "replay_of": 12},
        {"id": 42, "parent_id": 40, "flow": "Child", "name": "Child", "kind": "flow", "status": "error",
         "message": "x", "started_at": now, "ended_at": now, "replay_of": 14},
    ])
    assert model.rowCount() == 1 and model.index_for(40).parent() == model.index_for(12)
    assert model.index_for(42).parent() == model.index_for(40)
    assert model.index_for(12).data().endswith("resumed after restart, 3 s lost")


def test_journal_tab_and_banner_widgets(qtbot, make_window, workspace):
    window = make_window(workspace)
    feature = window.journal
    # Through the panel's and the editor area's extension points, nothing swapped or wrapped.
    assert feature.tabs is window.executions.details_tabs
    assert feature.tabs.tabText(0) == "Details" and feature.tabs.tabText(1) == "Journal"
    assert feature.tabs.widget(0) is window.executions.details
    assert window.centralWidget() is window.editor_area
    assert feature.banner.parentWidget() is window.editor_area and window.tabs.parentWidget() is window.editor_area
    assert "context_actions" not in vars(window.executions)
    feature.view.show_journal(7, {"id": 7, "durable": True}, [
        {"seq": 1, "op": "setting_get", "target": "target", "args": {"name": "target"}, "line": 4, "state": "done",
         "ok": True, "result": "prod", "ref": None, "called_at": time.time(), "answered_at": time.time()},
        {"seq": 2, "op": "sleep", "target": "", "args": {}, "line": 6, "state": "pending", "ok": None,
         "result": None, "ref": {"until": 1}, "called_at": time.time(), "answered_at": None}])
    assert feature.view.table.topLevelItemCount() == 2
    assert feature.view.table.topLevelItem(0).text(3) == '"prod"'
    assert feature.view.summary.text().startswith("2 flow API calls recorded, 1 waiting")
    answers = []
    feature.launcher.answer = answers.append
    feature._journal_ended(ev.JournalEnded(99, 8, None, "replay reached the end of the recording at call 8", 0.0))
    assert feature.banner.isVisible() and "end of the recording" in feature.banner.label.text()
    feature.banner.live_button.click()
    assert answers == [True] and not feature.banner.isVisible()
    feature._journal_ended(ev.JournalEnded(99, 8, None, "again", 0.0))
    feature.banner.stop_button.click()
    assert answers == [True, False]
    menu = window.executions.context_actions(12345)
    assert [a.text() for a in menu.actions() if a.text()][-1] == "Debug this execution again"
    assert install_journal(window) is feature and feature.tabs.count() == 2  # installed once


def test_the_panel_and_editor_area_extension_points(qtbot):
    from PySide6.QtWidgets import QLabel

    from app.engine_bridge import EngineBridge
    from app.models.execution_tree import ExecutionTreeModel
    from app.panels.executions_panel import ExecutionsPanel
    from app.window_layout import EditorArea

    panel = ExecutionsPanel(EngineBridge(), ExecutionTreeModel())
    qtbot.addWidget(panel)
    seen = []
    panel.add_menu_extension(lambda menu, i: seen.append(i) or menu.addAction(f"first {i}"))
    panel.add_menu_extension(lambda menu, i: 1 / 0)  # a broken feature: logged, the menu still opens
    panel.add_menu_extension(lambda menu, i: menu.addAction("last"))
    texts = [a.text() for a in panel.context_actions(7).actions() if a.text()]
    assert texts == ["Pause", "Resume", "Cancel", "first 7", "last"] and seen == [7]
    assert panel.details_tabs.count() == 1 and panel.details_tabs.tabText(0) == "Details"
    assert panel.details_tabs.tabBar().isHidden() or not panel.details_tabs.isVisible()

    editors = QLabel("editors")
    area = EditorArea(editors)
    qtbot.addWidget(area)
    first, second = QLabel("first"), QLabel("second")
    area.add_banner(first)
    area.add_banner(second)
    layout = area.layout()
    assert [layout.itemAt(i).widget() for i in range(layout.count())] == [first, second, editors]
