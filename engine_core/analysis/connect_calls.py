"""``this.connect(...)`` in the editor: completion of the connector types (and stored records)
in the type argument, of the parameters a connector declares once its type is written, and the
linter's check of a call with a literal type (unknown type, unknown or missing parameter).

Both read the declarations from :mod:`engine_core.connectors` (``spec(type).params``), so a
plugin connector is completed and checked like a built-in one. Loading the connectors imports
their modules: done on the first ``connect(`` only, and any failure there means "nothing to
offer / nothing to report", never an error in the editor.
"""

from __future__ import annotations

import ast
import re
from collections.abc import Iterable, Mapping
from typing import Any

from .problems import Completion, Problem

# Methods of ``this`` (and of ``this.using(...)``) whose first argument is a connector type.
CONNECT_METHODS = frozenset({"connect", "task"})
# ``connect``'s own parameters: not the connector's (``name``, ``inputs``, ``run``, ``wait``
# are also in the spec's common names).
_OWN_PARAMETERS = frozenset({"connector_type", "name", "inputs", "run", "wait"})
_CONNECT_CALL = re.compile(r"\.\s*(?:connect|task)\s*\(")
# How far back the cheap test for a `.connect(` looks (characters): calls are rarely longer.
_GATE_CHARS = 4000
_TYPE_LITERAL = re.compile(r"\s*(?:connector_type\s*=\s*)?[rRuU]?(['\"])([^'\"\\]*)\Z")
_KEYWORD_TYPED = re.compile(r"\s*(\w*)\Z")
_POSITIONAL_TYPE = re.compile(r"\s*[rRuU]?(['\"])([^'\"\\]*)\1\s*\Z")
_KEYWORD_TYPE = re.compile(r"\s*connector_type\s*=\s*[rRuU]?(['\"])([^'\"\\]*)\1\s*\Z")
_KEYWORD_GIVEN = re.compile(r"\s*(\w+)\s*=(?!=)")


# -- completion ------------------------------------------------------------------------------

def complete(source: str, text: str, records: Mapping[str, str] | None = None) -> list[Completion] | None:
    """Completions when ``text`` (the source up to the cursor) ends inside the arguments of
    ``this.connect(``: the connector types and record names in the type's string literal, or
    the connector's parameters where a keyword is being typed. None: not this case."""
    if not _CONNECT_CALL.search(text, max(0, len(text) - _GATE_CHARS)):
        return None
    scanned = _scan(text)
    if scanned is None:
        return None
    pairs, opened, in_string = scanned
    if not opened or text[opened[-1]] != "(" or not _is_connect_of_this(source, text[:opened[-1]], pairs):
        return None
    *earlier, current = _arguments(text[opened[-1] + 1:])
    if in_string:
        typed = _TYPE_LITERAL.fullmatch(current)
        if typed is None or (earlier and "connector_type" not in current):
            return None
        return _type_completions(typed[2], records or {})
    typed = _KEYWORD_TYPED.fullmatch(current)
    if typed is None or current.lstrip().startswith("*"):
        return None
    connector_spec = _spec_of(_literal_type(earlier), records or {})
    if connector_spec is None or connector_spec.params is None:
        return None
    given = {found[1] for found in map(_KEYWORD_GIVEN.match, earlier) if found}
    offered = [_parameter_completion(connector_spec.type, p) for p in connector_spec.params
               if p.name not in given and not given & set(p.aliases) and _starts_with(p.name, typed[1])]
    return offered or None  # nothing matches: maybe a variable for **inputs; jedi answers


def _type_completions(typed: str, records: Mapping[str, str]) -> list[Completion]:
    from .. import connectors

    try:
        types = connectors.available()
    except Exception:  # noqa: BLE001 - a broken plugin must not break the editor
        types = []
    found = []
    for kind in types:
        if _starts_with(kind, typed):
            doc = ""
            try:
                doc = connectors.spec(kind).doc
            except Exception:  # noqa: BLE001
                pass
            found.append(Completion(kind, kind, "connector", "", doc))
    for name in sorted(records, key=str.casefold):
        if _starts_with(name, typed):
            found.append(Completion(name, name, "connector record", "",
                                    f"stored connector record: a {records[name]} connection; keyword arguments "
                                    "replace its inputs"))
    return found


