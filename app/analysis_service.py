"""Linting and completion in a separate process.

``ast.parse``, pyflakes and jedi hold the GIL for tens (jedi: hundreds) of milliseconds at a
time; in a thread of the IDE's process that freezes the GUI just as surely as running them
on the GUI thread. A single warm helper process keeps the GUI fluid."""

from __future__ import annotations

import gc
import logging
import os
from concurrent.futures import Future, ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from typing import Any, Callable

from engine_core.lifeline import exit_when_gone
from engine_core.runtime.pool import mp_context

from .tasks import call_on_gui_thread, courier

log = logging.getLogger(__name__)


def _start_helper(owner_pid: int) -> None:
    exit_when_gone(owner_pid)
    import engine_core.analysis.completion  # noqa: F401
    import engine_core.analysis.lint  # noqa: F401


def _without_gc(fn: Callable[..., Any], *args: Any) -> Any:
    # Parsing a large flow allocates hundreds of thousands of AST nodes, which triggers many
    # garbage collections that find nothing to free (~12% of a 3,000-line lint). Reference
    # counting still frees everything; the cycle collector runs again right after.
    gc.disable()
    try:
        return fn(*args)
    finally:
        gc.enable()


class AnalysisService:
    def __init__(self) -> None:
        self._executor: ProcessPoolExecutor | None = None

    def _pool(self) -> ProcessPoolExecutor:
        if self._executor is None:
            self._executor = ProcessPoolExecutor(max_workers=1, mp_context=mp_context(), initializer=_start_helper,
                                                 initargs=(os.getpid(),))
        return self._executor

    def start(self) -> None:
        """Start the process now (in the background), so the first lint is fast."""
        self._pool().submit(int)

    def submit(self, fn: Callable[..., Any], *args: Any, on_done: Callable[[Any], None], owner=None) -> None:
        """Run ``fn(*args)`` in the helper process; ``on_done(result)`` on the GUI thread unless
        ``owner`` (a QObject) was destroyed meanwhile."""
        courier()
        try:
            future = self._pool().submit(_without_gc, fn, *args)
        except BrokenProcessPool:
            self._executor = None  # the helper died (e.g. killed): start a new one
            future = self._pool().submit(_without_gc, fn, *args)
        future.add_done_callback(lambda f: self._finished(f, on_done, owner))

    def _finished(self, future: Future, on_done: Callable[[Any], None], owner) -> None:
        if future.cancelled():
            return
        error = future.exception()
        if error is not None:
            if isinstance(error, BrokenProcessPool):
                self._executor = None
            log.warning("analysis failed: %s", error)  # linting is best effort; the next keystroke retries
            return
        call_on_gui_thread(on_done, future.result(), owner)

    def shutdown(self) -> None:
        if self._executor is not None:
            self._executor.shutdown(wait=False, cancel_futures=True)
            self._executor = None


_service: AnalysisService | None = None


def analysis() -> AnalysisService:
    global _service
    if _service is None:
        _service = AnalysisService()
    return _service
