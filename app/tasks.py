"""Work off the GUI thread: run a function in Qt's thread pool and get its result back on the
GUI thread. Errors come back as a message (never a traceback dialog)."""

from __future__ import annotations

import logging
import traceback
from typing import Any, Callable

import shiboken6
from PySide6.QtCore import QObject, QRunnable, QThreadPool, Signal, Slot

from engine_core.errors import FlowdeskError

log = logging.getLogger(__name__)


class _Courier(QObject):
    """Lives on the GUI thread; a signal emitted from any thread is delivered here, queued."""

    post = Signal(object, object, object)

    def __init__(self) -> None:
        super().__init__()
        self.post.connect(self._deliver)

    @Slot(object, object, object)
    def _deliver(self, callback: Callable[[Any], None], value: Any, owner: QObject | None) -> None:
        # A result that arrives after its widget was destroyed (a closed window) has no one to
        # show it to; calling back would touch deleted C++ objects.
        if owner is None or shiboken6.isValid(owner):
            callback(value)


_courier: _Courier | None = None


def courier() -> _Courier:
    """Create on first use, which happens on the GUI thread (the main window makes one)."""
    global _courier
    if _courier is None:
        _courier = _Courier()
    return _courier


def call_on_gui_thread(callback: Callable[[Any], None], value: Any = None, owner: QObject | None = None) -> None:
    """Call ``callback(value)`` on the GUI thread, unless ``owner`` was destroyed by then. After
    the application is gone (the IDE is quitting) there is no GUI left to call: dropped."""
    target = courier()
    if shiboken6.isValid(target):
        target.post.emit(callback, value, owner)


def finish_background_work(timeout_ms: int = 10000) -> bool:
    """Wait for the pool's tasks before the process ends: one still running during the
    interpreter's teardown finds multiprocessing's forkserver stopped under it."""
    return QThreadPool.globalInstance().waitForDone(timeout_ms)


class _Task(QRunnable):
    def __init__(self, fn, args, on_done, on_error, owner):
        super().__init__()
        self._fn, self._args, self._on_done, self._on_error = fn, args, on_done, on_error
        self._owner = owner

    def run(self) -> None:
        try:
            result = self._fn(*self._args)
        except FlowdeskError as exc:
            self._report(str(exc))
        except Exception as exc:  # shown as a message; the traceback goes to the log
            log.error("background task failed:\n%s", traceback.format_exc())
            self._report(f"{type(exc).__name__}: {exc}")
        else:
            if self._on_done is not None:
                call_on_gui_thread(self._on_done, result, self._owner)

    def _report(self, message: str) -> None:
        if self._on_error is not None:
            call_on_gui_thread(self._on_error, message, self._owner)
        else:
            log.error("background task failed: %s", message)


def run_in_background(fn: Callable[..., Any], *args: Any, on_done: Callable[[Any], None] | None = None,
                      on_error: Callable[[str], None] | None = None, owner: QObject | None = None) -> None:
    """Run ``fn(*args)`` on a pool thread; ``on_done(result)`` or ``on_error(message)`` follow
    on the GUI thread, unless ``owner`` was destroyed meanwhile."""
    courier()  # make sure it exists on this (the GUI) thread before a worker needs it
    QThreadPool.globalInstance().start(_Task(fn, args, on_done, on_error, owner))
