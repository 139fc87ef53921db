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
import subprocess
import textwrap
import time
import uuid

import pytest

pytest.importorskip("distributed")

from engine_core import protocol, version  # noqa: E402
from engine_core.packages import requirements_sha256  # noqa: E402
from engine_core.cluster import Ticket, relay  # noqa: E402
from engine_core.cluster.plugin import FlowdeskWorkerPlugin  # noqa: E402
from engine_core.cluster.supervisor import supervise  # noqa: E402

from packages.wheels import build_wheel  # noqa: E402

WAIT_S = 60


class FakeEngine:
    """The engine's side of the relay: a listener; ``accept`` gives one supervisor's connection."""

    def __init__(self) -> None:
        self.listener = relay.listen("127.0.0.1")
        self.address = relay.join_address("127.0.0.1", self.listener.getsockname()[1])
        self._ids = iter(range(1, 10**6))

    def ticket(self, **changes) -> Ticket:
        fields = dict(execution_id=next(self._ids), root_id=1, attempt=1, token=uuid.uuid4().hex,
                      relay=self.address, tls=False, packages=None, memory_limit_mb=1024, max_runs=500,
                      cancel_grace_s=2.0, heartbeat_s=2.0, flowdesk_version=version())
        fields.update(changes)
        return Ticket(**fields)

    def accept(self, timeout: float = WAIT_S) -> "Link":
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if select.select([self.listener], [], [], 0.5)[0]:
                sock = relay.accept(self.listener)
                if sock is not None:
                    return Link(sock)
        raise AssertionError("no supervisor connected")

    def close(self) -> None:
        self.listener.close()


class Link:
    def __init__(self, sock) -> None:
        self.sock = sock
        self.reader = relay.FrameReader(sock)
        self.frames: list = []
        self.beats = 0

    def recv(self, timeout: float = WAIT_S) -> tuple:
        """The next frame that is not a heartbeat."""
        deadline = time.monotonic() + timeout
        while not self.frames:
            left = deadline - time.monotonic()
            if left <= 0:
                raise AssertionError("no frame from the supervisor")
            if select.select([self.sock], [], [], left)[0]:
                for frame in self.reader.read():
                    if frame == ("beat",):
                        self.beats += 1
                    else:
                        self.frames.append(frame)
        return self.frames.pop(0)

    def recv_until(self, tag: str, timeout: float = WAIT_S) -> list:
        got = []
        while not got or got[-1][0] != tag:
            got.append(self.recv(timeout))
        return got

    def send(self, message: tuple) -> None:
        relay.send(self.sock, message)

    def close(self) -> None:
        self.sock.close()


def run_message(ticket: Ticket, source: str, name: str = "flow") -> tuple:
    path = f"/nowhere/flows/{name}.py"  # workers never read the workspace: the code travels in RUN
    return (protocol.RUN, ticket.execution_id, "flow", name, path, textwrap.dedent(source), "{}", False, None)


TRIVIAL = """
def handler(system, this, inputs):
    return None
"""


def pgrep(marker: str) -> list[int]:
    found = subprocess.run(["pgrep", "-f", marker], capture_output=True, text=True)
    return [int(p) for p in found.stdout.split() if int(p) != os.getpid()]


def wait_until(predicate, timeout: float = WAIT_S, what: str = "condition"):
    deadline = time.monotonic() + timeout
    while not (value := predicate()):
        if time.monotonic() > deadline:
            raise AssertionError(f"{what} not reached within {timeout} s")
        time.sleep(0.05)
    return value


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
    from distributed import Client, LocalCluster

    cluster = LocalCluster(n_workers=2, threads_per_worker=1, processes=True, dashboard_address=":0")
    client = Client(cluster)
    # As the engine registers it: warm flow processes from the workers' start.
    client.register_plugin(FlowdeskWorkerPlugin(warm_per_worker=2, memory_limit_mb=1024, max_runs=500),
                           name="flowdesk")
    yield client
    client.close()
    cluster.close(timeout=30)


@pytest.fixture
def engine():
    fake = FakeEngine()
    yield fake
    fake.close()


def submit(client, ticket: Ticket, **kwargs):
    return client.submit(supervise, ticket, key=f"flowdesk-test-{ticket.execution_id}-{uuid.uuid4().hex[:6]}",
                         pure=False, retries=0, **kwargs)


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
    ticket = engine.ticket()
    future = submit(client, ticket, workers=[worker])
    link = engine.accept()
    link.recv()
    link.send(run_message(ticket, TRIVIAL))
    assert link.recv_until(protocol.DONE)[-1][2] == "success"
    link.send(("release",))
    assert future.result(timeout=WAIT_S) == "done"


def _start_sleeper(client, engine, marker: str):
    ticket = engine.ticket()
    future = submit(client, ticket)
    link = engine.accept()
    link.recv()
    link.send(run_message(ticket, f"""
        import subprocess, sys
        def handler(system, this, inputs):
            child = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(600)", "{marker}"])
            this.log("started")
            child.wait()
    """))
    assert link.recv()[2] == "log"
    wait_until(lambda: pgrep(marker), what="the flow's subprocess")
    return ticket, future, link


def test_kill_leaves_no_process(client, engine):
    marker = f"flowdesk-kill-{uuid.uuid4().hex}"
    _, future, link = _start_sleeper(client, engine, marker)
    link.send(("kill",))
    assert future.result(timeout=WAIT_S) == "killed"
    wait_until(lambda: not pgrep(marker), timeout=5, what="no process left")


def test_engine_gone_kills_the_flow(client, engine):
    marker = f"flowdesk-gone-{uuid.uuid4().hex}"
    _, future, link = _start_sleeper(client, engine, marker)
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
    ticket, future, link = _start_sleeper(client, engine, marker)
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
    ticket = engine.ticket(memory_limit_mb=300)
    future = submit(client, ticket, workers=[worker])
    link = engine.accept()
    link.recv()
    link.send(run_message(ticket, TRIVIAL))
    assert link.recv_until(protocol.DONE)[-1][2] == "success"
    link.send(("release",))
    assert future.result(timeout=WAIT_S) == "done"


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
        link.send(run_message(ticket, TRIVIAL))
        assert link.recv_until(protocol.DONE)[-1][2] == "success"
        link.send(("release",))
        assert future.result(timeout=WAIT_S) == "done"
    engine.close()


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
        _, future, link = _start_sleeper(client, engine, marker)
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