def _parameter_completion(connector_type: str, param) -> Completion:
    notes = []
    if param.required:
        notes.append("required")
    if param.secret:
        notes.append("secret: masked in the tree, logs and database")
    if param.aliases:
        notes.append("also written " + ", ".join(param.aliases))
    doc = param.doc or f"a parameter of the {connector_type} connector"
    if notes:
        doc += "\n\n" + "; ".join(notes)
    return Completion(param.name, f"{param.name}=", "parameter", f"{param.name}=", doc)


def _is_connect_of_this(source: str, before_bracket: str, pairs: dict[int, int]) -> bool:
    from . import completion

    chain = completion._chain_before(before_bracket, pairs)
    if chain is None:
        return False
    head, _, method = chain
    return method in CONNECT_METHODS and completion._handler_parameter_kinds(source).get(head) == "this"


def _scan(text: str) -> tuple[dict[int, int], list[int], bool] | None:
    from .completion import scan_brackets  # completion imports this module: import on use

    return scan_brackets(text)


def _arguments(text: str) -> list[str]:
    """``text`` (after a call's ``(``) split at its top-level commas; strings, comments and nested
    brackets kept whole. The last part is the argument being typed."""
    from .completion import _TOKENS

    parts: list[str] = []
    depth = start = position = 0
    for token in _TOKENS.finditer(text):
        start = _split_plain(text, position, token.start(), depth, start, parts)
        if token.lastgroup == "bracket":
            depth += 1 if token[0] in "([{" else -1
        position = token.end()
    start = _split_plain(text, position, len(text), depth, start, parts)
    parts.append(text[start:])
    return parts


def _split_plain(text: str, begin: int, end: int, depth: int, start: int, parts: list[str]) -> int:
    """Split ``text[begin:end]`` (no strings or brackets in it) at commas when at depth 0;
    where the argument being collected starts now."""
    if depth == 0:
        for position in range(begin, end):
            if text[position] == ",":
                parts.append(text[start:position])
                start = position + 1
    return start


def _literal_type(arguments: list[str]) -> str | None:
    for index, argument in enumerate(arguments):
        found = _KEYWORD_TYPE.fullmatch(argument) or (_POSITIONAL_TYPE.fullmatch(argument) if index == 0 else None)
        if found:
            return found[2]
    return None


def _spec_of(name: str | None, records: Mapping[str, str]) -> Any:
    """The declaration for a connector type, or for the type of a stored record; None if unknown."""
    if not name:
        return None
    from .. import connectors

    for candidate in (name, records.get(name)):
        if candidate:
            try:
                return connectors.spec(candidate)
            except Exception:  # noqa: BLE001 - unknown type or a plugin failing to load
                continue
    return None


def _starts_with(name: str, typed: str) -> bool:
    return name.casefold().startswith(typed.casefold())


# -- lint --------------------------------------------------------------------------------------

def connect_call_of(node: ast.Call) -> bool:
    """Whether ``node`` calls ``connect``/``task`` (the caller checks what it is called on)."""
    return isinstance(node.func, ast.Attribute) and node.func.attr in CONNECT_METHODS


def call_root(node: ast.Call) -> ast.expr:
    """The name a call chain starts at: ``this`` in ``this.using('retry').connect(...)``."""
    value = node.func.value  # type: ignore[attr-defined]
    while isinstance(value, (ast.Attribute, ast.Call)):
        value = value.value if isinstance(value, ast.Attribute) else value.func
    return value


def problems(calls: Iterable[ast.Call], lines: list[str], records: Mapping[str, str] | None) -> list[Problem]:
    """Problems of ``this.connect`` calls whose connector type is a string literal.

    ``records``: the workspace's stored records (name → type), or None when unknown: then a
    literal that is not a type is only reported when it looks like one (upper case, like every
    connector type), since it may name a record."""
    found: list[Problem] = []
    for call in calls:
        literal = _type_literal(call)
        if literal is None:
            continue  # a type computed at run time: nothing to check
        try:
            found += _call_problems(call, literal, lines, records)
        except Exception:  # noqa: BLE001 - a connector module failing to import: report nothing
            continue
    return found


