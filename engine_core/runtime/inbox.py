"""What workers send the dispatcher: flow API requests and notes (handed to ``ops/``), the
end of an execution, and their own death (read what they managed to send first)."""

from __future__ import annotations

import os
import pickle
import select
import struct
from typing import TYPE_CHECKING

from .. import protocol
from .ops import WorkerCalls
from .pool import Worker, describe_exit

if TYPE_CHECKING:  # pragma: no cover
    from .dispatcher import Dispatcher

_SIZE = struct.Struct("!i")  # multiprocessing.Connection's frame: this length (or -1 and a "!Q" one), then a pickle
_HUGE = struct.Struct("!Q")
_READ = 1 << 16


class WorkerInbox:
    def __init__(self, d: "Dispatcher", calls: WorkerCalls):
        self._d = d
        self._calls = calls

    def drain(self, worker: Worker) -> None:
        """The worker's pipe is readable: handle what it sent (or notice that it died)."""
        try:
            messages = read_messages(worker.conn.fileno())
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
                for message in read_messages(worker.conn.fileno()):
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


def read_messages(fd: int) -> list:
    """Every whole message a readable pipe holds, usually from one read.

    ``Connection.poll()`` builds a selector on each call and ``recv()`` reads a frame's length
    and its body apart: three syscalls and ~15 us for each message, on the dispatcher thread
    that every waiting execution waits for. The frames stay ``multiprocessing.Connection``'s,
    so the worker's end is a plain Connection. A message not wholly arrived yet is read to its
    end (blocking, as ``Connection.recv`` would); EOFError when the pipe is closed."""
    data = os.read(fd, _READ)
    if not data:
        raise EOFError
    messages, at = [], 0
    while at < len(data):
        data = _at_least(fd, data, at + _SIZE.size)
        (size,) = _SIZE.unpack_from(data, at)
        at += _SIZE.size
        if size == -1:
            data = _at_least(fd, data, at + _HUGE.size)
            (size,) = _HUGE.unpack_from(data, at)
            at += _HUGE.size
        data = _at_least(fd, data, at + size)
        messages.append(pickle.loads(data[at:at + size]))
        at += size
    return messages


def _at_least(fd: int, data: bytes, length: int) -> bytes:
    while len(data) < length:
        more = os.read(fd, max(length - len(data), _READ))
        if not more:
            raise OSError("a worker's pipe ended in the middle of a message")
        data += more
    return data
