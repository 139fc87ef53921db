"""Executions on a Dask cluster (issue 12): one Dask task per run, relayed back to this engine.

For each execution the engine submits ``cluster.supervisor.supervise(Ticket)``; Dask places
it on a worker, where it takes a warm flow process and connects back to this backend's relay
listener. Its hello carries the ticket's token; the run is then *claimed* with a conditional
update of the execution's ``attempt`` (a Dask task runs at least once, not exactly once), and
only after that claim commits does RUN go out. From there the supervisor forwards the flow's
pipe frames verbatim both ways: to the dispatcher a remote execution is a handle
(:class:`RemoteWorker`) whose ``conn`` is a socket; ops, waits, journal, cancel are unchanged.

Only a cluster has: beats (a vanished machine is noticed after ``lost_after_s``), tasks Dask
lost before their hello, ``("secede",)`` hints when an execution blocks (its Dask thread goes
to its children: deep trees on few threads), the LocalCluster of ``--cluster local[:N]``.

All of it runs on the dispatcher thread but the futures' done callbacks (Dask's thread): they
only queue the end and wake the dispatcher."""

from __future__ import annotations

import collections
import logging
import secrets
import socket
import time
from queue import Empty, SimpleQueue
from typing import TYPE_CHECKING, Any

from ... import events as ev
from ... import packages, protocol, version
from ...cluster import Ticket, relay, task_key
from ...cluster.config import ClusterError, connect
from ..pool import describe_exit
from . import Exit

if TYPE_CHECKING:  # pragma: no cover
    from ..active import Active
    from . import BackendHost

log = logging.getLogger(__name__)

_CHECK_S = 0.5  # how often beats and stale connections are looked at
_ORPHAN_S = 2.0  # how long a run whose task ended may still send its exit before it is ended
_CANCELLED = "cancelled through the cluster"  # an exit's reason when the cluster's cancel Event stopped it


class RemoteWorker:
    """One run of an execution on the cluster: a Dask future until its supervisor says hello,
    then a relay socket (``conn``, the waitable the dispatcher selects on)."""

    def __init__(self, backend: "DaskBackend", active: "Active", token: str, attempt: int):
        self.conn: Any = None  # the relay socket, once the run is claimed
        self.execution_id: int | None = active.id
        self.retiring = False
        self.dead = False
        self.parked: list = []
        self.root_id = active.root_id
        self.depth = active.depth
        self.token = token
        self.attempt = attempt  # the execution's attempt when submitted: the claim needs it unchanged
        self.future: Any = None
        self.pending_run: tuple | None = None  # RUN, sent once the claim has committed
        self.pending: list[tuple] = []  # signals and replies that came before the hello
        self.address: str | None = None  # the Dask worker's, e.g. tcp://10.0.0.5:40123
        self.host: str | None = None  # its machine's name
        self.last_seen = 0.0
        self.released = False
        self.over = False  # no more frames: exit/refuse seen, EOF, or given up on
        self.lost: str | None = None  # why the worker counts as lost (no exit from the flow)
        self.ended: str | None = None  # why the task ended without ever connecting
        self.exit: tuple[int | None, str | None] | None = None  # the flow process's (returncode, reason)
        self.refused: str | None = None  # the supervisor could not start it (packages, version)
        self.cancelled = False  # cancelled while still queued in Dask
        self._reader: relay.FrameReader | None = None
        self._blocked = False
        self._backend = backend

    @property
    def blocked(self) -> bool:
        return self._blocked

    @blocked.setter
    def blocked(self, value: bool) -> None:
        # Blocked (a wait, lock, form, sleep): its Dask thread may go to another task. Queued
        # for flush(), after the round: blocked and unblocked in one round sends nothing.
        if value != self._blocked:
            self._blocked = value
            (self._backend.secede.add if value else self._backend.secede.discard)(self)

    def attach(self, sock, reader: relay.FrameReader, address: str, host: str) -> None:
        self.conn, self._reader = sock, reader
        self.address, self.host = address, host
        self.last_seen = time.monotonic()

    def read(self) -> list[tuple]:
        """The flow's frames readable now; the relay's own (beat, exit, refuse) are taken
        here. After an exit or refuse, EOFError (once the frames before it were returned)."""
        if self.over or self._reader is None:
            raise EOFError(self.lost or self.ended)
        try:
            frames = self._reader.read()
        except EOFError:
            why = self._reader.why
            self._gone(_CLOSED if why in (None, "the connection was closed") else why)
            raise
        self.last_seen = time.monotonic()
        for at, frame in enumerate(frames):
            if frame[0] in _RELAY_TAGS:
                return self.relay_frames(frames, at)
        return frames

    def relay_frames(self, frames: list[tuple], start: int) -> list[tuple]:
        kept = frames[:start]
        for frame in frames[start:]:
            tag = frame[0]
            if tag == "beat":
                continue
            if tag == protocol.DONE:
                if frame[2] == "error" and frame[5] and frame[3]:  # its process is replaced (MemoryError): say where
                    frame = (*frame[:3], f"{frame[3]} on {self.describe()}", *frame[4:])
                kept.append(frame)
                continue
            if tag == "exit":
                self.exit = (frame[2], frame[3] if len(frame) > 3 else None)
            elif tag == "refuse":
                self.refused = frame[2]
            else:
                kept.append(frame)
                continue
            self.over = True
            self._backend.found_dead(self)
            break
        if self.over and not kept:
            raise EOFError(self.refused or "the flow process exited")
        return kept

    def read_final(self) -> list[tuple]:
        """What it sent before dying and nobody read yet."""
        frames: list[tuple] = []
        while self._reader is not None and not self.over:
            try:
                more = self.read()
            except EOFError:
                break
            if not more:
                break
            frames += more
        return frames

    def _gone(self, why: str) -> None:
        if not self.over:
            self.over = True
            if self.exit is None and self.refused is None:
                self.lost = self.lost or why

    def describe(self) -> str:
        return f"worker {self.address} ({self.host})"


