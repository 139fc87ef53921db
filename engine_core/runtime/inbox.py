"""What workers send the dispatcher: flow API requests and notes (handed to ``ops/``), the
end of an execution, and their own death (read what they managed to send first); and what
the dispatcher sends them back once a round has committed (:func:`send_all`)."""

from __future__ import annotations

import select
from typing import TYPE_CHECKING

from .. import protocol
from .ops import WorkerCalls
from .pool import Worker, WorkerPool, describe_exit

if TYPE_CHECKING:  # pragma: no cover
    from .dispatcher import Dispatcher


class WorkerInbox:
    def __init__(self, d: "Dispatcher", calls: WorkerCalls):
        self._d = d
        self._calls = calls

    def drain(self, worker: Worker) -> None:
        """The worker's pipe is readable: handle what it sent (or notice that it died)."""
        try:
            messages = protocol.read_messages(worker.conn.fileno())
        except (EOFError, OSError):
            self.died(worker)
            return
        for message in messages:
            if worker.dead:  # it was killed (its execution ended by a cancel): the rest is moot
                break
            self._on_message(worker, message)

    def _on_message(self, worker: Worker, message: tuple) -> None:
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

    def died(self, worker: Worker) -> None:
        d = self._d
        if worker.dead:
            return
        # Read what it managed to send before dying (its last log lines, its result).
        try:
            readable = select.poll()
            readable.register(worker.conn.fileno(), select.POLLIN)
            while readable.poll(0):
                for message in protocol.read_messages(worker.conn.fileno()):
                    self._on_message(worker, message)
        except (EOFError, OSError):
            pass
        worker.process.join(timeout=1.0)
        exitcode = worker.process.exitcode
        execution_id = worker.execution_id
        d.pool.forget(worker)
        active = d.active.get(execution_id) if execution_id is not None else None
        if active is not None:
            if active.cancelling is not None:
                d.end_cancelled(active)
            else:
                d.finish(active, "error", describe_exit(exitcode))



def send_all(pool: WorkerPool, outbox: list[tuple[Worker, tuple]]) -> None:
    """Replies, runs and signals for workers, in order; a dead worker is skipped (its sentinel
    tells the next round). Protocol messages go with one write each (``protocol.send``)."""
    for worker, message in outbox:
        if worker.dead:
            continue
        if message[0] == "signal":
            pool.deliver(worker, message)
            continue
        try:
            protocol.send(worker.conn.fileno(), message)
        except OSError:
            pass
