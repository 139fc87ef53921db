"""The execution backend seam (engine_core/runtime/backends): today's worker processes are the
``LocalBackend``; ``Routed`` keeps debugged executions on this machine and sends the rest to a
cluster; a durable execution whose cluster worker is lost (the machine, not the flow) is resumed
on another worker, a non-durable one ends in error saying why it was not.

No Dask here: the cluster side is a stub (it runs nothing, see ``_NoCluster``), and "a lost
machine" is a real worker process killed with SIGKILL whose backend reports it as lost
(``_LosingBackend``): everything else is the real engine. tests/cluster/ runs the real Dask path."""

from __future__ import annotations

import os
import signal
import sys
import textwrap
from pathlib import Path


sys.path.insert(0, str(Path(__file__).resolve().parent))

from api_support import EventLog  # noqa: E402
from support import WAIT_S, wait_until  # noqa: E402

from engine_core import Engine, EngineOptions, events as ev  # noqa: E402
from engine_core.runtime import backends  # noqa: E402
from engine_core.runtime.backends import ExecutionBackend, Exit, LocalBackend, Routed  # noqa: E402
from engine_core.runtime.pool import Worker  # noqa: E402

OPTIONS = EngineOptions(warm_workers=1, memory_limit_mb=1024)


class _NoCluster:
    """A cluster backend that runs nothing: every execution routed to it stays queued. A stub
    because the real one needs a Dask cluster (tests/cluster/); here only the routing is tested."""

    def __init__(self, host):
        self.asked: list[int] = []

    def start(self): pass
    def waitables(self): return []
    def by_waitable(self, obj): return None
    def poll(self, ready): return []
    def obtain(self, active, *, fresh=False):
        self.asked.append(active.id)
        return None
    def deliver(self, handle, message): raise AssertionError("the stub has no handles")
    def flush(self): pass
    def release(self, handle): raise AssertionError("the stub has no handles")
    def kill(self, handle): raise AssertionError("the stub has no handles")
    def exited(self, handle): raise AssertionError("the stub has no handles")
    def top_up(self): pass
    def stop_all(self): pass
    def describe(self): return {"runs_on": "cluster", "scheduler": "stub", "dashboard": None, "workers": 0}


class _LosingBackend(LocalBackend):
    """Local workers whose death counts as a lost machine, as the Dask backend reports a worker
    that stopped beating: what ``inbox.died`` then does is the code under test."""

    def exited(self, worker):
        return Exit(super().exited(worker).message + " on worker test-node", lost=True)


def test_local_backend_is_an_execution_backend(workspace):
    with Engine(workspace.root, options=OPTIONS) as engine:
        backend = engine._dispatcher.backend
        assert isinstance(backend, LocalBackend)
        assert isinstance(backend, ExecutionBackend)
        assert backend.describe() == {"runs_on": "this machine"}
        record = engine.run("Calculator", {"initial_value": 4}, timeout=WAIT_S)
    assert (record["status"], record["outputs"]) == ("success", {"result": 4}), record["message"]
    assert isinstance(_NoCluster(None), ExecutionBackend)


def test_routed_keeps_debugged_roots_here_and_sends_the_rest_to_the_cluster(workspace, monkeypatch):
    made = {}

    def create(host):
        made["routed"] = Routed(LocalBackend(host), _NoCluster(host))
        return made["routed"]

    monkeypatch.setattr(backends, "create", create)
    workspace.write_flow("Wait", """
        def handler(system, this, inputs):
            this.set_output(ran=True)
    """)
    with Engine(workspace.root, options=OPTIONS) as engine:
        routed = made["routed"]
        assert routed.describe()["runs_on"] == "cluster"
        # Roots start in order, and the stub never takes one: the debugged root goes first.
        debugged = engine.submit("Wait", {}, mode="development")
        productive = engine.submit("Wait", {})
        # The debugged root runs in a process of this machine: its debugger listens here.
        address = wait_until(lambda: engine.debug_address(debugged), what="the debugged root's debugger")
        assert address[0] == "127.0.0.1"
        assert [type(w) for w in routed.local.workers] == [Worker]
        # The productive root went to the cluster, which ran nothing: it is still queued.
        assert productive in routed.cluster.asked and debugged not in routed.cluster.asked
        assert engine.store.execution(productive)["status"] == "queued"
        engine.cancel(debugged)
        assert engine.wait(debugged, WAIT_S)["status"] == "cancelled"
    assert routed.local.workers == []  # stopped with the engine


def _pids(path: Path) -> list[int]:
    return [int(line) for line in path.read_text().split()] if path.exists() else []


