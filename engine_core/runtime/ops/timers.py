"""``this.sleep(seconds)`` and ``this.sleep_until(when)``: the engine parks the request and
answers it when the wall-clock time comes.

The sleeping worker is *blocked* (it does not hold a worker slot, like a wait for a child).
The deadline is wall-clock (``time.time()``), so a resumed execution sleeps only the time
that is left (downtime counts). A cancel still interrupts: the worker's wait for the reply is
cut by SIGTERM, and the timer then finds its execution gone."""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import TYPE_CHECKING

from flow_api import InvalidInputError

from ..active import Active
from ..waits import Parked
from . import DEFER, Call

if TYPE_CHECKING:  # pragma: no cover
    from ..dispatcher import Dispatcher
    from . import WorkerCalls


@dataclass(eq=False)
class _Sleeper(Parked):
    execution: Active


def register(calls: "WorkerCalls", d: "Dispatcher") -> None:
    def park_until(call: Call, until: float):
        left = until - time.time()
        if left <= 0:
            return None
        sleeper = _Sleeper(call.worker, call.request_id, call.caller)
        sleeper.park()
        d.journal.ref(call, until=until)
        d.waits.add_timer(time.monotonic() + left, lambda: wake(sleeper))
        return DEFER

    def wake(sleeper: _Sleeper) -> None:
        if sleeper.done or d.active.get(sleeper.execution.id) is not sleeper.execution:
            return  # cancelled (or ended) meanwhile
        sleeper.answer(d, None)

    def sleep(call: Call, *, seconds=None, until=None):
        if until is None:
            try:
                until = time.time() + float(seconds)
            except (TypeError, ValueError):
                raise InvalidInputError(f"sleep takes seconds as a number, not {seconds!r}") from None
        return park_until(call, float(until))

    def reattach(call: Call, ref: dict, **payload):
        return park_until(call, float(ref["until"]))  # only the time that is left

    for op in ("sleep", "sleep_until"):
        calls.add(op, sleep)
        d.journal.reattacher(op, reattach)
