"""The Dask client's side of :mod:`.dask` (issue 12): one held future per run, cancels, the
futures' ends and the worker plugins.

A future's end is read on Dask's callback thread (:class:`TaskOutcome`), where waiting on the
scheduler is harmless, and only then handed to the dispatcher thread and released: a released
future is cancelled at once (its status, exception and result are gone), and the dispatcher
thread must not make a network round trip per ended task."""

from __future__ import annotations

import collections
import logging
import socket
import threading
from queue import Empty, SimpleQueue
from typing import TYPE_CHECKING, Any

from ... import packages, version
from ...cluster import Ticket, task_key, workspace_key
from ...cluster.config import ClusterError, connect

if TYPE_CHECKING:  # pragma: no cover
    from . import BackendHost
    from .dask import RemoteWorker

log = logging.getLogger(__name__)

_READ_S = 5.0  # how long Dask's callback thread waits for an ended task's exception or result


class TaskOutcome:
    """How a supervisor task ended, read while its future was still held: ``kind`` is
    "error" (``detail``: the exception), "cancelled", "finished" (``detail``: its result) or
    "unknown" (``detail``: why reading it failed)."""

    __slots__ = ("kind", "detail")

    def __init__(self, kind: str, detail: Any = None):
        self.kind, self.detail = kind, detail

    @classmethod
    def read(cls, future: Any) -> "TaskOutcome":
        """Dask's callback thread: may wait on the scheduler (a gather for the result)."""
        try:
            status = future.status
            if status == "error":
                return cls("error", future.exception(timeout=_READ_S))
            if status == "cancelled":
                return cls("cancelled")
            return cls("finished", future.result(timeout=_READ_S))
        except BaseException as exc:  # noqa: BLE001 - whatever it was, the run must still end
            return cls("unknown", exc)

    def text(self, connected: bool = False) -> str:
        """Why a run's task ended before its supervisor said hello (or, ``connected``, before
        the run ended)."""
        kind, detail = self.kind, self.detail
        if kind == "error":
            if connected:
                return f"its supervisor task on the cluster failed: {type(detail).__name__}: {detail}"
            if isinstance(detail, ConnectionError):  # the supervisor's own words: it could not reach us
                return f"{detail}; can the Dask workers connect to this machine? (see [cluster] advertise)"
            return f"the Dask cluster could not run its task: {type(detail).__name__}: {detail}"
        if kind == "cancelled":
            return "the Dask scheduler dropped its task (was the scheduler restarted?)"
        if kind == "unknown":
            return f"its Dask task ended before it started: {type(detail).__name__}: {detail}"
        if connected:
            return f"its supervisor task on the cluster ended ({detail}) while the execution ran"
        return (f"its supervisor task ended ({detail}) before it reached this engine's relay: "
                "can the Dask workers connect to this machine? (see [cluster] advertise)")


