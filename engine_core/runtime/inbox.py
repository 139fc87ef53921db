"""What workers send the dispatcher: flow API requests and notes (handed to ``ops/``), the
end of an execution, and their own death (read what they managed to send first); and what
the dispatcher sends them back once a round has committed (:func:`send_all`)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from .. import protocol
from . import resume
from .ops import WorkerCalls

if TYPE_CHECKING:  # pragma: no cover
    from .backends import ExecutionBackend, Handle as Worker
    from .dispatcher import Dispatcher


class WorkerInbox:
    def __init__(self, d: "Dispatcher", calls: WorkerCalls):
        self._d = d
        self._calls = calls

    def take(self, ready: list) -> None:
        """Handle what the ready waitables say: the backend's own (a cluster's sockets and
        heartbeats, which may report handles dead), each handle's frames, and the deaths its
        sentinel shows. The dispatcher's round and a stopping engine's wait share this."""
        backend = self._d.backend
        dead = backend.poll(ready)
        for obj in ready:
            worker = backend.by_waitable(obj)
            if worker is None or worker.dead:
                continue
            if obj is worker.conn:
                self.drain(worker)
            else:
                dead.append(worker)
        for worker in dead:
            self.died(worker)

    def drain(self, worker: "Worker") -> None:
        """The worker's pipe is readable: handle what it sent (or notice that it died)."""
        try:
            messages = worker.read()
        except (EOFError, OSError):
            self.died(worker)
            return
        for message in messages:
            if worker.dead:  # it was killed (its execution ended by a cancel): the rest is moot
                break
            self._on_message(worker, message)

    def _on_message(self, worker: "Worker", message: tuple) -> None:
        d = self._d
        kind = message[0]
        if kind in (protocol.NOTE, protocol.CALL):
            self._calls.receive(worker, message)
        elif kind == protocol.DONE:
            _, execution_id, status, message_text, traceback, retire = message
            worker.retiring = retire
            active = d.active.get(execution_id)
            if active is not None and (active.worker is worker or active.inline):
                if active.cancelling is None:
                    d.finish(active, status, message_text, traceback)
                else:  # whatever the flow did after the cancel, it was cancelled
                    d.end_cancelled(active)

    def died(self, worker: "Worker") -> None:
        """The worker is gone: handle what it managed to send before dying (its last log lines,
        its result), then end its execution with the reason; a durable one whose machine was
        lost (not the flow's own crash) is resumed on another worker when it may be."""
        d = self._d
        if worker.dead:
            return
        for message in worker.read_final():
            self._on_message(worker, message)
        execution_id = worker.execution_id
        exit = d.backend.exited(worker)
        active = d.active.get(execution_id) if execution_id is not None else None
        if active is None:
            return
        if active.cancelling is not None:
            d.end_cancelled(active)
            return
        if exit.lost:  # its machine went, not the flow (a cluster's worker)
            refused = resume.resume_elsewhere(d, active, exit.message)
            if refused is not None:
                d.finish(active, exit.status, exit.message + refused)
            return
        d.finish(active, exit.status, exit.message)


def send_all(backend: "ExecutionBackend", outbox: list[tuple["Worker", tuple]]) -> None:
    """Replies, runs and signals for workers, in order, then the backend's flush (a cluster's
    hints); a dead worker is skipped (its death tells the next round)."""
    deliver = backend.deliver
    for worker, message in outbox:
        deliver(worker, message)
    backend.flush()
