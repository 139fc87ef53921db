"""A stand-in for the engine's side of the relay, for tests of the cluster supervisor on real
Dask worker processes: each relay message is sent at the moment the test chooses. No
database: only ``distributed``."""

from __future__ import annotations

import contextlib
import select
import textwrap
import time
import uuid
from typing import Iterator

from cluster_support import pgrep
from engine_core import protocol, version
from engine_core.cluster import Ticket, relay
from engine_core.cluster.plugin import FlowdeskWorkerPlugin
from engine_core.cluster.supervisor import supervise
from support import wait_until

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


def submit(client, ticket: Ticket, **kwargs):
    return client.submit(supervise, ticket, key=f"flowdesk-test-{ticket.execution_id}-{uuid.uuid4().hex[:6]}",
                         pure=False, retries=0, **kwargs)


def start_sleeper(client, engine, marker: str):
    """A flow that starts a subprocess (its command line holds ``marker``) and waits for it."""
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


def finish_trivial(link: Link, ticket: Ticket, future) -> None:
    """Run the trivial flow on a connected supervisor: it succeeds, and released, the task is done."""
    link.send(run_message(ticket, TRIVIAL))
    assert link.recv_until(protocol.DONE)[-1][2] == "success"
    link.send(("release",))
    assert future.result(timeout=WAIT_S) == "done"


def run_trivial(client, engine: FakeEngine, ticket: Ticket | None = None, **submit_kwargs) -> None:
    """Submit a supervisor task, take its hello, and :func:`finish_trivial` it."""
    ticket = ticket or engine.ticket()
    future = submit(client, ticket, **submit_kwargs)
    link = engine.accept()
    link.recv()
    finish_trivial(link, ticket, future)


@contextlib.contextmanager
def plugin_cluster(workers: int) -> Iterator:
    """A client of a LocalCluster (worker processes, one thread each) with Flowdesk's worker
    plugin registered as the engine registers it: warm flow processes from the workers' start."""
    from distributed import Client, LocalCluster

    with LocalCluster(n_workers=workers, threads_per_worker=1, processes=True, dashboard_address=":0") as cluster, \
            Client(cluster) as client:
        client.register_plugin(FlowdeskWorkerPlugin(warm_per_worker=2, memory_limit_mb=1024, max_runs=500),
                               name="flowdesk")
        yield client


def stand_in() -> Iterator[FakeEngine]:
    """The body of each test module's ``engine`` fixture."""
    fake = FakeEngine()
    yield fake
    fake.close()
