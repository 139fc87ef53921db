"""Linting and completion in a separate process.

``ast.parse``, pyflakes and jedi hold the GIL for tens (jedi: hundreds) of milliseconds at a
time; in a thread of the IDE's process that freezes the GUI just as surely as running them
on the GUI thread. A single warm helper process keeps the GUI fluid.

The helper is one process and one pipe, driven by one thread of the IDE that sends a job and
waits for its answer. (It was a ProcessPoolExecutor: its queues hold five named POSIX
semaphores, which an IDE ending without Python's exit handlers — a crash, a kill, os._exit —
left behind for the resource tracker to report as "leaked semaphore objects". A pipe is no
named resource: nothing outlives the processes.)"""

from __future__ import annotations

import atexit
import gc
import logging
import os
import queue
import threading
import time
from typing import Any, Callable

from engine_core.lifeline import exit_when_gone
from engine_core.runtime.pool import mp_context

from .tasks import call_on_gui_thread, courier

log = logging.getLogger(__name__)

HELPER_NAME = "flowdesk-analysis"
_STOP = None  # the job that ends the sending thread
_RESTART_DELAY_S = 5


def _helper_main(conn, owner_pid: int) -> None:
    """The helper process: answer ``(fn, args)`` jobs until the IDE closes the pipe."""
    exit_when_gone(owner_pid)
    import engine_core.analysis.completion  # noqa: F401
    import engine_core.analysis.lint  # noqa: F401

    while True:
        try:
            fn, args = conn.recv()
        except (EOFError, OSError):
            return
        try:
            answer = (True, _without_gc(fn, *args))
        except Exception as exc:  # reported in the IDE's log; the next job runs as usual
            answer = (False, f"{type(exc).__name__}: {exc}")
        try:
            conn.send(answer)
        except (EOFError, OSError):
            return
        except Exception as exc:  # a result that cannot be pickled
            conn.send((False, f"{type(exc).__name__}: {exc}"))


def _without_gc(fn: Callable[..., Any], *args: Any) -> Any:
    # Parsing a large flow allocates hundreds of thousands of AST nodes, which triggers many
    # garbage collections that find nothing to free (~12% of a 3,000-line lint). Reference
    # counting still frees everything; the cycle collector runs again right after.
    gc.disable()
    try:
        return fn(*args)
    finally:
        gc.enable()


class _Helper:
    """The process and the IDE's end of its pipe."""

    def __init__(self) -> None:
        ctx = mp_context()
        self.conn, child_end = ctx.Pipe(duplex=True)
        self.process = ctx.Process(target=_helper_main, args=(child_end, os.getpid()), name=HELPER_NAME, daemon=True)
        self.process.start()
        child_end.close()

        self.answered = 0

    def call(self, fn: Callable[..., Any], args: tuple) -> tuple[bool, Any]:
        self.conn.send((fn, args))
        answer = self.conn.recv()
        self.answered += 1
        return answer

    def stop(self) -> None:
        self.conn.close()  # the helper reads EOF and returns
        self.process.join(timeout=2)
        if self.process.is_alive():
            self.process.kill()
            self.process.join(timeout=2)


class AnalysisService:
    def __init__(self) -> None:
        self._jobs: queue.SimpleQueue | None = None
        self._guard = threading.Lock()
        # Before multiprocessing's own exit handler (registered earlier, so run later) stops
        # the forkserver: a job still queued then would start a helper that cannot start.
        atexit.register(self.shutdown)
        self.helper_process = None  # the newest helper's multiprocessing.Process (for a look from outside)

    def start(self) -> None:
        """Start the process now (in the background), so the first lint is fast."""
        self._queue().put((int, (), None, None))

    def submit(self, fn: Callable[..., Any], *args: Any, on_done: Callable[[Any], None], owner=None) -> None:
        """Run ``fn(*args)`` in the helper process; ``on_done(result)`` on the GUI thread unless
        ``owner`` (a QObject) was destroyed meanwhile."""
        courier()
        self._queue().put((fn, args, on_done, owner))

    def _queue(self) -> queue.SimpleQueue:
        with self._guard:
            if self._jobs is None:
                self._jobs = queue.SimpleQueue()
                threading.Thread(target=self._serve, args=(self._jobs,), name="flowdesk-analysis-sender",
                                 daemon=True).start()
            return self._jobs

    def _serve(self, jobs: queue.SimpleQueue) -> None:
        """The sending thread: one job at a time, in order; the helper started on first use
        (off the GUI thread) and again after it died."""
        helper: _Helper | None = None
        retry_at = 0.0  # after a helper that could not even start: not before then
        while (job := jobs.get()) is not _STOP:
            fn, args, on_done, owner = job
            for _attempt in (1, 2):  # a helper that died (killed, out of memory) is replaced once
                if helper is None and time.monotonic() < retry_at:
                    break  # dropped: a lint or completion is asked again at the next keystroke
                try:
                    if helper is None:
                        helper = _Helper()
                        self.helper_process = helper.process
                    ok, value = helper.call(fn, args)
                except (EOFError, OSError) as exc:
                    never_answered = helper is None or not helper.answered
                    if helper is not None:
                        helper.stop()
                    helper = None
                    if jobs is not self._jobs:  # shut down meanwhile (the IDE is exiting)
                        return
                    if never_answered:  # it fails as it starts: starting it again at once would too
                        log.warning("the analysis process could not start (%s); trying again in %d s",
                                    exc or type(exc).__name__, _RESTART_DELAY_S)
                        retry_at = time.monotonic() + _RESTART_DELAY_S
                        break
                    log.warning("analysis process ended (%s); starting a new one", exc or type(exc).__name__)
                    continue
                except Exception as exc:  # e.g. arguments that cannot be pickled
                    ok, value = False, f"{type(exc).__name__}: {exc}"
                if not ok:
                    log.warning("analysis failed: %s", value)  # best effort; the next keystroke retries
                elif on_done is not None:
                    call_on_gui_thread(on_done, value, owner)
                break
        if helper is not None:
            helper.stop()

    def shutdown(self) -> None:
        """Drop the jobs not yet sent and end the helper (in the background)."""
        with self._guard:
            jobs, self._jobs = self._jobs, None
        if jobs is not None:
            while True:  # nobody waits for their results any more
                try:
                    jobs.get_nowait()
                except queue.Empty:
                    break
            jobs.put(_STOP)


_service: AnalysisService | None = None


def analysis() -> AnalysisService:
    global _service
    if _service is None:
        _service = AnalysisService()
    return _service
