"""The IDE's cluster feature (app/cluster): the toolbar's "Run on" combo saves the choice in the
workspace's config and reopens the engine there (after the running executions when some run),
the status bar's "Cluster · N workers · Dashboard", the execution tree's Worker column and the
details' "Worker:" line, and a cluster that cannot be reached shown as a message.

The engine runs on a real LocalCluster of worker processes (``local:1``, started by the engine)."""

from __future__ import annotations

import re
import textwrap
import time
import tomllib

import pytest
from PySide6.QtCore import Qt

from app.cluster import SchedulerDialog, install
from app.cluster.widgets import CLUSTER, THIS_MACHINE
from app.models.execution_tree import WORKER_COLUMN, ExecutionTreeModel
from app.panels.execution_details import render
from engine_core import events as ev
from support import free_port

pytest.importorskip("distributed")

SLOW = """
import time
import flow_api

def handler(system, this, inputs):
    time.sleep(2)
    return this.success('slept')
"""


def config(workspace) -> dict:
    return tomllib.loads((workspace.root / ".flowdesk" / "config.toml").read_text(encoding="utf-8"))


def write_config(workspace, text: str) -> None:
    path = workspace.root / ".flowdesk" / "config.toml"
    path.parent.mkdir(exist_ok=True)
    path.write_text(textwrap.dedent(text).lstrip(), encoding="utf-8")


def choose(qtbot, window, index: int) -> None:
    """Pick an entry of the combo as a user does (``activated``), and wait for the engine it opens."""
    feature = window.cluster
    with qtbot.waitSignal(window.bridge.opened, timeout=60000):
        feature.combo.setCurrentIndex(index)
        feature.combo.activated.emit(index)


def test_run_on_cluster_saves_the_setting_and_shows_the_workers(qtbot, make_window, workspace):
    write_config(workspace, """
        # hand-written: kept as it is
        [executions]
        resume = true
    """)
    window = make_window(workspace)
    feature = install(window)
    assert install(window) is feature
    combo = feature.combo
    assert [combo.itemText(i) for i in range(combo.count())] == ["This machine", "Cluster…"]
    assert combo.currentIndex() == THIS_MACHINE and not feature.label.isVisible()
    assert window.executions.tree.isColumnHidden(WORKER_COLUMN)  # nothing ran on a worker yet

    asked = []
    feature.ask_scheduler = lambda parent, current: asked.append(current) or "local:1"
    choose(qtbot, window, CLUSTER)
    assert asked == [None]  # no scheduler configured: the user was asked (the dialog suggests local:2)
    saved = config(workspace)
    assert saved["cluster"] == {"run_on": "cluster", "scheduler": "local:1"}
    assert saved["executions"] == {"resume": True}
    assert "# hand-written: kept as it is" in (workspace.root / ".flowdesk" / "config.toml").read_text()
    assert combo.itemText(CLUSTER) == "Cluster (local:1)" and combo.currentIndex() == CLUSTER
    assert window.bridge.engine.options.cluster.scheduler == "local:1"

    qtbot.waitUntil(lambda: "1 worker" in feature.label.text(), timeout=20000)
    assert feature.label.isVisible()
    assert re.search(r'Cluster · 1 worker · <a href="http://[^"]+">Dashboard</a>', feature.label.text())

    # A run on the cluster: its row says which worker host it ran on.
    record = window.bridge.engine.run("Calculator", {"initial_value": 5}, timeout=60)
    assert record["status"] == "success"
    qtbot.waitUntil(lambda: window.tree_model.index_for(record["id"]).isValid(), timeout=5000)
    index = window.tree_model.index_for(record["id"])
    qtbot.waitUntil(lambda: index.siblingAtColumn(WORKER_COLUMN).data() not in (None, ""), timeout=5000)
    assert not window.executions.tree.isColumnHidden(WORKER_COLUMN)

    choose(qtbot, window, THIS_MACHINE)
    assert config(workspace)["cluster"] == {"run_on": "local", "scheduler": "local:1"}
    assert window.bridge.engine.options.cluster is None
    assert not feature.label.isVisible()


