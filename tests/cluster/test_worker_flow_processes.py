"""Flow processes on a Dask worker (engine_core/cluster/flow_processes.py), through the
supervisor on real Dask worker processes and the engine stand-in: none is left when its worker
closes or is killed, flows run on when the zygote that forks them dies, and a process that ran
one workspace's flow is reused by that workspace only."""

from __future__ import annotations

import os
import signal
import subprocess
import uuid

import pytest

pytest.importorskip("distributed")

from engine_core import protocol  # noqa: E402
from engine_core.cluster.plugin import FlowdeskWorkerPlugin  # noqa: E402

from cluster_support import pgrep  # noqa: E402
from stand_in_engine import WAIT_S, FakeEngine, plugin_cluster, run_message, stand_in, start_sleeper, submit  # noqa: E402
from support import wait_until  # noqa: E402


@pytest.fixture(scope="module")
def client():
    with plugin_cluster(workers=1) as started:
        yield started


@pytest.fixture
def engine():
    yield from stand_in()


def test_a_closing_worker_leaves_no_flow_process():
    from distributed import Client, LocalCluster

    with LocalCluster(n_workers=1, threads_per_worker=1, processes=True, dashboard_address=":0") as cluster, \
            Client(cluster) as client:
        client.register_plugin(FlowdeskWorkerPlugin(warm_per_worker=2), name="flowdesk")
        worker_pid = next(iter(client.run(os.getpid).values()))
        # The zygote and the flow processes it forked carry its command line; Popen-started ones their own.
        pattern = f"engine_core.worker.remote (--zygote )?[0-9]+ {worker_pid}"
        wait_until(lambda: len(pgrep(pattern)) >= 3, timeout=20, what="the zygote and two warm flow processes")
    wait_until(lambda: not pgrep(pattern), timeout=5, what="no flow process after the worker closed")


def test_a_killed_worker_leaves_no_flow_process():
    """kill -9 of the Dask worker: its flows' process groups (what they started too) end with it."""
    from distributed import Client, LocalCluster

    engine = FakeEngine()
    with LocalCluster(n_workers=1, threads_per_worker=1, processes=True, dashboard_address=":0") as cluster, \
            Client(cluster) as client:
        worker_pid = next(iter(client.run(os.getpid).values()))
        marker = f"flowdesk-worker-killed-{uuid.uuid4().hex}"
        _, future, link = start_sleeper(client, engine, marker)
        os.kill(worker_pid, signal.SIGKILL)
        with pytest.raises(EOFError):
            link.recv()  # the engine sees the relay end
        wait_until(lambda: not pgrep(marker), timeout=5, what="no process of the flow left")
    engine.close()


def _set_zygote_retry(dask_worker=None, seconds: float = 0.0) -> float:
    """Runs on a worker (``client.run``): sets flow_processes.ZYGOTE_RETRY_S, returns the old value."""
    from engine_core.cluster import flow_processes

    old, flow_processes.ZYGOTE_RETRY_S = flow_processes.ZYGOTE_RETRY_S, seconds
    return old


PARENT_PID_FLOW = """
    import os
    import time
    def handler(system, this, inputs):
        this.log("parent", os.getppid())
        while not os.path.exists({gate!r}):
            time.sleep(0.02)
"""


def _zygotes(worker_pid: int) -> list[int]:
    found = subprocess.run(["pgrep", "-P", str(worker_pid), "-f", "engine_core.worker.remote --zygote"],
                           capture_output=True, text=True).stdout.split()
    return [int(pid) for pid in found]


def _parent_pid(link) -> int:
    """The flow's first log line: ``parent <pid of the process that started it>``."""
    frame = link.recv()
    assert frame[0] == protocol.NOTE and frame[2] == "log", frame
    return int(frame[3]["text"].removeprefix("parent "))


