"""Telling threads that wait in ``Engine.wait`` when an execution has ended.

An end counts once its events were *published* (not only committed): a caller that returns
from ``Engine.wait`` and then looks at its subscribers' view must find the end there. And a
root counts once its whole tree has ended when it ended in error or was cancelled (its
children are being cancelled then and may still run their cleanup): what a wait for such a
root returns to is final. A root that succeeded counts at once: children it started with
``wait=False`` may go on running after it, as they do in Cloudomation."""

from __future__ import annotations

import collections
import threading
import time
from typing import Iterable

from ..status import TERMINAL
from .. import events as ev

_RECENT_LIMIT = 10_000


class EndNotices:
    def __init__(self) -> None:
        self._cond = threading.Condition()
        self._ended: collections.OrderedDict[int, str] = collections.OrderedDict()
        self.ending: set[int] = set()  # left ``active`` this round; not yet published
        self._settling: dict[int, str] = {}  # roots whose descendants still run
        # Executions some thread waits for: a round wakes only their waiters. Woken at every
        # end, a thread waiting for a root took the GIL from the dispatcher once per child.
        self._awaited: collections.Counter[int] = collections.Counter()

    def wait(self, execution_id: int, timeout: float | None, is_active) -> str | None:
        """Block until ``execution_id`` has ended here and that was published; its status, or
        None on timeout or when it is not (or no longer) this engine's (``is_active`` says)."""
        deadline = None if timeout is None else time.monotonic() + timeout
        with self._cond:
            self._awaited[execution_id] += 1
            try:
                while execution_id not in self._ended:
                    if not is_active(execution_id) and execution_id not in self.ending \
                            and execution_id not in self._settling:
                        return None  # not ours, or ended before this wait: the caller reads the store
                    remaining = None if deadline is None else deadline - time.monotonic()
                    if remaining is not None and remaining <= 0:
                        return None
                    self._cond.wait(remaining if remaining is not None else 0.5)
                return self._ended[execution_id]
            finally:
                self._awaited[execution_id] -= 1
                if not self._awaited[execution_id]:
                    del self._awaited[execution_id]

    def published(self, events: list[ev.Event], running_roots: Iterable[int]) -> None:
        """After a round's events went out (or after a rolled-back round, with none)."""
        ended = [(e.id, e.status) for e in events if isinstance(e, ev.StatusChanged) and e.status in TERMINAL]
        if not ended and not self.ending and not self._settling:
            return
        running = set(running_roots) if (ended or self._settling) else set()
        with self._cond:
            changed = set(self.ending)  # ended, or (a rolled-back round) not ending any more
            for execution_id, status in ended:
                changed.add(execution_id)
                if status == "success":
                    self._ended[execution_id] = status
                else:
                    self._settling[execution_id] = status
            for execution_id, status in list(self._settling.items()):
                if execution_id not in running:
                    changed.add(execution_id)
                    del self._settling[execution_id]
                    self._ended[execution_id] = status
            while len(self._ended) > _RECENT_LIMIT:
                self._ended.popitem(last=False)
            self.ending.clear()
            if not changed.isdisjoint(self._awaited):
                self._cond.notify_all()
