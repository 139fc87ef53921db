"""What goes wrong on a cluster ends cleanly (issue 12, Tests): a flow that segfaults or eats
its memory ends in error without killing its Dask worker; a Dask worker killed mid-run leaves
no execution ``running`` (a durable one is resumed on another worker, the others end in error
naming the worker); and a supervisor task that Dask runs twice runs its execution once."""

from __future__ import annotations

import os
import signal
import textwrap

import pytest

from cluster_support import TERMINAL, Recorder, rows

pytestmark = pytest.mark.timeout(150)

CRASH = {
    "Segfault": """
        import ctypes
        def handler(system, this):
            this.log('about to crash')
            ctypes.string_at(0)
    """,
    "Hog": """
        def handler(system, this):
            blocks = []
            while True:
                blocks.append(bytearray(100 * 1024 * 1024))
    """,
    "Fine": """
        def handler(system, this):
            return this.success('still fine')
    """,
}

# Holds its Dask worker slot (a busy wait, not a flow API wait) until the test creates the gate.
GATED = """
    import os
    import time
    def handler(system, this, inputs):
        step = this.flow('Step', i=1).get('output_value')['i']
        this.log('waiting for the gate')
        while not os.path.exists(inputs['gate']):
            time.sleep(0.02)
        this.set_output(step=step)
        return this.success('passed the gate')
"""
STEP = """
    def handler(system, this, inputs):
        this.set_output(i=inputs['i'])
"""


def _worker_pids(cluster) -> dict[str, int]:
    from distributed import Client

    with Client(cluster.scheduler_address, timeout=10) as client:
        return client.run(os.getpid)


def test_a_crashing_or_memory_eating_flow_ends_in_error_and_the_worker_goes_on(
        make_workspace, local_cluster, cluster_engine, pg_url):
    workspace = make_workspace(CRASH)
    cluster = local_cluster(workers=1, threads=1)  # one Dask worker: every execution runs on it
    [(address, pid)] = _worker_pids(cluster).items()
    engine = cluster_engine(workspace, cluster, pg_url, memory_limit_mb=512)

    crashed = engine.run("Segfault", timeout=60)
    assert crashed["status"] == "error"
    assert "SIGSEGV" in crashed["message"] and address in crashed["message"], crashed["message"]

    hog = engine.run("Hog", timeout=60)
    assert hog["status"] == "error"
    assert "MemoryError" in hog["message"] and address in hog["message"], hog["message"]

    fine = engine.run("Fine", timeout=60)
    assert (fine["status"], fine["message"]) == ("success", "still fine")
    # The same Dask worker process ran all three: the flows' crashes did not take it down.
    assert _worker_pids(cluster) == {address: pid}
    assert [rows(engine, r["id"])[0]["worker_address"] for r in (crashed, hog, fine)] == [address] * 3


def test_a_dask_worker_killed_mid_run_leaves_no_running_execution(
        make_workspace, local_cluster, cluster_engine, pg_url, tmp_path):
    workspace = make_workspace({"Gated": GATED, "Step": STEP,
                                "Gated Once": "FLOWDESK_RESUME = False\n" + textwrap.dedent(GATED)})
    cluster = local_cluster(workers=2, threads=1)  # each worker under a Nanny, which restarts it
    engine = cluster_engine(workspace, cluster, pg_url)
    seen = Recorder(engine)

    def kill_worker_of(execution_id: int) -> str:
        seen.wait(lambda e: type(e).__name__ == "LogAppended" and e.id == execution_id
                  and e.text == "waiting for the gate", timeout=60, what=f"#{execution_id} at its gate")
        address = rows(engine, execution_id)[0]["worker_address"]
        pid = _worker_pids(cluster)[address]
        os.kill(pid, signal.SIGKILL)
        return address

    # A durable execution: resumed on another worker, its finished child not run again.
    gate = tmp_path / "gate-1"
    durable = engine.submit("Gated", {"gate": str(gate)})
    killed = kill_worker_of(durable)
    seen.wait(lambda e: type(e).__name__ == "StatusChanged" and e.id == durable and e.status == "queued"
              and "resumed on another worker" in (e.message or ""), timeout=60, what="the resume elsewhere")
    gate.touch()
    record = engine.wait(durable, timeout=60)
    assert (record["status"], record["message"], record["outputs"]) == ("success", "passed the gate", {"step": 1})
    [root, step] = rows(engine, durable)
    assert root["attempt"] == 2 and root["worker_address"] != killed and root["resumed_at"] is not None
    assert (step["flow"], step["status"], step["attempt"]) == ("Step", "success", 1)

    # Not durable: it ends in error naming the worker that was lost.
    gate = tmp_path / "gate-2"
    once = engine.submit("Gated Once", {"gate": str(gate)})
    killed = kill_worker_of(once)
    record = engine.wait(once, timeout=60)
    assert record["status"] == "error"
    assert killed in record["message"] and "not durable" in record["message"], record["message"]

    left = [(r["id"], r["flow"], r["status"]) for root_id in (durable, once) for r in rows(engine, root_id)
            if r["status"] not in TERMINAL]
    assert left == []
    seen.close()


def test_a_supervisor_task_run_twice_runs_its_execution_once(
        make_workspace, cluster_2x1, cluster_engine, pg_url, tmp_path, monkeypatch):
    # Dask runs a task at least once (again after a worker died): every submit of the engine's
    # supervisor task is made twice here, as Dask may, and later the same ticket runs once more.
    from distributed import Client

    submit = Client.submit
    twins = []

    def submit_twice(self, fn, *args, **kwargs):
        future = submit(self, fn, *args, **kwargs)
        if getattr(fn, "__name__", "") == "supervise":
            key = kwargs.get("key") or "flowdesk-run"
            twins.append((fn, args, submit(self, fn, *args, **{**kwargs, "key": f"{key}-again"})))
        return future

    monkeypatch.setattr(Client, "submit", submit_twice)
    ran = tmp_path / "ran.txt"
    workspace = make_workspace({"Once": f"""
        def handler(system, this):
            with open({str(ran)!r}, 'a') as f:
                f.write('ran\\n')
            return this.success('once')
    """})
    engine = cluster_engine(workspace, cluster_2x1, pg_url)
    record = engine.run("Once", timeout=60)
    assert (record["status"], record["message"]) == ("success", "once")
    assert len(twins) == 1, "the engine did not submit its run through Client.submit(supervise, ...)"
    supervise, args, again = twins[0]
    # Whichever of the two said hello first ran it; the other was refused.
    assert again.result(timeout=30) in ("done", "duplicate")
    monkeypatch.undo()
    # The same ticket once more, after the execution ended: refused.
    with Client(cluster_2x1.scheduler_address, timeout=10) as client:
        assert client.submit(supervise, *args, pure=False).result(timeout=30) == "duplicate"
    assert ran.read_text() == "ran\n"
    assert rows(engine, record["id"])[0]["attempt"] == 1