_RELAY_TAGS = frozenset(("beat", "exit", "refuse", protocol.DONE))  # DONE: once per run
_CLOSED = "its connection closed (the Dask worker died or was restarted)"


class DaskBackend:
    def __init__(self, host: "BackendHost"):
        self._host = host
        self._options = host.options.cluster
        self._tasks = Submissions(host)
        self._relay: relay.RelayServer | None = None
        self._ssl: Any = None
        self.relay_address: str | None = None
        self._by_conn: dict[Any, RemoteWorker] = {}  # claimed and running
        self._releasing: list[RemoteWorker] = []
        self._dead: list[RemoteWorker] = []
        self._orphans: dict[RemoteWorker, tuple[float, str]] = {}  # task ended, socket still open
        self.secede: set[RemoteWorker] = set()
        self._next_check = 0.0

    # -- ExecutionBackend -----------------------------------------------------------------
    def start(self) -> None:
        try:
            self._tasks.start()
            self._open_relay()
        except BaseException:
            self.stop_all()
            raise

    def waitables(self) -> list:
        if self._relay is None:
            return [self._tasks.wake_r]
        return [self._tasks.wake_r, *self._relay.waitables(), *self._by_conn]

    def by_waitable(self, obj: Any) -> RemoteWorker | None:
        return self._by_conn.get(obj)

    @property
    def client(self) -> Any:
        """The Dask client (``distributed.Client``), once started."""
        return self._tasks.client

    def poll(self, ready: list) -> list[RemoteWorker]:
        if self._tasks.wake_r in ready:
            self._tasks_ended()
        for sock, reader, frames in self._relay.poll(ready):
            self._hello(sock, reader, frames)
        now = time.monotonic()
        if now >= self._next_check:
            self._next_check = now + _CHECK_S
            self._check(now)
        if not self._dead:
            return []
        dead, self._dead = [h for h in self._dead if not h.dead], []
        return dead

    def obtain(self, active: "Active", *, fresh: bool = False) -> RemoteWorker:
        # Never started: never claimed (a claim follows the round that marks it running), so
        # its attempt is 0 without asking the database.
        attempt = self._host.writer.execution_attempt(active.id) if active.started else 0
        return RemoteWorker(self, active, secrets.token_hex(16), attempt)

    def deliver(self, handle: RemoteWorker, message: tuple) -> None:
        if handle.dead or handle.over:
            return
        if handle.conn is None:
            self._deliver_queued(handle, message)
            return
        try:
            relay.send(handle.conn, message)
        except OSError as exc:
            self._lose(handle, f"sending to it failed ({exc})")

    def flush(self) -> None:
        if self.secede:
            for handle in self.secede:
                if handle.blocked and handle.conn is not None and not (handle.dead or handle.over):
                    self.deliver(handle, ("secede",))
            self.secede.clear()
        if self._releasing:
            # After the round's messages: a reply queued before the end goes out first.
            releasing, self._releasing = self._releasing, []
            for handle in releasing:
                if handle.conn is not None and not handle.over:
                    self.deliver(handle, ("release",))
                self._forget(handle)

    def release(self, handle: RemoteWorker) -> None:
        handle.released = True
        handle.blocked = False
        handle.parked.clear()
        self._by_conn.pop(handle.conn, None)  # its later frames (a retiring process's exit) are moot
        self._releasing.append(handle)

    def kill(self, handle: RemoteWorker) -> None:
        if handle.conn is not None and not handle.over:
            try:
                relay.send(handle.conn, ("kill",))
            except OSError:
                pass
        self._forget(handle)

    def exited(self, handle: RemoteWorker) -> Exit:
        exit = why_it_ended(handle)
        self.kill(handle)  # a lost worker may come back: its supervisor must not go on
        return exit

    def top_up(self) -> None:
        pass  # the worker plugin keeps flow processes warm on every Dask worker

    def stop_all(self) -> None:
        for handle in self._tasks.waiting.values():  # closing the client drops their tasks
            handle.dead = handle.over = True
        self._tasks.waiting.clear()
        for handle in [*self._by_conn.values(), *self._releasing]:
            self.kill(handle)
        if self._relay is not None:
            self._relay.close()
        self._tasks.close()

    def describe(self) -> dict:
        client = self._tasks.client
        described = {"runs_on": "cluster", "scheduler": self._options.scheduler, "dashboard": None, "workers": None,
                     "relay": self.relay_address}  # where the workers must be able to connect to
        if client is None:
            return described
        try:
            if self._tasks.cluster is not None:  # local[:N]: the address it was given
                described["scheduler"] = client.scheduler.address
            described["dashboard"] = client.dashboard_link
            described["workers"] = len(client.scheduler_info(n_workers=-1)["workers"])
        except Exception:  # noqa: BLE001 - a scheduler gone meanwhile: say what is known
            log.debug("describing the cluster failed", exc_info=True)
        return described

    # -- before the hello -----------------------------------------------------------------
    def _deliver_queued(self, handle: RemoteWorker, message: tuple) -> None:
        """A message for a run that has not said hello yet."""
        tag = message[0]
        if tag == protocol.RUN:
            handle.pending_run = message
            self._tasks.submit(handle, self.relay_address, tls=self._ssl is not None)
        elif tag == "signal" and message[1] == _SIGTERM:  # a cancel: it never started, so it never will
            self._tasks.cancel(handle)
            handle.cancelled = True
            handle.over = True
            self.found_dead(handle)
        else:  # a pause (SIGSTOP/SIGCONT), a stop: after RUN, in order
            handle.pending.append(message)

    def _tasks_ended(self) -> None:
        for handle, future in self._tasks.ended():
            if handle.dead or handle.over:
                continue
            if handle.conn is None:
                handle.ended = _task_outcome(future)
                handle.over = True
                self.found_dead(handle)
            elif not handle.released:
                # Connected, and its task ended first: normally its exit frame or EOF is on the
                # way (the socket is the faster path). If neither comes, the supervisor failed
                # and left its connection open: end the run with what Dask says.
                self._orphans[handle] = (time.monotonic() + _ORPHAN_S, _task_outcome(future, connected=True))

    # -- the relay ------------------------------------------------------------------------
    def _open_relay(self) -> None:
        options = self._options
        if options.tls:  # the client's Security: the [cluster] tls_* files or Dask's own configuration
            self._ssl = relay.server_context(self._tasks.client.security, role="client")
        if options.advertise:
            host = options.advertise
        elif self._tasks.cluster is not None:
            host = "127.0.0.1"
        else:
            host = relay.route_to(*relay.split_address(options.scheduler))
        self._relay = relay.RelayServer(host, self._ssl)
        self.relay_address = self._relay.address

    def _hello(self, sock, reader: relay.FrameReader, frames: list) -> None:
        """A supervisor's first frames: the run is claimed (RUN goes out after the commit) or refused."""
        hello, waiting = frames[0], self._tasks.waiting
        handle = waiting.get(hello[3]) if hello[0] == "hello" and len(hello) >= 7 else None
        if handle is None or handle.execution_id != hello[1] or handle.attempt != hello[2]:
            self._relay.refuse(sock, "this engine has no such run waiting (cancelled, or claimed already)")
            return
        del waiting[handle.token]
        _, execution_id, attempt, _, address, host = hello[:6]
        if not self._host.writer.claim_run(execution_id, attempt, host, address):
            self._relay.refuse(sock, "another run of this execution claimed it")
            handle.refused = f"another run of it claimed it before the one on worker {address} ({host})"
            handle.over = True
            self.found_dead(handle)
            return
        reader.trusted = True  # it showed the ticket's token: the supervisor this engine started
        handle.attach(sock, reader, address, host)
        self._by_conn[sock] = handle
        self._host.emit(ev.ExecutionPlaced(execution_id, host, address, attempt + 1, time.time()))
        for message in [handle.pending_run, *handle.pending]:  # sent after the claim commits
            if message is not None:
                self._host.signal(handle, message)
        handle.pending_run, handle.pending = None, []
        if len(frames) > 1:  # a refuse or beats right behind the hello
            try:
                handle.relay_frames(frames[1:], 0)
            except EOFError:
                pass

    def _check(self, now: float) -> None:
        lost_after = self._options.lost_after_s
        for handle in list(self._by_conn.values()):
            if not handle.over and now - handle.last_seen > lost_after:
                self._lose(handle, f"no heartbeat for {lost_after:g} s")
        self._relay.expire(now)
        for handle, (deadline, why) in list(self._orphans.items()):
            if handle.dead or handle.over:
                del self._orphans[handle]
            elif now > deadline:
                del self._orphans[handle]
                handle.refused = why
                handle.over = True
                self.found_dead(handle)

    # -- ends -----------------------------------------------------------------------------
    def found_dead(self, handle: RemoteWorker) -> None:
        """``handle`` is over: the next poll returns it (the dispatcher reaps it)."""
        self._dead.append(handle)
        self._tasks.wake()

    def _lose(self, handle: RemoteWorker, why: str) -> None:
        if not handle.over:
            handle._gone(why)
            self.found_dead(handle)

    def _forget(self, handle: RemoteWorker) -> None:
        if handle.dead:
            return
        handle.dead = True
        handle.over = True
        self.secede.discard(handle)
        self._orphans.pop(handle, None)
        if handle.conn is None:
            self._tasks.cancel(handle)
            return
        self._by_conn.pop(handle.conn, None)
        if self._relay is not None:
            self._relay.close_later(handle.conn)
        else:
            handle.conn.close()


