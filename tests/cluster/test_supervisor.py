"""The cluster supervisor (engine_core/cluster/supervisor.py) on real Dask worker processes,
against a small engine stand-in that speaks the relay's messages over a real socket: what a
flow run on a worker sends back (DONE, its exit code when it crashes), that nothing of it is
left running after a kill or when its engine goes, that a blocked execution gives its Dask slot
back (secede) and gets it again, and what a worker that cannot run it says.

The engine is a stand-in here (not the real DaskBackend: tests/cluster's other files run that)
so that each relay message can be sent at the moment the test chooses. No database: these
tests need only ``distributed``."""

from __future__ import annotations

import os
import select
import signal
import time
import uuid

import pytest

pytest.importorskip("distributed")

from engine_core import protocol, version  # noqa: E402
from engine_core.packages import requirements_sha256  # noqa: E402
from engine_core.cluster import relay  # noqa: E402

from cluster_support import pgrep  # noqa: E402
from packages.wheels import build_wheel  # noqa: E402
from stand_in_engine import (WAIT_S, TRIVIAL, FakeEngine, Link, finish_trivial, plugin_cluster, run_message,  # noqa: E402
                             run_trivial, stand_in, start_sleeper, submit)
from support import wait_until  # noqa: E402


@pytest.fixture(scope="module")
def packages_cache(tmp_path_factory):
    # The workers (started after this) inherit it: their package sets go to a throw-away folder.
    path = tmp_path_factory.mktemp("cluster-packages")
    saved = os.environ.get("FLOWDESK_CLUSTER_PACKAGES")
    os.environ["FLOWDESK_CLUSTER_PACKAGES"] = str(path)
    yield path
    if saved is None:
        os.environ.pop("FLOWDESK_CLUSTER_PACKAGES", None)
    else:
        os.environ["FLOWDESK_CLUSTER_PACKAGES"] = saved


@pytest.fixture(scope="module")
def client(packages_cache):
    with plugin_cluster(workers=2) as started:
        yield started


@pytest.fixture
def engine():
    yield from stand_in()


def test_a_flow_runs_on_a_worker_and_its_process_is_reused(client, engine):
    worker = sorted(client.scheduler_info()["workers"])[0]
    pids = []
    for _ in range(3):
        ticket = engine.ticket()
        future = submit(client, ticket, workers=[worker])
        link = engine.accept()
        hello = link.recv()
        assert hello[:5] == ("hello", ticket.execution_id, ticket.attempt, ticket.token, worker)
        assert hello[6] == version()
        link.send(run_message(ticket, """
            import os
            def handler(system, this, inputs):
                this.log("pid", os.getpid())
                this.set_output(answer=42)
        """))
        frames = link.recv_until(protocol.DONE)
        done = frames[-1]
        assert done[:3] == (protocol.DONE, ticket.execution_id, "success"), done
        pids.append(next(f for f in frames if f[0] == protocol.NOTE and f[2] == "log")[3]["text"])
        link.send(("release",))
        assert future.result(timeout=WAIT_S) == "done"
        link.close()
    assert pids[0] == pids[1] == pids[2], "a released flow process runs the worker's next execution"


def test_a_segfault_ends_the_flow_process_not_the_worker(client, engine):
    worker = sorted(client.scheduler_info()["workers"])[1]
    worker_pid = client.run(os.getpid, workers=[worker])[worker]
    ticket = engine.ticket()
    future = submit(client, ticket, workers=[worker])
    link = engine.accept()
    assert link.recv()[0] == "hello"
    link.send(run_message(ticket, """
        import ctypes
        def handler(system, this, inputs):
            ctypes.string_at(0)
    """))
    assert link.recv() == ("exit", ticket.execution_id, -signal.SIGSEGV, None)
    assert future.result(timeout=WAIT_S) == "exited"
    # The same Dask worker process is alive and runs the next execution.
    assert client.run(os.getpid, workers=[worker])[worker] == worker_pid
    run_trivial(client, engine, workers=[worker])


def test_kill_leaves_no_process(client, engine):
    marker = f"flowdesk-kill-{uuid.uuid4().hex}"
    _, future, link = start_sleeper(client, engine, marker)
    link.send(("kill",))
    assert future.result(timeout=WAIT_S) == "killed"
    wait_until(lambda: not pgrep(marker), timeout=5, what="no process left")


