"""The dispatcher: one thread that owns the worker pool and every database write.

Each round it waits for something to happen (a worker message, a worker's death, a command
from an API thread, a timer), handles all of it inside one transaction, commits, and only
then sends replies to workers and publishes events. So nothing is shown or acted on before
it is committed, and bursts of work share one commit (group commit)."""

from __future__ import annotations

import collections
import heapq
import itertools
import json
import logging
import os
import socket
import threading
import time
from concurrent.futures import Future
from multiprocessing.connection import wait as wait_for_ready
from queue import Empty, SimpleQueue
from typing import Any, Callable

from flow_api import FlowApiError

from .. import events as ev
from .. import protocol
from ..store import Store, Writer
from ..workspace import Workspace
from .active import Active, Waiter, execution_label
from .calls import DEFER, WorkerCalls
from .options import EngineOptions
from .pool import Worker, WorkerPool, describe_exit

log = logging.getLogger(__name__)

_CANCEL_POLL_S = 0.25
_RECENT_LIMIT = 10_000


class Dispatcher:
    def __init__(self, workspace: Workspace, store: Store, bus: ev.EventBus, options: EngineOptions):
        self.workspace = workspace
        self.options = options
        self._store = store
        self._bus = bus
        self.writer = Writer(store.engine)
        self.pool = WorkerPool(memory_limit_mb=options.memory_limit_mb, max_runs=options.worker_max_runs)
        self.active: dict[int, Active] = {}
        self._recent: collections.OrderedDict[int, dict] = collections.OrderedDict()
        self._root_queue: collections.deque[int] = collections.deque()
        self._child_queue: collections.deque[int] = collections.deque()
        self._running_roots = 0
        self._commands: SimpleQueue = SimpleQueue()
        self._wake_r, self._wake_w = os.pipe()
        os.set_blocking(self._wake_r, False)
        self._events: list[ev.Event] = []
        self._outbox: list[tuple[Worker, tuple]] = []
        self._resolved: list[tuple[Future, Any]] = []
        self._timers: list[tuple[float, int, Waiter]] = []
        self._timer_seq = itertools.count()
        self._next_cancel_poll = 0.0
        self._ended_cond = threading.Condition()
        self._ended: collections.OrderedDict[int, str] = collections.OrderedDict()
        self._calls = WorkerCalls(self)
        self._thread: threading.Thread | None = None
        self._stopping = False
        self.session_id: int | None = None

    # -- lifecycle (called from the owning thread) ----------------------------------------
    def start(self) -> None:
        self._store.reap_dead_sessions()
        self.session_id = self.writer.open_session(os.getpid(), socket.gethostname())
        self.writer.commit()
        for _ in range(self.options.warm_workers):
            self.pool.spawn()
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
        """Block until ``execution_id`` ends in this engine; its status, or None on timeout."""
        deadline = None if timeout is None else time.monotonic() + timeout
        with self._ended_cond:
            while execution_id not in self._ended:
                if execution_id not in self.active and execution_id not in self._ended:
                    return None  # not (or no longer) ours: the caller reads the store
                remaining = None if deadline is None else deadline - time.monotonic()
                if remaining is not None and remaining <= 0:
                    return None
                self._ended_cond.wait(remaining if remaining is not None else 0.5)
            return self._ended[execution_id]

    # -- the loop -------------------------------------------------------------------------
    def _run(self) -> None:
        while not self._stopping:
            ready = wait_for_ready([self._wake_r, *self.pool.waitables()], self._timeout())
            try:
                self._round(ready)
                self.writer.commit()
            except Exception:  # a database failure must not kill the engine thread silently
                log.exception("dispatcher round failed; rolling back")
                self.writer.rollback()
                self._outbox.clear()
                self._events.clear()
                for future, _ in self._resolved:
                    if not future.done():
                        future.set_exception(RuntimeError("the engine could not commit; see its log"))
                self._resolved.clear()
                continue
            self._after_commit()
        self._after_commit()
        self.writer.close()

    def _round(self, ready: list) -> None:
        if self._wake_r in ready:
            try:
                while os.read(self._wake_r, 4096):
                    pass
            except BlockingIOError:
                pass
        self._run_commands()
        dead = []
        for obj in ready:
            worker = self.pool.by_waitable(obj)
            if worker is None or worker.dead:
                continue
            if obj is worker.conn:
                self._drain(worker)
            else:
                dead.append(worker)
        for worker in dead:
            self._worker_died(worker)
        now = time.monotonic()
        self._expire_timers(now)
        if now >= self._next_cancel_poll:
            self._next_cancel_poll = now + _CANCEL_POLL_S
            for execution_id in self.writer.cancel_requests(self.session_id):
                if execution_id in self.active:
                    self.cancel_tree(self.active[execution_id], "cancelled by user")
        self._schedule()

    def _after_commit(self) -> None:
        outbox, self._outbox = self._outbox, []
        for worker, message in outbox:
            if worker.dead:
                continue
            try:
                worker.conn.send(message)
            except OSError:
                pass  # its death is noticed through its sentinel
        resolved, self._resolved = self._resolved, []
        for future, value in resolved:
            if isinstance(value, BaseException):
                future.set_exception(value)
            else:
                future.set_result(value)
        events, self._events = self._events, []
        if events:
            self._bus.publish(events)
            ended = [(e.id, e.status) for e in events if isinstance(e, ev.StatusChanged) and e.status in ("success", "error", "cancelled")]
            if ended:
                with self._ended_cond:
                    for execution_id, status in ended:
                        self._ended[execution_id] = status
                    while len(self._ended) > _RECENT_LIMIT:
                        self._ended.popitem(last=False)
                    self._ended_cond.notify_all()

    def _timeout(self) -> float:
        timeout = _CANCEL_POLL_S
        if self._timers:
            timeout = min(timeout, max(0.0, self._timers[0][0] - time.monotonic()))
        return timeout

    def _run_commands(self) -> None:
        while True:
            try:
                fn, args, future = self._commands.get_nowait()
            except Empty:
                return
            try:
                self._resolved.append((future, fn(*args)))
            except Exception as exc:  # handed to the caller, after the round commits
                self._resolved.append((future, exc))

    # -- worker messages ------------------------------------------------------------------
    def _drain(self, worker: Worker) -> None:
        try:
            while not worker.dead and worker.conn.poll():
                self._on_message(worker, worker.conn.recv())
        except (EOFError, OSError):
            self._worker_died(worker)

    def _on_message(self, worker: Worker, message: tuple) -> None:
        kind = message[0]
        if kind == protocol.NOTE:
            _, execution_id, op, payload = message
            self._calls.note(execution_id, op, payload)
        elif kind == protocol.CALL:
            _, request_id, execution_id, op, payload = message
            try:
                result = self._calls.call(worker, request_id, execution_id, op, payload)
            except FlowApiError as exc:
                self.reply(worker, request_id, False, (type(exc).__name__, str(exc)))
            except Exception as exc:  # a bug here must reach the flow as an error, not hang it
                log.exception("flow API call %s failed", op)
                self.reply(worker, request_id, False, ("FlowApiError", f"engine error in {op}: {exc}"))
            else:
                if result is not DEFER:
                    self.reply(worker, request_id, True, result)
        elif kind == protocol.DONE:
            _, execution_id, status, message_text, traceback, retire = message
            worker.retiring = retire
            active = self.active.get(execution_id)
            if active is not None and (active.worker is worker or active.inline):
                self.finish(active, status, message_text, traceback)

    def reply(self, worker: Worker, request_id: int, ok: bool, value: Any) -> None:
        self._outbox.append((worker, (protocol.REPLY, request_id, ok, value)))

    def _worker_died(self, worker: Worker) -> None:
        if worker.dead:
            return
        # Read what it managed to send before dying (its last log lines, its result).
        try:
            while worker.conn.poll():
                self._on_message(worker, worker.conn.recv())
        except (EOFError, OSError):
            pass
        worker.process.join(timeout=1.0)
        exitcode = worker.process.exitcode
        execution_id = worker.execution_id
        self.pool.forget(worker)
        active = self.active.get(execution_id) if execution_id is not None else None
        if active is not None:
            self.finish(active, "error", describe_exit(exitcode))

    # -- executions -----------------------------------------------------------------------
    def create(self, *, flow: str, name: str | None, kind: str, inputs: str, mode: str,
               parent: Active | None, path: str | None, source: str | None, inline: bool = False) -> Active:
        now = time.time()
        name = name or flow
        execution_id = self.writer.create_execution(
            flow=flow, name=name, kind=kind, mode=mode, inputs=inputs,
            parent_id=parent.id if parent else None, root_id=parent.root_id if parent else None,
            session_id=self.session_id, at=now,
        )
        active = Active(
            id=execution_id, parent_id=parent.id if parent else None,
            root_id=parent.root_id if parent else execution_id, flow=flow, name=name, kind=kind,
            mode=mode, inputs=inputs, path=path, source=source, depth=(parent.depth + 1) if parent else 0,
            inline=inline,
        )
        self.active[execution_id] = active
        if parent is not None:
            parent.children.add(execution_id)
        if inline:
            pass  # its parent's worker runs it: it is marked running by the caller
        elif parent is not None:
            self._child_queue.append(execution_id)
        else:
            self._root_queue.append(execution_id)
        self._events.append(ev.ExecutionCreated(
            id=execution_id, parent_id=active.parent_id, root_id=active.root_id, flow=flow, name=name,
            kind=kind, status="queued", inputs=json.loads(inputs), at=now,
        ))
        return active

    def mark_running(self, active: Active) -> None:
        now = time.time()
        active.status = "running"
        self.writer.set_status(active.id, "running", now, started=True)
        self._events.append(ev.StatusChanged(active.id, "running", None, now))

    def note_debug_listening(self, active: Active, host: str, port: int) -> None:
        active.debug_address = (host, port)
        self._events.append(ev.DebugListening(active.id, host, port))

    def finish(self, active: Active, status: str, message: str | None, traceback: str | None = None,
               *, kill: bool = False) -> None:
        now = time.time()
        self.writer.set_status(active.id, status, now, message=message, traceback=traceback, ended=True)
        self._events.append(ev.StatusChanged(active.id, status, message, now, traceback))
        del self.active[active.id]
        if active.parent_id is None and active.worker is not None:
            self._running_roots -= 1
        active.status = status
        self._remember(active.summary(message))
        if active.worker is not None:
            if kill or active.worker.blocked:
                self.pool.kill(active.worker)
            else:
                self.pool.release(active.worker)
            active.worker = None
        parent = self.active.get(active.parent_id) if active.parent_id is not None else None
        if parent is not None:
            parent.children.discard(active.id)
        for waiter in active.waiters:
            self.check_waiter(waiter)
        if status != "success":
            for child_id in list(active.children):
                child = self.active.get(child_id)
                if child is not None:
                    self.cancel_tree(child, f"parent execution {active.label} ended in {status}")

    def cancel_tree(self, active: Active, message: str, *, within_tree: bool = False) -> None:
        """Cancel ``active`` and its running descendants, deepest first."""
        if active.inline and not within_tree:
            # It runs on its ancestor's thread (debugging): only killing that process stops it.
            host = active
            while host.inline and host.parent_id in self.active:
                host = self.active[host.parent_id]
            if host is not active:
                self.cancel_tree(host, message)
                return
        for child_id in list(active.children):
            child = self.active.get(child_id)
            if child is not None:
                self.cancel_tree(child, f"parent execution {active.label} was cancelled", within_tree=True)
        if active.id not in self.active:
            return
        if active.worker is None:
            queue = self._child_queue if active.parent_id is not None else self._root_queue
            try:
                queue.remove(active.id)
            except ValueError:
                pass
        self.finish(active, "cancelled", message, kill=True)

    def summary(self, execution_id: int) -> dict:
        active = self.active.get(execution_id)
        if active is not None:
            return active.summary()
        if execution_id in self._recent:
            return self._recent[execution_id]
        row = self.writer.execution_fields(execution_id)
        if row is None:
            raise LookupError(execution_id)
        return {"id": row["id"], "status": row["status"], "message": row["message"],
                "label": execution_label(row["id"], row["name"], row["flow"])}

    def _remember(self, summary: dict) -> None:
        self._recent[summary["id"]] = summary
        while len(self._recent) > _RECENT_LIMIT:
            self._recent.popitem(last=False)

    # -- waiting --------------------------------------------------------------------------
    def add_waiter(self, waiter: Waiter) -> None:
        waiter.worker.blocked = True
        for execution_id in waiter.ids:
            active = self.active.get(execution_id)
            if active is not None:
                active.waiters.append(waiter)
        if waiter.deadline is not None:
            heapq.heappush(self._timers, (waiter.deadline, next(self._timer_seq), waiter))
        self.check_waiter(waiter)

    def check_waiter(self, waiter: Waiter, *, expired: bool = False) -> None:
        if waiter.done:
            return
        if not expired and any(i in self.active for i in waiter.ids):
            return
        waiter.done = True
        waiter.worker.blocked = False
        summaries = [self.summary(i) for i in waiter.ids]
        self.reply(waiter.worker, waiter.request_id, True, summaries[0] if waiter.single else summaries)

    def _expire_timers(self, now: float) -> None:
        while self._timers and self._timers[0][0] <= now:
            _, _, waiter = heapq.heappop(self._timers)
            self.check_waiter(waiter, expired=True)

    # -- scheduling -----------------------------------------------------------------------
    def _schedule(self) -> None:
        # Children first: their parents hold workers while they wait.
        while self._child_queue:
            worker = self._obtain_worker()
            if worker is None:
                break
            self._dispatch(self._child_queue.popleft(), worker)
        while self._root_queue and self._running_roots < self.options.max_parallel:
            debug = self.active[self._root_queue[0]].mode == "development"
            # A debugged execution gets a process of its own, which it does not give back.
            worker = self.pool.spawn() if debug else self._obtain_worker()
            if worker is None:
                break
            worker.retiring = debug
            self._dispatch(self._root_queue.popleft(), worker)
        while len(self.pool.idle) < self.options.warm_workers and self.pool.counted() < self.options.max_workers:
            self.pool.release(self.pool.spawn())

    def _obtain_worker(self) -> Worker | None:
        worker = self.pool.take_idle()
        if worker is None and self.pool.counted() < self.options.max_workers:
            worker = self.pool.spawn()
        return worker

    def _dispatch(self, execution_id: int, worker: Worker) -> None:
        active = self.active[execution_id]
        now = time.time()
        active.status = "running"
        active.worker = worker
        worker.execution_id = execution_id
        if active.parent_id is None:
            self._running_roots += 1
        self.writer.set_status(execution_id, "running", now, started=True)
        self._events.append(ev.StatusChanged(execution_id, "running", None, now))
        debug = active.mode == "development"
        self._outbox.append((worker, (protocol.RUN, execution_id, active.kind, active.flow, active.path,
                                      active.source, active.inputs, debug)))

    def _shutdown(self) -> None:
        for active in [a for a in self.active.values() if a.parent_id is None or a.parent_id not in self.active]:
            if active.id in self.active:
                self.cancel_tree(active, "cancelled: the engine shut down")
        self.writer.close_session(self.session_id)
        self.writer.commit()
        self.pool.stop_all()
        self._stopping = True