class Submissions:
    """The Dask client's side: one task per run (held futures), cancels, the futures' ends
    (handed over from Dask's callback thread through a wake-up socket), the worker plugins."""

    def __init__(self, host: "BackendHost"):
        self._host = host
        self._options = host.options.cluster
        self.client: Any = None
        self.cluster: Any = None  # the LocalCluster of "local[:N]", ours to close
        self._supervise: Any = None
        self.waiting: dict[str, RemoteWorker] = {}  # token -> submitted, no hello yet
        self._ends: SimpleQueue = SimpleQueue()  # (handle, future) that ended, from Dask's callback thread
        # A socket pair, not a pipe: Dask's callback thread may still write after close(), and
        # a closed socket object refuses that (a closed fd's number may be in use again).
        self.wake_r, self._wake_w = socket.socketpair()
        self.wake_r.setblocking(False)
        self._wake_w.setblocking(False)
        self._dropped: collections.Counter = collections.Counter()  # (id, attempt): tasks ended unclaimed
        self._packages: tuple[tuple[int, int], tuple[str, str] | None] | None = None
        self._preinstalled: set[str] = set()

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

    def submit(self, handle: RemoteWorker, relay_address: str | None, *, tls: bool) -> None:
        # The same attempt again (a run dropped before its claim) needs a new key: the old
        # task may linger on the scheduler a moment after its release.
        key = task_key(self._host.session_id, handle.execution_id, handle.attempt)
        key += "+" * self._dropped.get((handle.execution_id, handle.attempt), 0)
        options = self._host.options
        ticket = Ticket(execution_id=handle.execution_id, root_id=handle.root_id, attempt=handle.attempt,
                        token=handle.token, relay=relay_address, tls=tls, packages=self._package_set(),
                        memory_limit_mb=options.memory_limit_mb, max_runs=options.worker_max_runs,
                        cancel_grace_s=options.cancel_grace_s, heartbeat_s=self._options.heartbeat_s,
                        flowdesk_version=version())
        self.waiting[handle.token] = handle
        # Held, not fire_and_forget: a run has nobody to talk to once this engine is gone, and
        # held futures are released with the client. Deeper first, as the local scheduler does.
        handle.future = self.client.submit(self._supervise, ticket, key=key, pure=False, retries=0,
                                           priority=handle.depth)
        handle.future.add_done_callback(lambda future, h=handle: self._task_ended(h, future))

    def cancel(self, handle: RemoteWorker) -> None:
        """Before its hello: the task need not run (if it runs, its hello is refused).
        Released, not ``Future.cancel()``: that waits for the scheduler, on the dispatcher's
        thread, once per execution of a cancelled tree; a task nobody holds is dropped too."""
        self.waiting.pop(handle.token, None)
        future, handle.future = handle.future, None
        if future is not None:
            self._dropped[(handle.execution_id, handle.attempt)] += 1
            future.release()

    def _task_ended(self, handle: RemoteWorker, future: Any) -> None:
        """Dask's callback thread: hand the end to the dispatcher thread."""
        self._ends.put((handle, future))
        self.wake()

    def wake(self) -> None:
        try:
            self._wake_w.send(b"x")
        except OSError:  # full (a wake-up is pending anyway) or closed (stopped)
            pass

    def ended(self) -> list[tuple[RemoteWorker, Any]]:
        """(handle, future) of the tasks that ended since the last call."""
        try:
            while self.wake_r.recv(4096):
                pass
        except OSError:
            pass
        ended = []
        while True:
            try:
                handle, future = self._ends.get_nowait()
            except Empty:
                return ended
            if handle.conn is None:
                self.waiting.pop(handle.token, None)
                self._dropped[(handle.execution_id, handle.attempt)] += 1
            handle.future = None
            ended.append((handle, future))
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
                self._preinstall(found)
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


