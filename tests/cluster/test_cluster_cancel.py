"""Cancel reaches every execution of a tree on the cluster and stops it, its children first,
with nothing left running (issue 12, Tests): each execution of a 3-level tree runs a process
of its own (``python -c 'time.sleep(600)' MARKER``); one leaf ignores the polite cancel
(SIGTERM) and is killed with its process group once the grace period is over."""

from __future__ import annotations

import time
import uuid

import pytest

from cluster_support import pgrep, rows
from support import wait_until

pytestmark = pytest.mark.timeout(120)

# Each flow starts its children, then blocks in a process of its own until it is cancelled.
NODE = """
    import signal
    import subprocess
    import sys

    def handler(system, this, inputs):
        marker, level = inputs['marker'], inputs['level']
        if level < 2:
            children = [this.flow('Node', name=f'{this.get("name")}.{i}', marker=marker, level=level + 1,
                                  stubborn=inputs['stubborn'] and i == 0, run=False) for i in range(2)]
            for child in children:
                child.run_async()
        elif inputs['stubborn']:
            signal.signal(signal.SIGTERM, signal.SIG_IGN)  # deaf to the cancel: it must be killed
        this.log('sleeping')
        subprocess.run([sys.executable, '-c', 'import time; time.sleep(600)', marker])
"""

GRACE_S = 1.0


def test_cancel_of_a_running_tree_ends_every_execution_and_leaves_no_process(
        make_workspace, local_cluster, cluster_engine, pg_url):
    marker = f"flowdesk-cancel-test-{uuid.uuid4().hex}"
    workspace = make_workspace({"Node": NODE})
    # 7 executions each blocked in a process of its own: 8 slots run them all at once.
    cluster = local_cluster(workers=2, threads=4)
    engine = cluster_engine(workspace, cluster, pg_url, cancel_grace_s=GRACE_S)
    root = engine.submit("Node", {"marker": marker, "level": 0, "stubborn": True}, name="n")
    try:
        wait_until(lambda: len(pgrep(marker)) == 7, timeout=60, what="7 sleeping processes (one per execution)",
                   detail=lambda: f"rows: {[(r['name'], r['status']) for r in rows(engine, root)]}")
        running = rows(engine, root)
        assert [r["status"] for r in running] == ["running"] * 7
        assert all(r["worker_address"] for r in running)

        cancelled_at = time.monotonic()
        assert engine.cancel(root) == "cancelled"
        record = engine.wait(root, timeout=30)
        assert (record["status"], record["message"]) == ("cancelled", "cancelled by user")
        wait_until(lambda: not pgrep(marker), timeout=5, interval=0.1,
                   what="no process of the tree left", detail=lambda: f"left: {pgrep(marker)}")
        took = time.monotonic() - cancelled_at
    finally:
        for pid in pgrep(marker):  # never leave sleepers behind, even when the test fails
            _kill(pid)

    ended = {r["id"]: r for r in rows(engine, root)}
    assert {r["status"] for r in ended.values()} == {"cancelled"}, [(r["name"], r["status"]) for r in ended.values()]
    for r in ended.values():
        parent = ended.get(r["parent_id"])
        if parent is not None:
            assert r["ended_at"] <= parent["ended_at"], f"{r['name']} ended after its parent {parent['name']}"
            assert r["message"].startswith(f"parent execution '{parent['name']}'"), r["message"]
    stubborn = next(r for r in ended.values() if r["name"] == "n.0.0")
    assert "killed" in stubborn["message"] and f"{GRACE_S:g} s" in stubborn["message"], stubborn["message"]
    print(f"cancel to no process left: {took:.2f} s")


def _kill(pid: int) -> None:
    import os
    import signal

    try:
        os.kill(pid, signal.SIGKILL)
    except ProcessLookupError:
        pass