def _run_and_lose_worker(workspace, monkeypatch, tmp_path, source: str, durable: bool):
    """Run flow ``Lost`` on an engine whose worker deaths count as lost machines; kill its
    worker (SIGKILL) while it waits at its gate; return its record, the events and the pids it
    ran in. The gate opens only after the kill: the first run cannot end on its own however
    slow the machine, and a resumed run goes through."""
    monkeypatch.setattr(backends, "create", lambda host: _LosingBackend(host))
    pids, waiting, gate = tmp_path / "pids.txt", tmp_path / "waiting", tmp_path / "gate"
    workspace.write_flow("Lost", source)
    with Engine(workspace.root, options=OPTIONS) as engine:
        events = EventLog(engine)
        execution_id = engine.submit("Lost", {"pids": str(pids), "waiting": str(waiting), "gate": str(gate)})
        wait_until(waiting.exists, what="the flow at its gate")
        if durable:  # its journal holds the sleep: the resumed run replays up to there
            wait_until(lambda: any(e["op"] == "sleep" for e in engine.store.journal(execution_id)),
                       what="the journaled sleep")
        os.kill(_pids(pids)[0], signal.SIGKILL)
        gate.touch()
        record = engine.wait(execution_id, WAIT_S)
    return record, events.events, _pids(pids)


LOST_FLOW = textwrap.dedent("""
    import os
    import time

    def handler(system, this, inputs):
        with open(inputs['pids'], 'a') as f:
            f.write(f"{os.getpid()}\\n")
        this.set_output(before=True)
        this.sleep(0.01)
        open(inputs['waiting'], 'w').close()
        while not os.path.exists(inputs['gate']):
            time.sleep(0.02)
        this.set_output(after=True)
""")


def test_durable_execution_whose_worker_is_lost_is_resumed_elsewhere(workspace, monkeypatch, tmp_path):
    record, events, pids = _run_and_lose_worker(workspace, monkeypatch, tmp_path, LOST_FLOW, True)
    assert record["status"] == "success", record["message"]
    assert record["outputs"] == {"before": True, "after": True}
    assert len(pids) == 2 and pids[0] != pids[1]  # the handler ran again in another worker
    resumed = [e for e in events if isinstance(e, ev.StatusChanged) and e.id == record["id"]
               and e.status == "queued" and e.message]
    assert len(resumed) == 1, [e for e in events if isinstance(e, ev.StatusChanged)]
    assert resumed[0].message.startswith("resumed on another worker: the flow's worker process was killed "
                                         "by SIGKILL"), resumed[0].message
    assert "on worker test-node" in resumed[0].message and "s lost)" in resumed[0].message
    assert any(isinstance(e, ev.ExecutionResumed) and e.id == record["id"] for e in events)


def test_non_durable_execution_whose_worker_is_lost_ends_in_error(workspace, monkeypatch, tmp_path):
    source = "FLOWDESK_RESUME = False\n" + LOST_FLOW
    record, events, pids = _run_and_lose_worker(workspace, monkeypatch, tmp_path, source, False)
    assert record["status"] == "error"
    assert record["message"] == ("the flow's worker process was killed by SIGKILL (it may have run out of "
                                 "memory) on worker test-node; it is not durable, so it was not resumed")
    assert len(pids) == 1
    assert not any(isinstance(e, ev.ExecutionResumed) for e in events)


def test_resumed_execution_waiting_for_a_lock_gets_it_not_its_lost_run(workspace, monkeypatch, tmp_path):
    """The lost run's parked lock request must not take the lock when it frees: the resumed
    run waits for it again and must be the one that gets it (else it waits for itself)."""
    monkeypatch.setattr(backends, "create", lambda host: _LosingBackend(host))
    pids = tmp_path / "pids.txt"
    holding, gate = tmp_path / "holding", tmp_path / "gate"
    workspace.write_flow("Holder", """
        import os
        import time

        def handler(system, this, inputs):
            lock = system.setting('the lock')
            lock.acquire()
            open(inputs['holding'], 'w').close()
            while not os.path.exists(inputs['gate']):  # until the waiter was killed in its wait
                time.sleep(0.02)
            lock.release()
    """)
    workspace.write_flow("Waiter", """
        import os

        def handler(system, this, inputs):
            with open(inputs['pids'], 'a') as f:
                f.write(f"{os.getpid()}\\n")
            lock = system.setting('the lock')
            lock.acquire(timeout=30)
            this.set_output(got=True)
            lock.release()
    """)
    with Engine(workspace.root, options=OPTIONS) as engine:
        holder = engine.submit("Holder", {"holding": str(holding), "gate": str(gate)})
        wait_until(holding.exists, what="the holder to hold the lock")
        waiter = engine.submit("Waiter", {"pids": str(pids)})
        wait_until(lambda: any(e["op"] == "lock_acquire" for e in engine.store.journal(waiter)), what="the lock wait")
        os.kill(_pids(pids)[0], signal.SIGKILL)
        gate.touch()  # the lock frees only now: the lost run's request is still parked
        record = engine.wait(waiter, WAIT_S)
        assert engine.wait(holder, WAIT_S)["status"] == "success"
    assert (record["status"], record["outputs"]) == ("success", {"got": True}), record["message"]
    assert len(_pids(pids)) == 2
