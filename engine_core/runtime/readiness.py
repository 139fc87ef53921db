"""Waiting for any of the dispatcher's pipes, sockets and worker sentinels to be ready.

``multiprocessing.connection.wait`` builds a new selector and registers every object on
each call: with a pool of workers that is a third of a round's time. This keeps one selector
and registers only what changed since the last round."""

from __future__ import annotations

import selectors
from typing import Iterable


class Readiness:
    def __init__(self) -> None:
        self._selector = selectors.DefaultSelector()
        self._registered: dict[object, int] = {}
        self._last: list[object] = []

    def wait(self, objects: Iterable[object], timeout: float | None) -> list[object]:
        objects = list(objects)
        if objects != self._last:  # most rounds: the same pipes as the last one
            self._update(objects)
        return [key.data for key, _ in self._selector.select(timeout)]

    def _update(self, objects: list[object]) -> None:
        self._last = objects
        wanted = {obj: None for obj in objects}  # dict: ordered and deduplicated
        for obj in [o for o in self._registered if o not in wanted]:
            try:
                self._selector.unregister(self._registered.pop(obj))
            except (KeyError, ValueError, OSError):
                pass
        for obj in wanted:
            if obj in self._registered:
                continue
            try:
                fd = obj if isinstance(obj, int) else obj.fileno()
                self._selector.register(fd, selectors.EVENT_READ, obj)
            except (KeyError, ValueError, OSError):
                continue  # closed meanwhile: its sentinel reports it
            self._registered[obj] = fd

    def close(self) -> None:
        self._selector.close()