def test_engine_gone_kills_the_flow(client, engine):
    marker = f"flowdesk-gone-{uuid.uuid4().hex}"
    _, future, link = start_sleeper(client, engine, marker)
    link.close()
    assert future.result(timeout=WAIT_S) == "engine gone"
    wait_until(lambda: not pgrep(marker), timeout=5, what="no process left")


def test_sigterm_cancels_the_flow(client, engine):
    ticket = engine.ticket()
    future = submit(client, ticket)
    link = engine.accept()
    link.recv()
    link.send(run_message(ticket, """
        import time
        def handler(system, this, inputs):
            try:
                this.log("started")
                time.sleep(600)
            finally:
                this.log("finally ran")
    """))
    assert link.recv()[3]["text"] == "started"
    link.send(("signal", signal.SIGTERM))
    frames = link.recv_until(protocol.DONE)
    assert [f[3]["text"] for f in frames if f[0] == protocol.NOTE] == ["finally ran"]
    assert frames[-1][2] == "cancelled"
    link.send(("release",))
    assert future.result(timeout=WAIT_S) == "done"


def test_pause_stops_the_flows_process_group_and_resume_continues_it(client, engine):
    marker = f"flowdesk-pause-{uuid.uuid4().hex}"
    ticket, future, link = start_sleeper(client, engine, marker)
    (child_pid,) = pgrep(marker)

    def state(pid: int) -> str:
        with open(f"/proc/{pid}/stat") as stat:
            return stat.read().rpartition(")")[2].split()[0]

    link.send(("signal", signal.SIGSTOP))
    wait_until(lambda: state(child_pid) == "T", timeout=10, what="what the flow started is stopped too")
    link.send(("signal", signal.SIGCONT))
    wait_until(lambda: state(child_pid) != "T", timeout=10, what="it runs again")
    link.send(("kill",))
    assert future.result(timeout=WAIT_S) == "killed"
    wait_until(lambda: not pgrep(marker), timeout=5, what="no process left")


def _fail_serving(marker: str | None) -> None:
    """In a Dask worker: make the task's thread of the next supervisions fail (a stand-in for
    a bug or the worker shutting down) once a process with ``marker`` runs; None: undo that."""
    from engine_core.cluster import supervisor

    if marker:
        original = supervisor.Supervision._serve_relay

        def failing(self):
            wait_until(lambda: pgrep(marker), what="the flow's subprocess")
            raise RuntimeError("injected failure")

        failing.original = original
        supervisor.Supervision._serve_relay = failing
    else:
        supervisor.Supervision._serve_relay = supervisor.Supervision._serve_relay.original


def test_a_failing_task_ends_its_connection_and_its_flow(client, engine):
    worker = sorted(client.scheduler_info()["workers"])[1]
    marker = f"flowdesk-failing-{uuid.uuid4().hex}"
    client.run(_fail_serving, marker, workers=[worker])
    try:
        ticket = engine.ticket()
        future = submit(client, ticket, workers=[worker])
        link = engine.accept()
        link.recv()
        link.send(run_message(ticket, f"""
            import subprocess, sys
            def handler(system, this, inputs):
                subprocess.run([sys.executable, "-c", "import time; time.sleep(600)", "{marker}"])
        """))
        with pytest.raises(EOFError):
            link.recv(timeout=20)  # the engine sees the run end (no beats for nobody)
        with pytest.raises(RuntimeError, match="injected failure"):
            future.result(timeout=WAIT_S)
        wait_until(lambda: not pgrep(marker), timeout=5, what="no process of the flow left")
    finally:
        client.run(_fail_serving, None, workers=[worker])


def test_a_refused_claim_returns_duplicate(client, engine):
    ticket = engine.ticket()
    future = submit(client, ticket)
    link = engine.accept()
    link.recv()
    link.send(("refused", "claimed by another run"))
    assert future.result(timeout=WAIT_S) == "duplicate"


