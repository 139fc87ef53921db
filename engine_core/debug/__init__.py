"""Debugging flows: a Debug Adapter Protocol client of our own (no Qt), a debug session
that runs a flow tree under debugpy, and the workspace's breakpoints.

The names below load on first use: the debugged worker imports ``debuggee`` from here and
must not pull in the session's client side. Measured here: with ``concurrent.futures`` (the
session's thread pool) imported in the worker before debugpy listened, every step waited out
pydevd's 0.2 s poll (step p50 210 ms instead of 52 ms)."""

from importlib import import_module

_EXPORTS = {
    "Breakpoint": "breakpoints", "BreakpointStore": "breakpoints", "DapClient": "dap_client",
    "DapError": "dap_client", "DebugSession": "session", "Frame": "session", "Scope": "session",
    "StopInfo": "session", "Variable": "session",
}
__all__ = sorted(_EXPORTS)


def __getattr__(name: str):
    module = _EXPORTS.get(name)
    if module is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    value = getattr(import_module(f".{module}", __name__), name)
    globals()[name] = value
    return value
