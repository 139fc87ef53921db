"""The execution tree model on its own: structure, live updates, 10,000 rows."""

from __future__ import annotations

import time

from PySide6.QtCore import Qt

from engine_core import events as ev


def created(i, parent=None, flow="F", name=None):
    return ev.ExecutionCreated(id=i, parent_id=parent, root_id=parent or i, flow=flow, name=name or f"n{i}",
                               kind="flow", status="queued", inputs={}, at=time.time())


def status(i, s, message=None):
    return ev.StatusChanged(i, s, message, time.time())


def names(model, parent):
    return [model.index(r, 0, parent).data() for r in range(model.rowCount(parent))]


def test_tree_shape_and_updates(qtbot, qtmodeltester):
    from app.models.execution_tree import ExecutionTreeModel

    model = ExecutionTreeModel()
    qtmodeltester.check(model)
    model.enqueue([created(1, flow="Main"), status(1, "running"), created(2, 1, "Calc", "calc"),
                   status(2, "running"), created(3, 1, "Msg", "msg")])
    qtbot.waitUntil(lambda: model.pending() == 0)
    assert names(model, model.index(0, 0).parent()) == ["n1  #1"]
    root = model.index(0, 0)
    assert names(model, root) == ["calc  #2", "msg  #3"]
    assert model.index(0, 2, root).data() == "running" and model.index(1, 2, root).data() == "queued"
    with qtbot.waitSignal(model.dataChanged):
        model.enqueue([status(2, "success", "ok")])
        qtbot.waitUntil(lambda: model.pending() == 0)
    assert model.index(0, 2, root).data() == "success"
    assert model.index(0, 0, root).data(model.IdRole) == 2
    # A newer root goes on top.
    model.enqueue([created(4, flow="Other")])
    qtbot.waitUntil(lambda: model.pending() == 0)
    assert names(model, root.parent()) == ["n4  #4", "n1  #1"]
    assert model.index_for(1).row() == 1
    qtmodeltester.check(model)


def test_ten_thousand_executions_arrive_without_long_stalls(qtbot):
    from app.models.execution_tree import ExecutionTreeModel

    model = ExecutionTreeModel(budget_ms=8)
    events = []
    for i in range(1, 10_001):
        parent = None if i % 10 == 1 else i - (i - 1) % 10
        events += [created(i, parent), status(i, "running"), status(i, "success")]
    started = time.perf_counter()
    model.enqueue(events)
    qtbot.waitUntil(lambda: model.pending() == 0, timeout=30000)
    assert time.perf_counter() - started < 20
    assert model.rowCount() == 1000
    assert model.rowCount(model.index(0, 0)) == 9
    assert model.index(0, 2).data() == "success"


def test_history_load(qtbot):
    from app.models.execution_tree import ExecutionTreeModel

    model = ExecutionTreeModel()
    rows = [
        {"id": 1, "parent_id": None, "flow": "A", "name": "A", "kind": "flow", "status": "success",
         "message": "done", "started_at": 1.0, "ended_at": 2.5},
        {"id": 2, "parent_id": 1, "flow": "B", "name": "B", "kind": "flow", "status": "error",
         "message": "boom", "started_at": 1.1, "ended_at": 1.2},
    ]
    model.load_history(list(reversed(rows)))
    root = model.index(0, 0)
    assert root.data() == "A  #1" and model.index(0, 3).data() == "1.5 s"
    assert model.index(0, 2, root).data() == "error"
    assert model.index(0, 0, root).data(0x3) == "boom"  # ToolTipRole shows the end message


def test_this_save_renames_and_shows_a_message_while_running(qtbot):
    from app.models.execution_tree import ExecutionTreeModel

    model = ExecutionTreeModel()
    model.enqueue([created(1, flow="Delayed"), status(1, "running"),
                   ev.ExecutionSaved(1, "Delayed Report", "sleeping for 60 seconds", time.time())])
    qtbot.waitUntil(lambda: model.pending() == 0)
    row = model.index(0, 0)
    assert row.data() == "Delayed Report  #1"
    assert any(model.index(0, c).data(Qt.ItemDataRole.ToolTipRole) == "sleeping for 60 seconds"
               or model.index(0, c).data() == "sleeping for 60 seconds" for c in range(model.columnCount()))