def test_flows_run_on_when_the_zygote_dies(client, engine, tmp_path):
    """The zygote forks flow processes; killed, new ones are started without it (Popen: the
    Dask worker is their parent), and those it forked before finish their executions."""
    worker = sorted(client.scheduler_info()["workers"])[0]
    worker_pid = client.run(os.getpid, workers=[worker])[worker]
    found = _zygotes(worker_pid)
    assert len(found) == 1, "one zygote per Dask worker"
    zygote = found[0]
    # Without this, a zygote last started over ZYGOTE_RETRY_S ago is started again at the next
    # flow process, and the flows below would not show the Popen path.
    retry = client.run(_set_zygote_retry, seconds=3600.0, workers=[worker])[worker]
    gate = tmp_path / "gate"
    try:
        # A memory limit no other test uses: a key with no idle process, so the zygote forks one now.
        forked = engine.ticket(memory_limit_mb=1001, max_runs=1)
        forked_future = submit(client, forked, workers=[worker])
        forked_link = engine.accept()
        forked_link.recv()
        forked_link.send(run_message(forked, PARENT_PID_FLOW.format(gate=str(gate))))
        assert _parent_pid(forked_link) == zygote
        forked_link.send(("secede",))  # the worker's only slot, for the flows below while this one waits
        os.kill(zygote, signal.SIGKILL)
        wait_until(lambda: not _zygotes(worker_pid), timeout=10, what="the zygote gone")
        # Flows started now (keys of their own again: no process the zygote forked earlier is
        # idle for them) run in processes the Dask worker started itself.
        for memory_limit_mb in (1002, 1003):
            ticket = engine.ticket(memory_limit_mb=memory_limit_mb, max_runs=1)
            future = submit(client, ticket, workers=[worker])
            link = engine.accept()
            link.recv()
            link.send(run_message(ticket, PARENT_PID_FLOW.format(gate="/")))  # "/" exists: no wait
            assert _parent_pid(link) == worker_pid
            done = link.recv_until(protocol.DONE)[-1]
            assert done[2] == "success" and done[5] is True, done
            link.send(("release",))
            assert future.result(timeout=WAIT_S) == "done"
        # The flow forked before the zygote died ends its execution normally.
        gate.touch()
        done = forked_link.recv_until(protocol.DONE)[-1]
        assert done[:3] == (protocol.DONE, forked.execution_id, "success") and done[5] is True, done
        forked_link.send(("release",))
        assert forked_future.result(timeout=WAIT_S) == "done"
    finally:
        client.run(_set_zygote_retry, seconds=retry, workers=[worker])


def test_a_workspaces_flow_processes_go_back_to_it_only():
    """Review L5: a flow process that ran a workspace's execution keeps its module globals,
    os.environ and sys.modules, so with the ticket's workspace in the key it is reused by that
    workspace only; a fresh warm process (base key) may go to any. No workspace: today's key."""
    from types import SimpleNamespace

    from engine_core.cluster.flow_processes import FlowProcesses

    plugin = FlowdeskWorkerPlugin(warm_per_worker=1, memory_limit_mb=1024, max_runs=500)
    base = plugin.key(None, 1024, 500)
    assert plugin.key_for(SimpleNamespace(memory_limit_mb=1024, max_runs=500), None) == base
    key_a, key_b = (plugin.key_for(SimpleNamespace(memory_limit_mb=1024, max_runs=500, workspace_key=w), None)
                    for w in ("workspace-a", "workspace-b"))
    assert key_a[:3] == key_b[:3] == base and key_a != key_b
    flows = FlowProcesses(warm=1, idle_cap=2, zygote=False)
    taken = []
    try:
        flows.want(base)
        wait_until(lambda: flows.idle_count(base) == 1, what="a warm process of the base key")
        fresh = flows._idle[base][-1]
        used = flows.take(key_a)
        assert used is fresh and used.key == key_a  # fresh: any workspace may have it
        flows.put(used)  # it ran workspace a's execution
        assert used in flows._idle[key_a]
        for _ in range(3):  # what is idle for workspace b or the base key, or started for it
            taken.append(flows.take(key_b))
            assert taken[-1] is not used and taken[-1].key == key_b
    finally:
        for process in taken:
            process.kill()
        flows.close()
