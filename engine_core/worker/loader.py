"""Compiling flow scripts, with a cache so a warm worker does not recompile an unchanged flow."""

from __future__ import annotations

import hashlib
import inspect
import sys
import types
from pathlib import Path
from typing import Any, Callable

_code_cache: dict[tuple[str, str], types.CodeType] = {}
_CACHE_LIMIT = 256


class FlowLoadError(Exception):
    """The flow cannot run: syntax error, no handler, or an error while importing it."""


def load_handler(flow_name: str, path: str, source: str) -> tuple[Callable[..., Any], types.ModuleType]:
    """Execute the flow module and return its ``handler``.

    The code is compiled with the real file path, so tracebacks and debugger breakpoints
    point at the file the user edits."""
    key = (path, hashlib.blake2b(source.encode(), digest_size=16).hexdigest())
    code = _code_cache.get(key)
    if code is None:
        try:
            code = compile(source, path, "exec", dont_inherit=True)
        except SyntaxError as exc:
            where = f"{exc.filename or path}, line {exc.lineno}"
            if exc.offset:
                where += f", column {exc.offset}"
            raise FlowLoadError(f"SyntaxError in flow {flow_name!r} ({where}): {exc.msg}") from None
        if len(_code_cache) >= _CACHE_LIMIT:
            _code_cache.clear()
        _code_cache[key] = code
    module = types.ModuleType(_module_name(flow_name))
    module.__file__ = path
    # Registered while it runs so pickle, dataclasses and typing can find the module.
    sys.modules[module.__name__] = module
    exec(code, module.__dict__)
    handler = module.__dict__.get("handler")
    if not callable(handler):
        raise FlowLoadError(
            f"flow {flow_name!r} ({path}) has no handler; define "
            "'def handler(system, this, inputs):'"
        )
    return handler, module


def call_handler(handler: Callable[..., Any], system: Any, this: Any, inputs: dict) -> Any:
    """``handler(system, this, inputs)``, or ``handler(system, this)`` for flows written for
    older Cloudomation versions (they read ``this.get('input_value')``)."""
    if _takes_two(handler):
        return handler(system, this)
    return handler(system, this, inputs)


def _takes_two(handler: Callable[..., Any]) -> bool:
    try:
        parameters = inspect.signature(handler).parameters.values()
    except (TypeError, ValueError):
        return False
    positional = [p for p in parameters if p.kind in (p.POSITIONAL_ONLY, p.POSITIONAL_OR_KEYWORD)]
    if any(p.kind == p.VAR_POSITIONAL for p in parameters):
        return False
    required = [p for p in positional if p.default is p.empty]
    return len(positional) == 2 or (len(required) == 2 and len(positional) < 3)


def unload(module: types.ModuleType) -> None:
    sys.modules.pop(module.__name__, None)


def _module_name(flow_name: str) -> str:
    safe = "".join(ch if ch.isalnum() else "_" for ch in flow_name)
    return f"flowdesk_flow_{safe}"


def flow_location(tb: types.TracebackType | None, path: str) -> int | None:
    """The line in the flow file where the exception was raised from (innermost flow frame)."""
    line = None
    resolved = str(Path(path))
    while tb is not None:
        if tb.tb_frame.f_code.co_filename == resolved:
            line = tb.tb_lineno
        tb = tb.tb_next
    return line