class Submissions:
    """The Dask client's side: one task per run (held futures), cancels, the futures' ends
    (handed over from Dask's callback thread through a wake-up socket), the worker plugins."""

    def __init__(self, host: "BackendHost"):
        self._host = host
        self._options = host.options.cluster
        self.client: Any = None
        self.cluster: Any = None  # the LocalCluster of "local[:N]", ours to close
        self._supervise: Any = None
        self.waiting: dict[str, "RemoteWorker"] = {}  # token -> submitted, no hello yet
        self._ends: SimpleQueue = SimpleQueue()  # (handle, future, outcome) that ended, from Dask's callback thread
        # A socket pair, not a pipe: Dask's callback thread may still write after close(), and
        # a closed socket object refuses that (a closed fd's number may be in use again).
        self.wake_r, self._wake_w = socket.socketpair()
        self.wake_r.setblocking(False)
        self._wake_w.setblocking(False)
        self._dropped: collections.Counter = collections.Counter()  # (id, attempt): tasks ended unclaimed
        self._packages: tuple[tuple[int, int], tuple[str, str] | None] | None = None
        self._preinstalled: set[str] = set()
        self._workspace_key = workspace_key(host.workspace.root)  # warm processes stay with one workspace

    def start(self) -> None:
        try:
            import distributed
        except ImportError:
            raise ClusterError("running on a Dask cluster needs Dask's 'distributed' package: "
                               "pip install 'flowdesk[cluster]'") from None
        try:
            from ...cluster.supervisor import supervise
        except ImportError as exc:
            raise ClusterError(f"this Flowdesk cannot run executions on a cluster: {exc}") from None
        self._supervise = supervise
        self.client, self.cluster = connect(distributed, self._options)
        self._register_plugins()

    def submit(self, handle: "RemoteWorker", relay_address: str | None, *, tls: bool) -> None:
        # The same attempt again (a run dropped before its claim) needs a new key: the old
        # task may linger on the scheduler a moment after its release.
        key = task_key(self._host.session_id, handle.execution_id, handle.attempt)
        key += "+" * self._dropped.get((handle.execution_id, handle.attempt), 0)
        options = self._host.options
        ticket = Ticket(execution_id=handle.execution_id, root_id=handle.root_id, attempt=handle.attempt,
                        token=handle.token, relay=relay_address, tls=tls, packages=self._package_set(),
                        memory_limit_mb=options.memory_limit_mb, max_runs=options.worker_max_runs,
                        cancel_grace_s=options.cancel_grace_s, heartbeat_s=self._options.heartbeat_s,
                        flowdesk_version=version(), workspace_key=self._workspace_key)
        self.waiting[handle.token] = handle
        # Held, not fire_and_forget: a run has nobody to talk to once this engine is gone, and
        # held futures are released with the client. Deeper first, as the local scheduler does.
        handle.future = self.client.submit(self._supervise, ticket, key=key, pure=False, retries=0,
                                           priority=handle.depth)
        handle.future.add_done_callback(lambda future, h=handle: self._task_ended(h, future))

    def cancel(self, handle: "RemoteWorker") -> None:
        """Before its hello: the task need not run (if it runs, its hello is refused).
        Released, not ``Future.cancel()``: that waits for the scheduler, on the dispatcher's
        thread, once per execution of a cancelled tree; a task nobody holds is dropped too."""
        self.waiting.pop(handle.token, None)
        future, handle.future = handle.future, None
        if future is not None:
            self._dropped[(handle.execution_id, handle.attempt)] += 1
            future.release()

    def _task_ended(self, handle: "RemoteWorker", future: Any) -> None:
        """Dask's callback thread: read how the task ended (before the dispatcher thread
        releases the future) and hand that to the dispatcher thread."""
        # A run the engine released has ended over the relay: how its task ended is moot, and
        # reading the result is a gather (client, scheduler and worker) for every execution.
        moot = handle.released or handle.dead or handle.over
        self._ends.put((handle, future, TaskOutcome("finished", "released") if moot else TaskOutcome.read(future)))
        self.wake()

    def wake(self) -> None:
        try:
            self._wake_w.send(b"x")
        except OSError:  # full (a wake-up is pending anyway) or closed (stopped)
            pass

    def ended(self) -> list[tuple["RemoteWorker", TaskOutcome]]:
        """(handle, how its task ended) of the tasks that ended since the last call."""
        try:
            while self.wake_r.recv(4096):
                pass
        except OSError:
            pass
        ended = []
        while True:
            try:
                handle, future, outcome = self._ends.get_nowait()
            except Empty:
                return ended
            if handle.conn is None:
                self.waiting.pop(handle.token, None)
                self._dropped[(handle.execution_id, handle.attempt)] += 1
            handle.future = None
            ended.append((handle, outcome))
            # Ended: the scheduler may forget it (a held future keeps its result there). Not
            # before: a released running task would be cancelled under its supervisor.
            future.release()

    def _package_set(self) -> tuple[str, str] | None:
        """The workspace's requirements (sha256, text) for the workers; None without any."""
        path = packages.requirements_path(self._host.workspace.root)
        try:
            stat = path.stat()
        except OSError:
            return None
        key = (stat.st_mtime_ns, stat.st_size)
        if self._packages is None or self._packages[0] != key:
            text = path.read_text(encoding="utf-8")
            found = (packages.requirements_sha256(text), text) if text.strip() else None
            self._packages = (key, found)
            if found is not None and found[0] not in self._preinstalled:
                self._preinstalled.add(found[0])
                # On a thread of its own: register_plugin waits for every worker's reply (and
                # their installs), and this runs on the dispatcher thread at a submit. It is
                # only a head start: a run's supervisor installs the set anyway if it must.
                threading.Thread(target=self._preinstall, args=(found,), name="flowdesk-preinstall",
                                 daemon=True).start()
        return self._packages[1]

    def _register_plugins(self) -> None:
        """Warm flow processes on every worker (idempotent: the first engine's settings serve
        every engine of the cluster), and the workspace's packages installed before its first
        execution there."""
        from ...cluster.plugin import FlowdeskWorkerPlugin

        options = self._host.options
        self.client.register_plugin(FlowdeskWorkerPlugin(
            warm_per_worker=self._options.warm_per_worker, memory_limit_mb=options.memory_limit_mb,
            max_runs=options.worker_max_runs), name=FlowdeskWorkerPlugin.name)
        self._package_set()

    def _preinstall(self, package_set: tuple[str, str]) -> None:
        from ...cluster.plugin import PackagesPreinstall

        plugin = PackagesPreinstall(package_set)
        try:
            self.client.register_plugin(plugin, name=plugin.name)
        except Exception:  # noqa: BLE001 - only a head start: the first execution installs anyway
            log.warning("could not register %s on the cluster", plugin.name, exc_info=True)

    def describe(self, relay_address: str | None) -> dict:
        client = self.client
        described = {"runs_on": "cluster", "scheduler": self._options.scheduler, "dashboard": None, "workers": None,
                     "relay": relay_address}  # where the workers must be able to connect to
        if client is None:
            return described
        try:
            if self.cluster is not None:  # local[:N]: the address it was given
                described["scheduler"] = client.scheduler.address
            described["dashboard"] = client.dashboard_link
            described["workers"] = len(client.scheduler_info(n_workers=-1)["workers"])
        except Exception:  # noqa: BLE001 - a scheduler gone meanwhile: say what is known
            log.debug("describing the cluster failed", exc_info=True)
        return described

    def close(self) -> None:
        for closeable in (self.client, self.cluster):
            if closeable is not None:
                try:
                    closeable.close()
                except Exception:  # noqa: BLE001 - shutting down: nothing left to tell
                    log.debug("closing %s failed", closeable, exc_info=True)
        self.client = self.cluster = None
        self.wake_r.close()
        self._wake_w.close()
