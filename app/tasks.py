"""Work off the GUI thread: run a function in Qt's thread pool and get its result back on the
GUI thread. Errors come back as a message (never a traceback dialog)."""

from __future__ import annotations

import logging
import traceback
from typing import Any, Callable

from PySide6.QtCore import QObject, QRunnable, QThreadPool, Signal, Slot

from engine_core.errors import FlowdeskError

log = logging.getLogger(__name__)


class _Courier(QObject):
    """Lives on the GUI thread; a signal emitted from any thread is delivered here, queued."""

    post = Signal(object, object)

    def __init__(self) -> None:
        super().__init__()
        self.post.connect(self._deliver)

    @Slot(object, object)
    def _deliver(self, callback: Callable[[Any], None], value: Any) -> None:
        callback(value)


_courier: _Courier | None = None


def courier() -> _Courier:
    """Create on first use, which happens on the GUI thread (the main window makes one)."""
    global _courier
    if _courier is None:
        _courier = _Courier()
    return _courier


def call_on_gui_thread(callback: Callable[[Any], None], value: Any = None) -> None:
    courier().post.emit(callback, value)


class _Task(QRunnable):
    def __init__(self, fn, args, on_done, on_error):
        super().__init__()
        self._fn, self._args, self._on_done, self._on_error = fn, args, on_done, on_error

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
                call_on_gui_thread(self._on_done, result)

    def _report(self, message: str) -> None:
        if self._on_error is not None:
            call_on_gui_thread(self._on_error, message)
        else:
            log.error("background task failed: %s", message)


def run_in_background(fn: Callable[..., Any], *args: Any, on_done: Callable[[Any], None] | None = None,
                      on_error: Callable[[str], None] | None = None) -> None:
    courier()  # make sure it exists on this (the GUI) thread before a worker needs it
    QThreadPool.globalInstance().start(_Task(fn, args, on_done, on_error))
