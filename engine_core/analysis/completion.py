"""Completion at the cursor in a flow script: flow names, the flow API, and jedi for the rest.

The flow-specific cases are answered from the text before the cursor, without parsing: while
the user types, the file rarely parses (``this.`` alone is a syntax error).
"""

from __future__ import annotations

import ast
import inspect
import re
import textwrap
from collections.abc import Iterable
from functools import lru_cache
from typing import TYPE_CHECKING

import flow_api

from .problems import Completion

if TYPE_CHECKING:
    import jedi.api.classes

MAX_COMPLETIONS = 200
# jedi infers a signature per item; beyond the first few the list is only scrolled past.
MAX_SIGNATURES = 30

_API_CLASSES: dict[str, type] = {"this": flow_api.Execution, "system": flow_api.System}

# Python ends lines at \n, \r\n or \r only; jedi counts lines the same way.
_LINE_BREAK = re.compile(r"\r\n|\r|\n")
# The cursor is in the string literal that is the first argument of `.flow(`; group 2 is what
# was typed of the name. Calls are often split after `(` (see the examples), hence \s*.
_FLOW_NAME_ARGUMENT = re.compile(r"\.\s*flow\s*\(\s*(?:flow_name\s*=\s*)?(['\"])([^'\"\\\r\n]*)\Z")
# How many lines above the cursor `.flow(` may be.
_FLOW_CALL_LINES = 3
# `name.prefix` right before the cursor, where name is a plain name (not `a.name.`).
_MEMBER_ACCESS = re.compile(r"(?<![\w.])([A-Za-z_]\w*)\s*\.\s*(\w*)\Z")
# flow_api uses `from __future__ import annotations`: return types are source text, maybe quoted.
_QUOTES = re.compile("['\"]")
# The names of the handler's first two parameters, whatever they are called or annotated.
_HANDLER_PARAMETERS = re.compile(r"^(?:async\s+)?def\s+handler\s*\(\s*(\w+)[^,)]*,\s*(\w+)", re.MULTILINE)


def complete(source: str, line: int, column: int, known_flows: Iterable[str] = (),
             path: str | None = None) -> list[Completion]:
    """What may be typed at the cursor (``line`` 1-based, ``column`` 0-based). Never raises.

    In the flow-name argument of ``.flow('...``: the known flows starting with what was typed.
    After ``this.`` / ``system.`` (the handler's parameters): the flow API's members.
    Elsewhere: jedi's completions; ``path`` lets jedi resolve imports next to the flow.
    """
    lines = _LINE_BREAK.split(source)
    if not 0 < line <= len(lines) or column < 0:
        return []
    before_cursor = lines[line - 1][:column]
    typed_flow_name = _typed_flow_name(lines[max(0, line - 1 - _FLOW_CALL_LINES):line - 1], before_cursor)
    if typed_flow_name is not None:
        return _flow_names(known_flows, typed_flow_name)
    member = _MEMBER_ACCESS.search(before_cursor)
    if member:
        kind = _handler_parameter_kinds(source).get(member[1])
        if kind:
            return [item for item in flow_api_members(kind) if _starts_with(item.name, member[2])]
    return _jedi_completions(source, line, column, path)


def flow_api_members(kind: str) -> list[Completion]:
    """The public methods and attributes of ``this`` (``kind="this"``, an Execution) or of
    ``system`` (``kind="system"``), sorted by name, methods with their signatures."""
    if kind not in _API_CLASSES:
        raise ValueError(f"kind must be 'this' or 'system', not {kind!r}")
    return list(_members(_API_CLASSES[kind]))


# -- flow names ---------------------------------------------------------------------------

def _typed_flow_name(lines_above: list[str], before_cursor: str) -> str | None:
    """What was typed of a flow name, if the cursor is in ``.flow('``'s name literal."""
    found = _FLOW_NAME_ARGUMENT.search("\n".join([*lines_above, before_cursor]))
    return found[2] if found else None


def _flow_names(known_flows: Iterable[str], typed: str) -> list[Completion]:
    matching = sorted((name for name in known_flows if _starts_with(name, typed)), key=str.casefold)
    return [Completion(name, name, "flow") for name in matching]


def _starts_with(name: str, typed: str) -> bool:
    return name.casefold().startswith(typed.casefold())


# -- this. and system. --------------------------------------------------------------------

def _handler_parameter_kinds(source: str) -> dict[str, str]:
    """Which names stand for ``system`` and ``this``: the handler's first two parameters,
    or the conventional names when there is no handler (yet)."""
    found = _HANDLER_PARAMETERS.search(source)
    system_name, this_name = (found[1], found[2]) if found else ("system", "this")
    return {system_name: "system", this_name: "this"}


@lru_cache(maxsize=None)
def _members(cls: type) -> tuple[Completion, ...]:
    names = {name for name in dir(cls) if not name.startswith("_")} | _instance_attributes(cls)
    return tuple(_member(cls, name) for name in sorted(names))


def _member(cls: type, name: str) -> Completion:
    value = inspect.getattr_static(cls, name, None)
    if inspect.isfunction(value):
        return Completion(name, name, "method", name + _signature_text(value))
    if isinstance(value, property):
        return Completion(name, name, "property")
    return Completion(name, name, "attribute")


def _signature_text(method: object) -> str:
    """``(flow_name, *, name=None, wait=True, **inputs) -> Execution``: parameters without
    annotations (short enough for a tooltip), the return type without string quotes."""
    signature = inspect.signature(method)
    parameters = [parameter.replace(annotation=inspect.Parameter.empty)
                  for parameter in list(signature.parameters.values())[1:]]  # without self
    text = str(signature.replace(parameters=parameters, return_annotation=inspect.Signature.empty))
    returns = signature.return_annotation
    if returns is inspect.Signature.empty:
        return text
    returns = returns if isinstance(returns, str) else inspect.formatannotation(returns)
    return f"{text} -> {_QUOTES.sub('', returns)}"


def _instance_attributes(cls: type) -> set[str]:
    """Public attributes set in ``__init__`` (``self.id = ...``), which ``dir(cls)`` misses."""
    if "__init__" not in vars(cls):
        return set()
    try:
        tree = ast.parse(textwrap.dedent(inspect.getsource(cls.__init__)))
    except (OSError, TypeError, SyntaxError):  # no source, e.g. in a frozen build
        return set()
    return {node.attr for node in ast.walk(tree)
            if isinstance(node, ast.Attribute) and isinstance(node.ctx, ast.Store)
            and isinstance(node.value, ast.Name) and node.value.id == "self"
            and not node.attr.startswith("_")}


# -- jedi ---------------------------------------------------------------------------------

def _jedi_completions(source: str, line: int, column: int, path: str | None) -> list[Completion]:
    import jedi  # imported on first use: it takes longer to import than the rest of the engine

    try:
        found = jedi.Script(code=source, path=path).complete(line, column)[:MAX_COMPLETIONS]
        return [_from_jedi(item, index < MAX_SIGNATURES) for index, item in enumerate(found)]
    except Exception:  # noqa: BLE001 - jedi fails in many ways on half-typed code; offer nothing
        return []


def _from_jedi(item: "jedi.api.classes.Completion", with_signature: bool) -> Completion:
    signature = ""
    # Only callables have signatures worth showing; inferring them is the slow part.
    if with_signature and item.type in ("function", "class"):
        signatures = item.get_signatures()
        signature = signatures[0].to_string() if signatures else ""
    return Completion(item.name, item.name, item.type, signature)
