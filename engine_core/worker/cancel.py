"""How a cancel reaches a running flow: the engine sends SIGTERM; the handler raises
``flow_api.ExecutionCancel`` in the flow's thread, so its ``finally:`` blocks and context
managers run before the engine kills the process after the grace period.

The signal must not cut a message to the engine in half (the pipe would be left mid-frame),
so sending and receiving one message block SIGTERM for that moment; a signal that arrives then
is delivered right after. Between executions SIGTERM means what it always means, "exit": a
cancel that races the end of its execution only costs a worker the pool replaces, and the
engine's process (multiprocessing's exit handler terminates and then joins its daemon
children) must never wait for a worker that ignores it."""

from __future__ import annotations

import contextlib
import os
import signal

import flow_api

_armed = False
_SIGNALS = {signal.SIGTERM}


def install() -> None:
    signal.signal(signal.SIGTERM, _on_cancel)


def _on_cancel(signum, frame) -> None:
    global _armed
    if not _armed:
        os._exit(0)
    _armed = False  # one signal, one cancel: the flow's cleanup runs undisturbed
    raise flow_api.ExecutionCancel("cancelled")  # @IgnoreException: not a stop for the debugger


@contextlib.contextmanager
def cancellable():
    """The flow's own code runs inside this: a cancel raises ExecutionCancel here."""
    global _armed
    previous, _armed = _armed, True
    try:
        yield
    finally:
        _armed = previous


@contextlib.contextmanager
def uninterrupted():
    """Around one message on the pipe: SIGTERM waits until it is whole."""
    old = signal.pthread_sigmask(signal.SIG_BLOCK, _SIGNALS)
    try:
        yield
    finally:
        signal.pthread_sigmask(signal.SIG_SETMASK, old)
