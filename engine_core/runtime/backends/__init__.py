"""How an execution runs: the seam between the dispatcher's loop and the processes that run
flows (style pattern 4: one loop, the way a job runs swapped).

The dispatcher owns every decision and every database write; a backend only starts, feeds and
stops the processes. ``local.LocalBackend`` runs them as worker processes of this machine (the
default); ``dask.DaskBackend`` on a Dask cluster, each execution relayed back to this engine
over a socket, so to the dispatcher a remote execution is one more :class:`Handle` whose
``conn`` becomes readable. :class:`Routed` mixes the two when a cluster is configured:
debugged executions stay here (their debugger listens on 127.0.0.1), the rest go out.

Everything here runs on the dispatcher thread, inside a round; messages handed to
``deliver`` were committed first (the dispatcher sends its outbox after the commit)."""

from __future__ import annotations

from concurrent.futures import Future
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Callable, Protocol, runtime_checkable

from ..pool import Worker

if TYPE_CHECKING:  # pragma: no cover
    from ... import events as ev
    from ...store import Writer
    from ...workspace import Workspace
    from ..active import Active
    from ..options import EngineOptions


@dataclass(frozen=True)
class Exit:
    """Why a handle died, as the execution's end shows it."""

    message: str  # "the flow's worker process was killed by SIGSEGV on worker tcp://127.0.0.1:40123 (host)"
    lost: bool = False  # the machine/Dask worker went, not the flow: a durable one may be resumed elsewhere
    status: str = "error"  # "cancelled" when the cluster itself cancelled it


class Handle(Protocol):
    """One execution's process as the dispatcher sees it: ``pool.Worker`` locally,
    ``dask.RemoteWorker`` on a cluster. Hashable by identity (the journal keys open calls by
    the handle: remote pids collide across hosts)."""

    conn: Any  # the waitable whose readiness means "frames to read" (pipe / socket)
    execution_id: int | None
    blocked: bool  # waiting for a child/lock/form/sleep: not counted; remote: secedes
    retiring: bool
    dead: bool
    parked: list  # the requests parked on it (waits.Parked): a lost run's are dropped at once
    # False: the execution runs once handed over. True (a cluster run): it stays queued until a
    # worker takes it, and the backend says so (BackendHost.set_status).
    starts_when_claimed: bool

    def read(self) -> list[tuple]: ...  # every whole frame readable now; EOFError: gone

    def read_final(self) -> list[tuple]: ...  # after death: whatever it sent before dying


class BackendHost(Protocol):
    """What a backend may use of the dispatcher (the Dispatcher fits)."""

    options: "EngineOptions"
    workspace: "Workspace"
    writer: "Writer"
    active: "dict[int, Active]"
    session_id: int | None

    def emit(self, event: "ev.Event") -> None: ...  # published after this round commits

    def set_status(self, active: "Active", status: str, message: str | None = None) -> None: ...

    def signal(self, handle: Any, message: tuple) -> None: ...  # sent after this round commits

    def post(self, fn: Callable[..., Any], *args: Any) -> Future: ...  # run fn on the dispatcher thread


@runtime_checkable
class ExecutionBackend(Protocol):
    def start(self) -> None: ...  # warm workers / connect the cluster (may raise ClusterError)

    def waitables(self) -> list: ...  # handles' conns and sentinels + the backend's own (sockets, wake pipes)

    def by_waitable(self, obj: Any) -> Handle | None: ...  # None for the backend's own waitables

    def poll(self, ready: list) -> list[Handle]: ...  # its own ready waitables + timers; the handles found dead

    def obtain(self, active: "Active", *, fresh: bool = False) -> Handle | None: ...  # None: it stays queued

    def deliver(self, handle: Any, message: tuple) -> None: ...  # RUN/REPLY/STOP, ("signal", SIG)

    def flush(self) -> None: ...  # after the round's deliveries (remote: secede hints)

    def release(self, handle: Any) -> None: ...  # its execution ended normally

    def kill(self, handle: Any) -> None: ...  # hard stop: SIGKILL to the execution's process group

    def exited(self, handle: Any) -> Exit: ...  # reap a dead handle, forget it, say why it died

    def top_up(self) -> None: ...  # keep warm capacity (local: warm_workers)

    def stop_all(self) -> None: ...

    def describe(self) -> dict: ...  # {"runs_on": "this machine"} | {"runs_on": "cluster", ...}


# After Exit and the protocols: local.py imports them from this package.
from .local import LocalBackend  # noqa: E402


def create(host: BackendHost) -> ExecutionBackend:
    """The backend ``host.options`` asks for: local worker processes, or (``options.cluster``)
    a Dask cluster with debugged executions kept here."""
    local = LocalBackend(host)
    if host.options.cluster is None:
        return local
    from .dask import DaskBackend  # lazy: local runs never import distributed

    return Routed(local, DaskBackend(host))


class Routed:
    """Local and cluster side by side. ``obtain`` decides where an execution runs: debugged
    (development mode) and inline executions here, the rest on the cluster; every later call
    goes to the backend that owns the handle."""

    def __init__(self, local: LocalBackend, cluster: ExecutionBackend):
        self.local = local
        self.cluster = cluster

    def _owner(self, handle: Any) -> ExecutionBackend:
        return self.local if isinstance(handle, Worker) else self.cluster

    def start(self) -> None:
        # No warm local processes: the local side only runs debugged roots, which get a
        # fresh process each (obtain(fresh=True)).
        self.cluster.start()

    def waitables(self) -> list:
        return self.local.waitables() + self.cluster.waitables()

    def by_waitable(self, obj: Any) -> Handle | None:
        handle = self.local.by_waitable(obj)
        return handle if handle is not None else self.cluster.by_waitable(obj)

    def poll(self, ready: list) -> list[Handle]:
        return self.local.poll(ready) + self.cluster.poll(ready)

    def obtain(self, active: "Active", *, fresh: bool = False) -> Handle | None:
        here = active.mode == "development" or active.inline
        return (self.local if here else self.cluster).obtain(active, fresh=fresh)

    def deliver(self, handle: Any, message: tuple) -> None:
        self._owner(handle).deliver(handle, message)

    def flush(self) -> None:
        self.local.flush()
        self.cluster.flush()

    def release(self, handle: Any) -> None:
        self._owner(handle).release(handle)

    def kill(self, handle: Any) -> None:
        self._owner(handle).kill(handle)

    def exited(self, handle: Any) -> Exit:
        return self._owner(handle).exited(handle)

    def top_up(self) -> None:
        self.cluster.top_up()  # the local side keeps nothing warm (see start)

    def stop_all(self) -> None:
        self.cluster.stop_all()
        self.local.stop_all()

    def describe(self) -> dict:
        return self.cluster.describe()


__all__ = ["BackendHost", "ExecutionBackend", "Exit", "Handle", "LocalBackend", "Routed", "create"]