def _child_beside_a_seceded_parent(client, engine, worker: str, parent_source: str, child_source: str):
    """A parent run on ``worker`` (one thread) that starts a child and is told to secede, then
    the child submitted to the same worker, given its RUN. ``(ticket, future, link)`` of each and
    the parent's start_flow call (not answered yet)."""
    parent = engine.ticket()
    parent_future = submit(client, parent, workers=[worker])
    parent_link = engine.accept()
    parent_link.recv()
    parent_link.send(run_message(parent, parent_source))
    call = parent_link.recv()
    assert call[0] == protocol.CALL and call[3] == "start_flow", call
    parent_link.send(("secede",))
    child = engine.ticket()
    child_future = submit(client, child, workers=[worker])
    child_link = engine.accept(timeout=20)  # only possible if the parent gave the slot back
    child_link.recv()
    child_link.send(run_message(child, child_source, "child"))
    return (parent, parent_future, parent_link), call, (child, child_future, child_link)


def test_a_blocked_execution_gives_its_slot_back(client, engine):
    """One worker thread: the parent's call (a child it waits for) secedes, the child runs in
    the freed slot, the reply rejoins the parent."""
    worker = sorted(client.scheduler_info()["workers"])[0]
    (parent, parent_future, parent_link), call, (child, child_future, child_link) = _child_beside_a_seceded_parent(
        client, engine, worker, """
            def handler(system, this, inputs):
                this.flow("child")
                this.log("after the child")
        """, TRIVIAL)
    assert child_link.recv_until(protocol.DONE)[-1][2] == "success"
    child_link.send(("release",))
    assert child_future.result(timeout=WAIT_S) == "done"
    # The engine answers the parent's call: it goes on, its task rejoins the thread pool.
    parent_link.send((protocol.REPLY, call[1], True, {"id": child.execution_id, "status": "ENDED_SUCCESS"}))
    frames = parent_link.recv_until(protocol.DONE)
    assert frames[0][3]["text"] == "after the child"
    assert frames[-1][:3] == (protocol.DONE, parent.execution_id, "success")
    parent_link.send(("release",))
    assert parent_future.result(timeout=WAIT_S) == "done"


def test_the_workspaces_packages_are_installed_on_the_worker(client, engine, tmp_path, packages_cache):
    links = tmp_path / "wheels"
    links.mkdir()
    build_wheel(links, "cluster-greet", "1.0", modules={"cluster_greet.py": "HELLO = 'hello from a wheel'\n"})
    text = f"--no-index\n--find-links {links}\ncluster-greet==1.0\n"
    for _ in range(2):  # installed by the first, found by the second
        ticket = engine.ticket(packages=(requirements_sha256(text), text))
        future = submit(client, ticket)
        link = engine.accept()
        link.recv()
        link.send(run_message(ticket, """
            import cluster_greet
            def handler(system, this, inputs):
                this.log(cluster_greet.HELLO, cluster_greet.__file__)
        """))
        frames = link.recv_until(protocol.DONE, timeout=120)
        assert frames[-1][2] == "success", frames
        logged = frames[0][3]["text"]
        assert logged.startswith("hello from a wheel ")
        assert str(packages_cache) in logged  # the worker's own set, not Flowdesk's environment
        link.send(("release",))
        assert future.result(timeout=WAIT_S) == "done"


def test_packages_that_do_not_install_are_refused_with_the_reason(client, engine, packages_cache):
    text = "./wheels/tool-1.0-py3-none-any.whl\n"  # a path into a workspace the worker does not have
    ticket = engine.ticket(packages=("0" * 64, text))
    future = submit(client, ticket)
    link = engine.accept()
    hello = link.recv()
    refuse = link.recv(timeout=120)
    assert refuse[:2] == ("refuse", ticket.execution_id)
    assert refuse[2].startswith(f"the worker {hello[4]} ({hello[5]}) could not install the workspace's packages: ")
    assert "tool-1.0-py3-none-any.whl" in refuse[2]
    link.send(("release",))
    assert future.result(timeout=WAIT_S) == "refused"


