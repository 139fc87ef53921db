"""Flows waiting for executions to end (``this.flow`` with wait, ``child.wait()``,
``this.wait_for``), and the dispatcher's timers (wait and lock timeouts, cancel grace).

A waiting worker is *blocked*: it does not count against ``max_workers``, so a tree deeper
than the pool still runs. Its reply goes out when the wait is satisfied or its deadline
passes; the flow side decides what a timeout means."""

from __future__ import annotations

import heapq
import itertools
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Callable

from flow_api import EngineException

if TYPE_CHECKING:  # pragma: no cover
    from .backends import Handle as Worker
    from .dispatcher import Dispatcher

_FAILED = ("error", "cancelled")


@dataclass(eq=False)
class Parked:
    """A flow's request answered later: a wait for executions, a lock, a form, ``this.pause()``.
    While parked its worker is *blocked*: it does not count against ``max_workers`` (on a
    cluster its task gives its thread back). It is listed on its worker (``worker.parked``):
    when a cluster loses that worker and the execution is resumed elsewhere, the lost run's
    parked requests are marked done at once, so none is answered (or granted a lock) later."""

    worker: "Worker"
    request_id: int
    done: bool = field(default=False, kw_only=True)

    def park(self) -> None:
        self.worker.blocked = True
        self.worker.parked.append(self)

    def answer(self, d: "Dispatcher", value: Any) -> None:
        self._unpark()
        d.reply(self.worker, self.request_id, True, value)

    def refuse(self, d: "Dispatcher", error: EngineException) -> None:
        self._unpark()
        d.reply_error(self.worker, self.request_id, error)

    def _unpark(self) -> None:
        self.done = True
        self.worker.blocked = False
        try:
            self.worker.parked.remove(self)  # an execution's calls come one at a time: a short list
        except ValueError:
            pass


@dataclass(eq=False)
class Waiter(Parked):
    """A flow waiting until some executions end.

    ``mode``: ``all`` (every one ended), ``first`` (one ended), ``all_succeeded`` (every one
    ended, or one failed: the flow raises for it at once)."""

    ids: list[int]
    single: bool
    deadline: float | None = None
    mode: str = "all"


class Waits:
    def __init__(self, dispatcher: "Dispatcher"):
        self._d = dispatcher
        self._timers: list[tuple[float, int, Callable[[], None]]] = []
        self._seq = itertools.count()

    # -- timers -----------------------------------------------------------------------------
    def add_timer(self, deadline: float, callback: Callable[[], None]) -> None:
        """Call ``callback()`` on the dispatcher thread once ``time.monotonic()`` passes ``deadline``."""
        heapq.heappush(self._timers, (deadline, next(self._seq), callback))

    def next_deadline(self) -> float | None:
        return self._timers[0][0] if self._timers else None

    def expire(self, now: float) -> None:
        while self._timers and self._timers[0][0] <= now:
            _, _, callback = heapq.heappop(self._timers)
            callback()

    # -- waiting for executions -------------------------------------------------------------
    def add(self, waiter: Waiter) -> None:
        d = self._d
        waiter.park()
        for execution_id in waiter.ids:
            active = d.active.get(execution_id)
            if active is not None:
                active.waiters.append(waiter)
        if waiter.deadline is not None:
            self.add_timer(waiter.deadline, lambda: self.check(waiter, expired=True))
        self.check(waiter)

    def check(self, waiter: Waiter, *, expired: bool = False) -> None:
        if waiter.done:
            return
        d = self._d
        if not expired and not self._satisfied(waiter):
            return
        summaries = [d.summary(i) for i in waiter.ids]
        waiter.answer(d, summaries[0] if waiter.single else summaries)

    def _satisfied(self, waiter: Waiter) -> bool:
        running = [i for i in waiter.ids if i in self._d.active]
        if not running:
            return True
        if waiter.mode == "first":
            return len(running) < len(waiter.ids)
        if waiter.mode == "all_succeeded":
            ended = (self._d.summary(i)["status"] for i in waiter.ids if i not in self._d.active)
            return any(status in _FAILED for status in ended)
        return False


__all__ = ["Parked", "Waiter", "Waits"]