_SIGTERM = 15


def why_it_ended(handle: RemoteWorker) -> Exit:
    """How a run's end reads on its execution."""
    if handle.cancelled:
        return Exit("cancelled before it started on the cluster", status="cancelled")
    if handle.refused is not None:
        return Exit(handle.refused)
    if handle.exit is not None:
        code, reason = handle.exit
        if reason == _CANCELLED:
            return Exit(f"{_CANCELLED} on {handle.describe()}", status="cancelled")
        return Exit(f"{describe_exit(code)} on {handle.describe()}")
    if handle.conn is None:
        # Never started: Dask lost or dropped the task (after its own retries), or the
        # supervisor could not reach this engine. Not "lost": nothing of it ran.
        return Exit(handle.ended or "its Dask task ended before it started")
    return Exit(f"the Dask worker {handle.address} ({handle.host}) running it was lost: "
                f"{handle.lost or _CLOSED}", lost=True)


def _task_outcome(future: Any, connected: bool = False) -> str:
    """Why a run's task ended before its supervisor said hello (or, ``connected``, before the
    run ended)."""
    try:
        status = future.status
        if status == "error":
            error = future.exception(timeout=1)
            if connected:
                return f"its supervisor task on the cluster failed: {type(error).__name__}: {error}"
            if isinstance(error, ConnectionError):  # the supervisor's own words: it could not reach us
                return f"{error}; can the Dask workers connect to this machine? (see [cluster] advertise)"
            return f"the Dask cluster could not run its task: {type(error).__name__}: {error}"
        if status == "cancelled":
            return "the Dask scheduler dropped its task (was the scheduler restarted?)"
        result = future.result(timeout=1)
    except Exception as exc:  # noqa: BLE001
        return f"its Dask task ended before it started: {type(exc).__name__}: {exc}"
    if connected:
        return f"its supervisor task on the cluster ended ({result}) while the execution ran"
    return (f"its supervisor task ended ({result}) before it reached this engine's relay: "
            "can the Dask workers connect to this machine? (see [cluster] advertise)")
