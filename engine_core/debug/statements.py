"""Where statements start and end in a flow's file, for a debugger that stops once per statement.

Python reports a line event each time execution comes back to a line: a statement written
over several lines (a ``this.flow(...)`` call with one argument per line) runs its first line,
then its argument lines, then its first line again (the call itself, and once more for a
chained ``.get(...)``). debugpy stops at each of these events, so without help the user sees
the same statement stopped at two or three times. ``multi_line_statement`` tells the session
which lines belong together; ``entered_at_start`` runs *inside the debuggee* (through a DAP
``evaluate``) and tells a first arrival at a statement from a return to it."""

from __future__ import annotations

import ast
import os
import sys
from functools import lru_cache

# Statements whose lines all belong to one step. Compound statements (if, for, with, …) are
# left out: their header runs again on each pass of a loop, which is a real stop.
_SIMPLE = (ast.Assign, ast.AugAssign, ast.AnnAssign, ast.Expr, ast.Return, ast.Raise, ast.Assert,
           ast.Delete, ast.Import, ast.ImportFrom)


def multi_line_statement(path: str, line: int) -> tuple[int, int] | None:
    """(first, last) line of the simple statement spanning several lines that contains
    ``line`` in ``path``; None if that statement is on one line (or the file cannot be read)."""
    try:
        stat = os.stat(path)
    except OSError:
        return None
    for first, last in _spans(path, stat.st_mtime_ns, stat.st_size):
        if first <= line <= last:
            return first, last
    return None


@lru_cache(maxsize=64)
def _spans(path: str, _mtime_ns: int, _size: int) -> tuple[tuple[int, int], ...]:
    try:
        with open(path, encoding="utf-8") as file:
            tree = ast.parse(file.read(), path)
    except (OSError, SyntaxError, ValueError):
        return ()
    return tuple((node.lineno, node.end_lineno) for node in ast.walk(tree)
                 if isinstance(node, _SIMPLE) and node.end_lineno and node.end_lineno > node.lineno)


def handler_first_line(path: str) -> int | None:
    """The line of the first statement in the flow's ``handler`` (a docstring is no statement
    the debugger can stop at); None if the file has no top-level handler."""
    try:
        with open(path, encoding="utf-8") as file:
            tree = ast.parse(file.read(), path)
    except (OSError, SyntaxError, ValueError):
        return None
    for node in tree.body:
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)) and node.name == "handler":
            body = node.body
            if len(body) > 1 and isinstance(body[0], ast.Expr) and isinstance(body[0].value, ast.Constant) \
                    and isinstance(body[0].value.value, str):
                body = body[1:]
            return body[0].lineno
    return None


def entered_at_start(path: str, first: int, last: int) -> bool:
    """Runs in the debuggee, evaluated in the stopped frame: True if the frame stopped at line
    ``first`` because it arrived at the statement, False if it came back to that line after
    running the statement's other lines (``first < line <= last``) — a return, not a new stop.

    The evaluation runs on the stopped thread, so the stopped frame is on this thread's stack
    below the debugger's own frames: the nearest frame of ``path`` at line ``first``."""
    frame = sys._getframe(1)
    while frame is not None and not (frame.f_code.co_filename == path and frame.f_lineno == first):
        frame = frame.f_back
    if frame is None:
        return True  # cannot tell: stopping once too often beats skipping a real stop
    ranges = list(frame.f_code.co_lines())
    starts = [start for start, _end, line in ranges if line == first]
    if not starts:
        return True
    begin, position = min(starts), frame.f_lasti
    return not any(begin <= start < position and line is not None and first < line <= last
                   for start, _end, line in ranges)
