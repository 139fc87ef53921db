"""An execution handed to the cluster is queued until a Dask worker takes it: what the tree, the
timeline and ``flowdesk show`` read from its row (status, start, worker) says what Dask does.
One worker with one thread, gated flows that hold it; real LocalCluster and PostgreSQL."""

from __future__ import annotations

import pytest

from cluster_support import rows
from engine_core.errors import UsageError
from support import wait_until

pytestmark = pytest.mark.timeout(150)

GATED = """
    import os
    import time
    def handler(system, this, inputs):
        while not os.path.exists(inputs['gate']):
            time.sleep(0.02)  # holds the worker's only thread, as a busy flow does
        return this.success('passed the gate')
"""


def _row(engine, execution_id: int) -> dict:
    (row,) = [r for r in rows(engine, execution_id) if r["id"] == execution_id]
    return row


def test_executions_wait_queued_until_a_worker_takes_them(make_workspace, local_cluster, cluster_engine, pg_url,
                                                          tmp_path):
    workspace = make_workspace({"Gated": GATED})
    engine = cluster_engine(workspace.root, local_cluster(workers=1, threads=1), pg_url, max_parallel=3)
    gate = tmp_path / "gate"
    ids = engine.submit_many([("Gated", {"gate": str(gate)}, None)] * 3)
    first = wait_until(lambda: next((i for i in ids if _row(engine, i)["status"] == "running"), None),
                       what="one execution running on the worker")
    running = _row(engine, first)
    assert running["worker_host"] and running["started_at"] is not None
    for waiting in (i for i in ids if i != first):
        row = _row(engine, waiting)
        assert (row["status"], row["worker_host"], row["started_at"]) == ("queued", None, None)
    gate.touch()
    records = [engine.wait(i, timeout=60) for i in ids]
    assert [r["status"] for r in records] == ["success"] * 3
    for i in ids:
        row = _row(engine, i)
        assert row["worker_host"] and row["started_at"] is not None
        if i != first:  # started when the worker's thread came free, not when it was handed to Dask
            assert row["started_at"] >= running["started_at"]


def test_a_queued_execution_cannot_be_paused_until_a_worker_takes_it(make_workspace, local_cluster,
                                                                      cluster_engine, pg_url, tmp_path):
    # As on this machine: only a running execution has a process to stop. Pausing one that
    # waits for a worker says so and changes nothing; it runs when a worker comes free.
    workspace = make_workspace({"Gated": GATED})
    engine = cluster_engine(workspace.root, local_cluster(workers=1, threads=1), pg_url, max_parallel=2)
    gate = tmp_path / "gate"
    holder, waiting = engine.submit_many([("Gated", {"gate": str(gate)}, None)] * 2)
    wait_until(lambda: _row(engine, holder)["status"] == "running", what="the first execution running")
    with pytest.raises(UsageError, match="has not started yet"):
        engine.pause(waiting)
    assert _row(engine, waiting)["status"] == "queued"
    gate.touch()
    assert [engine.wait(i, timeout=60)["status"] for i in (holder, waiting)] == ["success", "success"]
