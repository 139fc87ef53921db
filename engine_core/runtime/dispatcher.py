"""The dispatcher: one thread that owns the execution backend and every database write.

Each round it waits for something to happen (a worker message, a worker's death, a command
from an API thread, a wake-up from another process, a timer), handles all of it inside one
transaction, commits, and only then sends replies to workers and publishes events. So nothing
is shown or acted on before it is committed, and bursts of work share one commit (group
commit). Requests from flows are routed to the families in ``ops/``; cancel, pause and resume
of execution trees live in ``control.py``; waits and timers in ``waits.py``; where and how an
execution's process runs (worker processes here, or a Dask cluster) in ``backends/``."""

from __future__ import annotations

import logging
import os
import socket
import threading
import time
from concurrent.futures import Future
from queue import SimpleQueue
from typing import Any, Callable

from flow_api import EngineException

from .. import events as ev
from .. import protocol, redact
from ..store import Store, Writer
from ..workspace import Workspace
from . import backends, control, executions
from .active import Active, RecentSummaries
from .inbox import WorkerInbox, send_all
from .journal import Journal
from .ops import WorkerCalls
from .options import EngineOptions
from .readiness import Readiness
from .backends import Handle as Worker  # a worker process here, or a flow process on a Dask worker
from .ends import EndNotices
from .scheduler import Scheduler
from .waits import Waits
from ..wake import WakeSocket

log = logging.getLogger(__name__)

_POLL_S = 0.25  # how often requests written by other processes (cancel, resume, answers) are read


