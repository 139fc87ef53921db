"""Waiting for an execution's end on the server's event loop, as a subscriber of the engine
(``Engine.subscribe``), instead of a thread blocked in ``Engine.wait`` per synchronous call:
20 callers waiting cost no threads and no wake-ups of every waiter at each end.

The end of a root is its own terminal status (the answer of a webhook call is that status,
its message and outputs, final once published), not the settling of children a failed root
is still cancelling, which ``Engine.wait`` also waits for."""

from __future__ import annotations

import asyncio
import collections
import threading

from .. import events as ev
from ..status import TERMINAL

_RECENT = 10_000  # ends seen before their caller started waiting (it was answered by submit first)


class Ends:
    def __init__(self, engine, loop: asyncio.AbstractEventLoop):
        self._loop = loop
        self._lock = threading.Lock()
        self._waiting: dict[int, asyncio.Future] = {}
        self._early: collections.OrderedDict[int, str] = collections.OrderedDict()
        self.close = engine.subscribe(self._on_event)

    def _on_event(self, event) -> None:
        # On the engine's thread, after the commit: short, never blocking.
        if type(event) is not ev.StatusChanged or event.status not in TERMINAL:
            return
        with self._lock:
            future = self._waiting.pop(event.id, None)
            if future is None:
                self._early[event.id] = event.status
                if len(self._early) > _RECENT:
                    self._early.popitem(last=False)
                return
        self._loop.call_soon_threadsafe(_resolve, future, event.status)

    async def wait(self, execution_id: int) -> str:
        """The terminal status of ``execution_id`` once its end is published."""
        with self._lock:
            status = self._early.pop(execution_id, None)
            if status is not None:
                return status
            future = self._loop.create_future()
            self._waiting[execution_id] = future
        try:
            return await future
        finally:
            with self._lock:
                self._waiting.pop(execution_id, None)


def _resolve(future: asyncio.Future, status: str) -> None:
    if not future.done():  # the caller may have gone (cancelled) meanwhile
        future.set_result(status)