def _call_problems(call: ast.Call, literal: ast.Constant, lines: list[str],
                   records: Mapping[str, str] | None) -> list[Problem]:
    from .. import connectors
    from .lint import _close_match

    name = literal.value
    types = connectors.available()
    kind = next((t for t in types if t == name.upper()), None)
    from_record = kind is None and records is not None and name in records
    if from_record:
        kind = next((t for t in types if t == str(records[name]).upper()), None)
        if kind is None:
            return [_at(literal, lines, f"connector record {name!r} has the unknown connector type "
                                         f"{records[name]!r}; available: {', '.join(types)}")]
    if kind is None:
        if records is None and name != name.upper():
            return []  # maybe a stored record; without the workspace's records it cannot be told
        message = f"unknown connector type {name!r}"
        close = (_close_match(name, types) or _close_match(name.upper(), types)
                 or _close_match(name, list(records or ())))
        if close:
            message += f"; did you mean {close!r}?"
        elif records is not None:
            message += f" or connector record; available connector types: {', '.join(types)}"
        else:
            message += f"; available connector types: {', '.join(types)}"
        return [_at(literal, lines, message)]
    spec = connectors.spec(kind)
    given = _given_parameters(call)
    if spec.params is None or given is None:
        return []  # an undeclared plugin, or **inputs / inputs=<variable>: the names are not known
    found = []
    known = spec.names()
    for keyword, key in given:
        if key in known or key in _OWN_PARAMETERS:
            continue
        message = f"the {spec.type} connector has no parameter {key!r}"
        close = _close_match(key, [p.name for p in spec.params])
        message += f"; did you mean {close!r}?" if close else f"; it takes {', '.join(p.name for p in spec.params)}"
        found.append(_at(keyword, lines, message, len(key)))
    if not from_record:  # a record supplies the required inputs the call leaves out
        names = {key for _, key in given}
        for problem in spec.problems(names):
            if not problem.startswith("unknown parameter"):
                found.append(_at(call.func, lines, problem, end_of_name=True))
    return found


def _type_literal(call: ast.Call) -> ast.Constant | None:
    candidates = call.args[:1] + [k.value for k in call.keywords if k.arg == "connector_type"]
    for candidate in candidates:
        if isinstance(candidate, ast.Constant) and isinstance(candidate.value, str):
            return candidate
    return None


def _given_parameters(call: ast.Call) -> list[tuple[ast.AST, str]] | None:
    """(node to underline, name) for each parameter the call gives; None when some are unknown
    (``**inputs``, ``inputs=<not a dict literal>``, a dict key that is not a string literal)."""
    given: list[tuple[ast.AST, str]] = []
    positional_inputs = call.args[2:3]  # connect(connector_type, name, inputs, ...)
    for keyword in call.keywords:
        if keyword.arg is None:
            return None
        if keyword.arg == "inputs":
            positional_inputs = [keyword.value]
        elif keyword.arg not in _OWN_PARAMETERS:
            given.append((keyword, keyword.arg))
    for inputs in positional_inputs:
        if isinstance(inputs, ast.Constant) and inputs.value is None:
            continue
        if not isinstance(inputs, ast.Dict):
            return None
        for key in inputs.keys:
            if not (isinstance(key, ast.Constant) and isinstance(key.value, str)):
                return None
            given.append((key, key.value))
    return given


def _at(node: Any, lines: list[str], message: str, length: int | None = None, end_of_name: bool = False) -> Problem:
    """A problem underlining ``node`` (its first ``length`` characters; for ``end_of_name`` the
    attribute name ending at the node's end, e.g. ``connect`` of ``this.connect``)."""
    from .lint import _char_column, _line

    if end_of_name:
        line_text = _line(lines, node.end_lineno)
        end = _char_column(line_text, node.end_col_offset)
        return Problem(node.end_lineno, max(end - len(node.attr), 0), message, "error", "flows", end)
    line_text = _line(lines, node.lineno)
    column = _char_column(line_text, node.col_offset)
    end_column = None
    if length is not None:
        end_column = column + length
    elif node.end_lineno == node.lineno and node.end_col_offset is not None:
        end_column = _char_column(line_text, node.end_col_offset)
    return Problem(node.lineno, column, message, "error", "flows", end_column)
