"""Setting locks: ``system.setting(name).acquire(timeout=)`` / ``release()``.

A lock is a row in ``locks`` (name, holder execution, holder's engine session), so engines
sharing a database exclude each other; within this engine the dispatcher grants it, waiters
first come, first served. A lock is released when its holder releases it or ends in any way
(success, error, crash, cancel: ``on_end``); locks of an engine that died go with its session
when the next engine starts. A lock held by another engine is retried at each poll."""

from __future__ import annotations

import collections
import time
from dataclasses import dataclass
from typing import TYPE_CHECKING

from flow_api import InvalidInputError, LockTimeoutError, PermissionDenied

from ..active import Active
from ..waits import Parked
from . import DEFER, Call

if TYPE_CHECKING:  # pragma: no cover
    from ..dispatcher import Dispatcher
    from . import WorkerCalls


@dataclass(eq=False)
class _LockWaiter(Parked):
    execution: Active


class LockTable:
    def __init__(self, d: "Dispatcher"):
        self._d = d
        self.holders: dict[str, int] = {}  # name -> execution id, for locks this engine granted
        self._waiting: dict[str, collections.deque[_LockWaiter]] = {}

    def acquire(self, call: Call, *, name, timeout=None):
        if not isinstance(name, str) or not name:
            raise InvalidInputError(f"a lock needs a setting name, not {name!r}")
        holder = self.holders.get(name)
        if holder == call.caller.id:
            return None  # already ours: acquiring again is harmless
        if holder is None and not self._waiting.get(name) and self._take(name, call.caller):
            return None
        waiter = _LockWaiter(call.worker, call.request_id, call.caller)
        self._waiting.setdefault(name, collections.deque()).append(waiter)
        waiter.park()
        self._d.journal.ref(call, lock=name)
        if timeout is not None:
            deadline = time.monotonic() + float(timeout)
            self._d.waits.add_timer(deadline, lambda: self._time_out(name, waiter, timeout))
        return DEFER

    def release(self, call: Call, *, name):
        if self.holders.get(name) != call.caller.id:
            raise PermissionDenied(f"execution {call.caller.label} does not hold the lock {name!r}; "
                                   "acquire() it before release()")
        self._free(name)

    def adopt(self, held: list[tuple[str, int]]) -> None:
        """Locks a dead engine's executions held, taken over with them (resume): ``(name,
        execution id)`` pairs whose rows now carry this engine's session."""
        for name, execution_id in held:
            self.holders[name] = execution_id

    def on_end(self, execution: Active) -> None:
        for name in [n for n, holder in self.holders.items() if holder == execution.id]:
            self._free(name)
        for name, queue in list(self._waiting.items()):
            for waiter in [w for w in queue if w.execution is execution]:
                queue.remove(waiter)
            if not queue:
                del self._waiting[name]

    def poll(self) -> None:
        """Locks held by another engine may have been freed meanwhile."""
        for name in [n for n in self._waiting if n not in self.holders]:
            self._grant_next(name)

    # -- internals ------------------------------------------------------------------------
    def _take(self, name: str, execution: Active) -> bool:
        if not self._d.writer.lock_insert(name, execution.id, self._d.session_id, time.time()):
            return False  # another engine holds it
        self.holders[name] = execution.id
        return True

    def _free(self, name: str) -> None:
        del self.holders[name]
        self._d.writer.lock_delete(name)
        self._grant_next(name)

    def _grant_next(self, name: str) -> None:
        queue = self._waiting.get(name)
        while queue:
            waiter = queue[0]
            if waiter.done or waiter.execution.id not in self._d.active:
                queue.popleft()  # ended, or a lost run's (its execution waits again elsewhere)
                continue
            if not self._take(name, waiter.execution):
                return
            queue.popleft()
            waiter.answer(self._d, None)
            break
        if queue is not None and not queue:
            self._waiting.pop(name, None)

    def _time_out(self, name: str, waiter: _LockWaiter, timeout) -> None:
        queue = self._waiting.get(name)
        if waiter.done or not queue or waiter not in queue:
            return
        queue.remove(waiter)
        if not queue:
            del self._waiting[name]
        waiter.refuse(self._d, LockTimeoutError(f"the lock {name!r} was not free within {timeout} s"))


def register(calls: "WorkerCalls", d: "Dispatcher") -> None:
    table = LockTable(d)
    d.locks = table  # resume adopts the locks of the executions it takes over (LockTable.adopt)
    calls.add("lock_acquire", table.acquire)
    calls.add("lock_release", table.release)
    d.on_end.append(table.on_end)
    d.on_poll.append(table.poll)