def test_another_flowdesk_version_is_refused(client, engine):
    ticket = engine.ticket(flowdesk_version="0.0.1")
    future = submit(client, ticket)
    link = engine.accept()
    hello = link.recv()
    refuse = link.recv()
    assert refuse == ("refuse", ticket.execution_id,
                      f"the worker {hello[4]} ({hello[5]}) runs Flowdesk {version()}, this engine 0.0.1; "
                      "install the same Flowdesk version on the engine's machine and the workers")
    link.close()
    assert future.result(timeout=WAIT_S) == "refused"


def test_heartbeats(client, engine):
    ticket = engine.ticket(heartbeat_s=0.2)
    future = submit(client, ticket)
    link = engine.accept()
    link.recv()
    link.send(run_message(ticket, """
        import time
        def handler(system, this, inputs):
            time.sleep(1.0)
    """))
    link.recv_until(protocol.DONE)
    assert link.beats >= 3
    link.send(("release",))
    assert future.result(timeout=WAIT_S) == "done"


def test_a_flow_out_of_memory_ends_in_error_and_its_process_is_replaced(client, engine):
    worker = sorted(client.scheduler_info()["workers"])[0]
    ticket = engine.ticket(memory_limit_mb=300)
    future = submit(client, ticket, workers=[worker])
    link = engine.accept()
    link.recv()
    link.send(run_message(ticket, """
        def handler(system, this, inputs):
            hoard = []
            while True:
                hoard.append(bytearray(50 * 1024 * 1024))
    """))
    done = link.recv_until(protocol.DONE)[-1]
    assert done[2] == "error" and done[3].startswith("MemoryError"), done
    assert done[5] is True  # retire: this process is not reused
    link.send(("release",))
    assert future.result(timeout=WAIT_S) == "done"
    run_trivial(client, engine, engine.ticket(memory_limit_mb=300), workers=[worker])


def test_a_cancel_reaches_a_flow_whose_task_waits_for_a_slot(client, engine):
    """The parent seceded; a long child holds the worker's only thread; the parent's reply goes
    through at once and its rejoin waits for the slot, while a SIGTERM still cancels it."""
    worker = sorted(client.scheduler_info()["workers"])[1]
    (_, parent_future, parent_link), call, (child, child_future, child_link) = _child_beside_a_seceded_parent(
        client, engine, worker, """
            import time
            def handler(system, this, inputs):
                this.flow("child")
                this.log("after the child")
                time.sleep(600)
        """, """
            import time
            def handler(system, this, inputs):
                this.log("holding the slot")
                time.sleep(600)
        """)
    assert child_link.recv()[3]["text"] == "holding the slot"
    parent_link.send((protocol.REPLY, call[1], True, {"id": child.execution_id, "status": "ENDED_SUCCESS"}))
    # Not held up by the rejoin (which waits for the child's 600 s): bounds far below that, for a busy machine.
    assert parent_link.recv(timeout=10)[3]["text"] == "after the child"
    parent_link.send(("signal", signal.SIGTERM))
    assert parent_link.recv_until(protocol.DONE, timeout=10)[-1][2] == "cancelled"
    parent_link.send(("release",))
    assert not parent_future.done()  # its rejoin waits for the child's slot
    child_link.send(("kill",))
    assert child_future.result(timeout=WAIT_S) == "killed"
    assert parent_future.result(timeout=WAIT_S) == "done"


def test_tls_relay(tmp_path):
    pytest.importorskip("cryptography")
    from distributed import Client, LocalCluster
    from distributed.security import Security

    security = Security.temporary()
    engine = FakeEngine()
    context = security.get_listen_args("client")["ssl_context"]  # the engine's: mutual TLS
    with LocalCluster(n_workers=1, threads_per_worker=1, processes=True, dashboard_address=":0",
                      security=security, protocol="tls") as cluster, Client(cluster, security=security) as client:
        ticket = engine.ticket(tls=True)
        future = submit(client, ticket)
        deadline = time.monotonic() + WAIT_S
        sock = None
        while sock is None and time.monotonic() < deadline:
            select.select([engine.listener], [], [], 0.5)
            sock = relay.accept(engine.listener, context)
        link = Link(sock)
        hello = link.recv()
        assert hello[:4] == ("hello", ticket.execution_id, ticket.attempt, ticket.token)
        assert hello[4].startswith("tls://")
        finish_trivial(link, ticket, future)
    engine.close()