def test_the_switch_waits_for_the_running_executions(qtbot, make_window, workspace):
    workspace.write_flow("Slow", SLOW)
    write_config(workspace, """
        [cluster]
        scheduler = "local:1"
    """)
    window = make_window(workspace)
    feature = install(window)
    assert feature.combo.itemText(CLUSTER) == "Cluster (local:1)" and feature.combo.currentIndex() == THIS_MACHINE
    local_engine = window.bridge.engine
    execution_id = local_engine.submit("Slow", {})
    qtbot.waitUntil(local_engine.busy, timeout=5000)

    # Armed before the switch: the reopen (once the run ends) may complete before a wait set up later.
    with qtbot.waitSignal(window.bridge.opened, timeout=60000):
        feature.combo.setCurrentIndex(CLUSTER)
        feature.combo.activated.emit(CLUSTER)
        assert config(workspace)["cluster"]["run_on"] == "cluster"
        assert window.statusBar().currentMessage() == \
            "Run on: Cluster (local:1) takes effect when the running executions end"
        assert window.bridge.engine is local_engine  # the slow run goes on where it started
    assert window.bridge.engine is not local_engine
    assert window.bridge.engine.options.cluster.scheduler == "local:1"
    assert window.bridge.engine.store.execution(execution_id)["status"] == "success"


def test_a_cluster_nobody_runs_is_a_message_not_a_traceback(qtbot, make_window, workspace):
    address = f"tcp://127.0.0.1:{free_port()}"
    write_config(workspace, f"""
        [cluster]
        run_on = "cluster"
        scheduler = "{address}"
    """)
    window = make_window()
    feature = install(window)
    with qtbot.waitSignal(window.bridge.openFailed, timeout=60000) as failed:
        assert window.open_workspace(str(workspace))
    message = failed.args[0]
    assert address in message and "Traceback" not in message and not message.startswith(("OSError", "ClusterError"))
    assert window.last_error == message  # the window's usual error place
    assert feature.combo.currentIndex() == CLUSTER
    assert feature.label.text() == "Cluster · not connected"


def test_worker_column_and_details_from_placed_events(qtbot):
    model = ExecutionTreeModel()
    assert model.COLUMNS[WORKER_COLUMN] == "Worker"
    seen = []
    model.workerSeen.connect(lambda: seen.append(True))
    now = time.time()
    model.enqueue([ev.ExecutionCreated(7, None, 7, "Calculator", "Calculator", "flow", "queued", {}, now),
                   ev.StatusChanged(7, "running", None, now)])
    qtbot.waitUntil(lambda: model.rowCount() == 1)
    assert model.index(0, WORKER_COLUMN).data() == "" and not seen
    model.enqueue([ev.ExecutionPlaced(7, "node-b", "tcp://10.0.0.5:40123", 2, now)])
    qtbot.waitUntil(lambda: model.index(0, WORKER_COLUMN).data() == "node-b")
    assert seen == [True]
    tooltip = model.index(0, WORKER_COLUMN).data(Qt.ItemDataRole.ToolTipRole)
    assert tooltip == "node-b (tcp://10.0.0.5:40123), attempt 2"

    # History rows carry it too (another engine's executions, or after a restart).
    model.load_history([{"id": 8, "parent_id": None, "flow": "F", "name": "F", "kind": "flow", "status": "success",
                         "message": None, "started_at": now, "ended_at": now, "worker_host": "node-c",
                         "worker_address": "tcp://10.0.0.6:1", "attempt": 1}])
    assert model.index(0, WORKER_COLUMN).data() == "node-c"

    record = {"id": 8, "name": "F", "flow": "F", "status": "success", "message": None, "started_at": now,
              "ended_at": now, "inputs": {}, "outputs": {}, "worker_host": "node-c",
              "worker_address": "tcp://10.0.0.6:1", "attempt": 1}
    html = render({"record": record, "logs": [], "messages": [], "children": []})
    assert "<b>Worker:</b> node-c (tcp://10.0.0.6:1), attempt 1" in html
    local = dict(record, worker_host=None, worker_address=None, attempt=0)
    assert "Worker:" not in render({"record": local, "logs": [], "messages": [], "children": []})


def test_the_scheduler_dialog_accepts_only_an_address(qtbot):
    dialog = SchedulerDialog(None)
    qtbot.addWidget(dialog)
    ok = dialog.buttons.button(dialog.buttons.StandardButton.Ok)
    assert dialog.edit.text() == "local:2" and ok.isEnabled()
    dialog.edit.setText("http://sched:8786")
    assert not ok.isEnabled() and "is not a Dask scheduler address" in dialog.problem.text()
    dialog.edit.setText("sched.lan:8786")
    assert ok.isEnabled() and dialog.address() == "tcp://sched.lan:8786"