class Dispatcher:
    def __init__(self, workspace: Workspace, store: Store, bus: ev.EventBus, options: EngineOptions):
        self.workspace = workspace
        self.options = options
        self._store = store
        self._bus = bus
        self.writer = Writer(store.engine)
        self.active: dict[int, Active] = {}
        self.session_id: int | None = None
        self.backend = backends.create(self)
        self.waits = Waits(self)
        self.on_end: list[Callable[[Active], None]] = []  # ops families react to an execution's end
        self.on_poll: list[Callable[[], None]] = []  # ... and to the periodic look at the database
        self._recent = RecentSummaries()
        self.scheduler = Scheduler(self, self.backend)
        self._commands: SimpleQueue = SimpleQueue()
        self._wake_r, self._wake_w = os.pipe()
        os.set_blocking(self._wake_r, False)
        self._wake_socket = WakeSocket()
        self._events: list[ev.Event] = []
        self._outbox: list[tuple[Worker, tuple]] = []
        self._resolved: list[tuple[Future, Any]] = []
        self._next_poll = 0.0
        self._ends = EndNotices()
        self.forms: Any = None  # the forms family (ops/forms.py) sets itself here for Engine.respond
        self.locks: Any = None  # the locks family (ops/locks.py): resume adopts locks through it
        self.journal = Journal(self.writer, workspace, enabled=options.journal)
        self.on_end.append(self.journal.forget)
        self.on_end.append(lambda ended: executions.store_script(self, ended))
        self.inbox = WorkerInbox(self, WorkerCalls(self))
        self._thread: threading.Thread | None = None
        self._stopping = False

    # -- lifecycle (called from the owning thread) ----------------------------------------
    def start(self) -> None:
        resume = control.resume_module()
        if resume is None:
            self._store.reap_dead_sessions()
        self.session_id = self.writer.open_session(os.getpid(), socket.gethostname(), self._wake_socket.path)
        self.writer.commit()
        try:
            self.backend.start()  # warm workers, or the cluster's connection (ClusterError)
        except BaseException:
            self.writer.close_session(self.session_id)
            self.writer.commit()
            raise
        if resume is not None:  # the first round takes over what dead engines left running
            self.post(resume.resume_orphans, self)
        self._thread = threading.Thread(target=self._run, name="flowdesk-dispatcher", daemon=True)
        self._thread.start()

    def stop(self, timeout: float = 10.0) -> None:
        if self._thread is None:
            return
        self.post(self._shutdown).result(timeout)
        self._thread.join(timeout)
        self._thread = None
        os.close(self._wake_r)
        os.close(self._wake_w)
        self._wake_socket.close()

    def post(self, fn: Callable[..., Any], *args: Any) -> Future:
        """Run ``fn(*args)`` on the dispatcher thread; the future resolves after the commit."""
        future: Future = Future()
        self._commands.put((fn, args, future))
        try:
            os.write(self._wake_w, b"x")
        except OSError:
            pass
        return future

    def wait_ended(self, execution_id: int, timeout: float | None) -> str | None:
        """Block until ``execution_id`` ends in this engine and its end was published; its
        status, or None on timeout or when it is not (or no longer) this engine's."""
        return self._ends.wait(execution_id, timeout, self.active.__contains__)

    # -- for the ops families ----------------------------------------------------------------
    def emit(self, event: ev.Event) -> None:
        """Publish ``event`` once this round has committed."""
        self._events.append(event)

    def reply(self, worker: Worker, request_id: int, ok: bool, value: Any) -> None:
        """Every answer to a flow's request goes out through here (and so into its journal)."""
        self.journal.answer(worker, request_id, ok, value)
        self._outbox.append((worker, (protocol.REPLY, request_id, ok, value)))

    def reply_error(self, worker: Worker, request_id: int, error: EngineException) -> None:
        self.reply(worker, request_id, False, (type(error).__name__, str(error)))

    def signal(self, worker: Worker, message: tuple) -> None:
        """Send ``message`` to ``worker`` after the commit."""
        self._outbox.append((worker, message))

    # -- the loop -------------------------------------------------------------------------
    def _run(self) -> None:
        waitables = [self._wake_r] + ([self._wake_socket.waitable] if self._wake_socket.path else [])
        readiness = Readiness()
        while not self._stopping:
            ready = readiness.wait([*waitables, *self.backend.waitables()], self._timeout())
            try:
                self._round(ready)
                self.journal.flush()
                self.writer.commit()
            except Exception:  # a database failure must not kill the engine thread silently
                log.exception("dispatcher round failed; rolling back")
                self.writer.rollback()
                self.journal.discard()
                self._outbox.clear()
                self._events.clear()
                self._publish_ends([])
                for future, _ in self._resolved:
                    if not future.done():
                        future.set_exception(RuntimeError("the engine could not commit; see its log"))
                self._resolved.clear()
                continue
            self._after_commit()
        self._after_commit()
        readiness.close()
        self.writer.close()

    def _round(self, ready: list) -> None:
        if self._wake_r in ready:
            try:
                while os.read(self._wake_r, 4096):
                    pass
            except BlockingIOError:
                pass
        poked = self._wake_socket.waitable in ready
        if poked:
            self._wake_socket.drain()
        self._run_commands()
        self.inbox.take(ready)
        now = time.monotonic()
        self.waits.expire(now)
        if poked or now >= self._next_poll:
            self._next_poll = now + _POLL_S
            control.poll_requests(self)
            for poll in self.on_poll:
                poll()
        self.scheduler.schedule()

    def _after_commit(self) -> None:
        outbox, self._outbox = self._outbox, []
        send_all(self.backend, outbox)
        resolved, self._resolved = self._resolved, []
        for future, value in resolved:
            if isinstance(value, BaseException):
                future.set_exception(value)
            else:
                future.set_result(value)
        events, self._events = self._events, []
        if events:
            self._bus.publish(events)
        self._publish_ends(events)

    def _publish_ends(self, events: list[ev.Event]) -> None:
        self._ends.published(events, (a.root_id for a in self.active.values()))

    def _timeout(self) -> float:
        deadline = self.waits.next_deadline()
        if deadline is None:
            return _POLL_S
        return min(_POLL_S, max(0.0, deadline - time.monotonic()))

    def _run_commands(self) -> None:
        while not self._commands.empty():  # only this thread takes from the queue
            fn, args, future = self._commands.get_nowait()
            try:
                self._resolved.append((future, fn(*args)))
            except Exception as exc:  # handed to the caller, after the round commits
                self._resolved.append((future, exc))

    def end_cancelled(self, active: Active) -> None:
        """A cancelled execution is done with its cleanup (or its process died). It ends with
        its last running child, so a cancelled tree ends bottom-up."""
        if any(c in self.active for c in active.children):
            active.cleaned_up = True
        else:
            self.finish(active, "cancelled", active.cancelling, kill=True)

    # -- executions -----------------------------------------------------------------------
    create = executions.create  # a new execution: its row, its Active, queued to run

    def enqueue(self, active: Active) -> None:
        self.scheduler.enqueue(active)

    def unqueue(self, active: Active) -> None:
        self.scheduler.unqueue(active)

    def set_status(self, active: Active, status: str, message: str | None = None) -> None:
        """A change between running and paused (the end goes through :meth:`finish`)."""
        now = time.time()
        first_start = status == "running" and not active.started
        active.status = status
        active.started = active.started or status == "running"
        self.writer.set_status(active.id, status, now, started=first_start)
        self._events.append(ev.StatusChanged(active.id, status, message, now))

    def finish(self, active: Active, status: str, message: str | None, traceback: str | None = None,
               *, kill: bool = False) -> None:
        now = time.time()
        if active.secrets:  # a connector's error may quote its password or URL
            message, traceback = redact.mask(message, active.secrets), redact.mask(traceback, active.secrets)
        self.writer.set_status(active.id, status, now, message=message, traceback=traceback, ended=True)
        self._events.append(ev.StatusChanged(active.id, status, message, now, traceback))
        self._ends.ending.add(active.id)  # before it leaves ``active``: see wait_ended
        del self.active[active.id]
        if active.worker is not None:
            self.scheduler.released(active)
        active.status = status
        self._recent.remember(active.summary(message))
        if active.worker is not None:
            if kill or active.worker.blocked or active.paused_by_signal:
                self.backend.kill(active.worker)
            else:
                self.backend.release(active.worker)
            active.worker = None
        parent = self.active.get(active.parent_id) if active.parent_id is not None else None
        if parent is not None:
            parent.children.discard(active.id)
            if parent.cleaned_up:
                self.end_cancelled(parent)
        for react in self.on_end:
            react(active)
        for waiter in active.waiters:
            self.waits.check(waiter)
        control.cancel_orphans(self, active, status)

    def summary(self, execution_id: int) -> dict:
        """id, status, message and label of any execution: running, recently ended, or stored."""
        active = self.active.get(execution_id)
        if active is not None:
            return active.summary()
        return self._recent.summary(execution_id, self.writer)

    def _shutdown(self) -> None:
        control.shut_down(self)
        self.journal.flush()
        self.writer.commit()
        self.backend.stop_all()
        self._stopping = True
