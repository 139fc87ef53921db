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
read how the task ended, queue that and wake the dispatcher (:mod:`.dask_submit`)."""

from __future__ import annotations

import logging
import secrets
import time
from typing import TYPE_CHECKING, Any

from ... import events as ev
from ... import protocol
from ...cluster import relay
from ...cluster.config import unusable
from ..pool import describe_exit
from . import Exit
from .dask_submit import Submissions

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

    # Queued in Dask until a worker has a thread for it: the execution shows queued until then.
    starts_when_claimed = True

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


def _is_hello(frame: Any) -> bool:
    """("hello", execution id, attempt, token, worker address, host, version, ...)."""
    return (isinstance(frame, tuple) and len(frame) >= 7 and frame[0] == "hello"
            and type(frame[1]) is int and type(frame[2]) is int
            and isinstance(frame[3], str) and isinstance(frame[4], str) and isinstance(frame[5], str))


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
        self._claimed: list[RemoteWorker] = []  # claimed this round: RUN goes out after its commit
        self.secede: set[RemoteWorker] = set()
        self._next_check = 0.0
        # Below lost_after_s: a supervisor that stops reading holds the dispatcher thread (and
        # every other run) for at most this long per message. The simplest bound: a write
        # buffer per handle would avoid the wait, at the cost of a second path for every send.
        self._send_timeout = min(relay.SEND_TIMEOUT_S, self._options.lost_after_s / 4)

    # -- ExecutionBackend -----------------------------------------------------------------
    def start(self) -> None:
        try:
            self._tasks.start()  # a scheduler it cannot reach: a ClusterError already
            self._open_relay()
        except (OSError, TimeoutError) as exc:  # failed on its own terms: said as one line too
            self.stop_all()
            raise unusable(self._options.scheduler, exc) from None
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
        if self._claimed:
            self._unclaimed()
        if self._tasks.wake_r in ready:
            self._tasks_ended()
        for sock, reader, frames in self._relay.poll(ready):
            self._hello(sock, reader, frames)
        now = time.monotonic()
        # A run with frames waiting is not lost however old its last read: _check looks first.
        if now >= self._next_check:
            self._next_check = now + _CHECK_S
            self._check(now)
        # Kept until reaped (inbox.died makes them dead): a round that rolls back must not lose
        # an end taken from Dask or the relay, or that execution would never end.
        self._dead = [h for h in self._dead if not h.dead]
        return list(self._dead)

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
            relay.send(handle.conn, message, timeout=self._send_timeout)
        except OSError as exc:
            self._lose(handle, f"sending to it failed ({exc})")
            return
        if message[0] == protocol.RUN:
            handle.pending_run = None  # its round committed: see _unclaimed

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
        # Whenever the flow may still run: not only before its end but also once it was given
        # up on (lost: beats stopped or EOF), since a lost worker may come back, and its run
        # must not go on beside the one that replaces it. Not after its own exit or refuse.
        if (handle.conn is not None and not (handle.dead or handle.released)
                and handle.exit is None and handle.refused is None):
            try:
                relay.send(handle.conn, ("kill",), timeout=self._send_timeout)
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
        return self._tasks.describe(self.relay_address)

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
        for handle, outcome in self._tasks.ended():
            if handle.dead or handle.over:
                continue
            if handle.conn is None:
                handle.ended = outcome.text()
                handle.over = True
                self.found_dead(handle)
            elif not handle.released:
                # Connected, and its task ended first: normally its exit frame or EOF is on the
                # way (the socket is the faster path). If neither comes, the supervisor failed
                # and left its connection open: end the run with what Dask says.
                self._orphans[handle] = (time.monotonic() + _ORPHAN_S, outcome.text(connected=True))

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
        """A supervisor's first frames: the run is claimed (RUN goes out after the commit) or
        refused. Whoever reaches the port may send anything (plain values): nothing in it
        may fail the round, which would roll back the other claims and ends it holds."""
        hello, waiting = frames[0], self._tasks.waiting
        if not _is_hello(hello):
            log.warning("refused a relay connection: its first frame is not a Flowdesk hello (%.80r)", hello)
            self._relay.refuse(sock, "the first frame must be a Flowdesk hello", timeout=self._send_timeout)
            return
        handle = waiting.get(hello[3])
        if handle is None or handle.execution_id != hello[1] or handle.attempt != hello[2]:
            self._relay.refuse(sock, "this engine has no such run waiting (cancelled, or claimed already)",
                               timeout=self._send_timeout)
            return
        del waiting[handle.token]
        try:
            self._claim(handle, sock, reader, frames)
        except Exception as exc:  # noqa: BLE001 - a failing claim ends this run, not the round
            log.exception("claiming the run of execution %s failed", handle.execution_id)
            if handle.conn is None:  # not attached: nobody else closes it
                sock.close()
            if not handle.over:
                handle.refused = f"the engine could not claim its run on worker {hello[4]} ({hello[5]}): {exc}"
                handle.over = True
                self.found_dead(handle)

    def _claim(self, handle: RemoteWorker, sock, reader: relay.FrameReader, frames: list) -> None:
        _, execution_id, attempt, _, address, host = frames[0][:6]
        if not self._host.writer.claim_run(execution_id, attempt, host, address):
            self._relay.refuse(sock, "another run of this execution claimed it", timeout=self._send_timeout)
            handle.refused = f"another run of it claimed it before the one on worker {address} ({host})"
            handle.over = True
            self.found_dead(handle)
            return
        reader.trusted = True  # it showed the ticket's token: the supervisor this engine started
        handle.attach(sock, reader, address, host)
        self._by_conn[sock] = handle
        self._host.emit(ev.ExecutionPlaced(execution_id, host, address, attempt + 1, time.time()))
        active = self._host.active.get(execution_id)
        if active is not None and active.status == "queued":  # queued until now (pause_tree refuses those)
            self._host.set_status(active, "running")
        for message in [handle.pending_run, *handle.pending]:  # sent after the claim commits
            if message is not None:
                self._host.signal(handle, message)
        handle.pending = []  # pending_run stays until it is sent: see _unclaimed
        self._claimed.append(handle)
        if len(frames) > 1:  # a refuse or beats right behind the hello
            try:
                handle.relay_frames(frames[1:], 0)
            except EOFError:
                pass

    def _unclaimed(self) -> None:
        """The round after a claim: its RUN went out, unless that round rolled back (its claim
        and RUN with it). Such a run is ended here, and its supervisor told ("refused", which
        gives its flow process back): left alone it would wait for a RUN for ever while it
        beats, and its execution would stay running. Not claimed again: whatever failed that
        round may fail again, and a refused run's end goes through the next round like any."""
        claimed, self._claimed = self._claimed, []
        for handle in claimed:
            if handle.pending_run is None or handle.dead or handle.over:
                continue
            self._by_conn.pop(handle.conn, None)
            self._relay.refuse(handle.conn, "the engine could not record the claim", timeout=self._send_timeout)
            handle.refused = (f"the engine could not record its start on {handle.describe()} "
                              "(a failed round: see the engine's log); it did not run")
            handle.over = True
            self.found_dead(handle)

    def _check(self, now: float) -> None:
        lost_after = self._options.lost_after_s
        stale = [h for h in self._by_conn.values() if not h.over and now - h.last_seen > lost_after]
        if stale:
            # last_seen is as of the last read: after a slow round (a commit, a send, a busy
            # GIL) beats may be waiting unread. Only a run with nothing to read is lost.
            readable = relay.readable([h.conn for h in stale])
            for handle in stale:
                if handle.conn in readable:
                    handle.last_seen = now
                else:
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
        if self._relay is not None and handle.lost is None:
            self._relay.close_later(handle.conn)
        else:
            # Given up on: closed at once (after the kill above), not drained for CLOSING_S,
            # so that a supervisor still there stops its flow as soon as it reads again.
            handle.conn.close()


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
