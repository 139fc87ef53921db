"""Which inputs a flow's handler reads, found in its code: the IDE offers them as a template
in the Run/Debug inputs dialog, so a new user does not have to guess the keys.

Recognised reads of the inputs dict (``inputs`` being the handler's third parameter, or a name
bound to ``this.get('input_value')`` in old-style two-argument handlers)::

    inputs['x']                  -> "x": null
    inputs.get('x')              -> "x": null
    inputs.get('x', 5)           -> "x": 5        (a literal default is kept)
    this.get('input_value')['x'] -> "x": null

Pure and quick (one ``ast.parse``); code that does not parse gives no inputs, never an error.
"""

from __future__ import annotations

import ast
import json
from dataclasses import dataclass
from typing import Any

_OLD_STYLE_FIELD = "input_value"


@dataclass(frozen=True)
class InputRead:
    """One input key the handler reads, with the literal default it falls back to (if any)."""
    key: str
    line: int
    default: Any = None
    has_default: bool = False


def handler_inputs(source: str) -> list[InputRead]:
    """The input keys the flow's ``handler`` reads, in the order they first appear."""
    try:
        tree = ast.parse(source)
    except (SyntaxError, ValueError):
        return []
    handler = next((node for node in tree.body if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef))
                    and node.name == "handler"), None)
    if handler is None:
        return []
    params = [a.arg for a in (*handler.args.posonlyargs, *handler.args.args)]
    this_name = params[1] if len(params) > 1 else "this"
    aliases = {params[2]} if len(params) > 2 else set()
    aliases |= _old_style_aliases(handler, this_name)

    found: dict[str, InputRead] = {}
    for node in sorted(ast.walk(handler), key=lambda n: (getattr(n, "lineno", 0), getattr(n, "col_offset", 0))):
        read = _read_of(node, aliases, this_name)
        if read is not None and read.key not in found:
            found[read.key] = read
        elif read is not None and read.has_default and not found[read.key].has_default:
            found[read.key] = InputRead(read.key, found[read.key].line, read.default, True)
    return list(found.values())


def inputs_template(source: str) -> dict[str, Any]:
    """A JSON object with each input the handler reads: its literal default, else None (also
    for a default JSON cannot hold, such as bytes or a set; a tuple becomes a list)."""
    return {read.key: _as_json(read.default) for read in handler_inputs(source)}


def _as_json(value: Any) -> Any:
    try:
        return json.loads(json.dumps(value))
    except (TypeError, ValueError):
        return None


def _is_input_value_get(node: ast.AST, this_name: str) -> bool:
    """``this.get('input_value')``."""
    return (isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute) and node.func.attr == "get"
            and isinstance(node.func.value, ast.Name) and node.func.value.id == this_name
            and len(node.args) == 1 and _string(node.args[0]) == _OLD_STYLE_FIELD)


def _old_style_aliases(handler: ast.AST, this_name: str) -> set[str]:
    """Names bound to ``this.get('input_value')`` (also ``... or {}``)."""
    names = set()
    for node in ast.walk(handler):
        if isinstance(node, ast.Assign) and len(node.targets) == 1 and isinstance(node.targets[0], ast.Name):
            value = node.value
            if isinstance(value, ast.BoolOp) and isinstance(value.op, ast.Or):
                value = value.values[0]
            if _is_input_value_get(value, this_name):
                names.add(node.targets[0].id)
    return names


def _is_inputs(node: ast.AST, aliases: set[str], this_name: str) -> bool:
    return (isinstance(node, ast.Name) and node.id in aliases) or _is_input_value_get(node, this_name)


def _read_of(node: ast.AST, aliases: set[str], this_name: str) -> InputRead | None:
    if isinstance(node, ast.Subscript) and isinstance(node.ctx, ast.Load) and _is_inputs(node.value, aliases, this_name):
        key = _string(node.slice)
        return InputRead(key, node.lineno) if key is not None else None
    if (isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute) and node.func.attr == "get"
            and _is_inputs(node.func.value, aliases, this_name) and node.args):
        key = _string(node.args[0])
        if key is None:
            return None
        default_node = node.args[1] if len(node.args) > 1 else next(
            (k.value for k in node.keywords if k.arg == "default"), None)
        if default_node is None:
            return InputRead(key, node.lineno)
        try:
            return InputRead(key, node.lineno, ast.literal_eval(default_node), True)
        except (ValueError, TypeError, SyntaxError, MemoryError, RecursionError):
            return InputRead(key, node.lineno)  # a computed default: the user fills it in
    return None


def _string(node: ast.AST) -> str | None:
    return node.value if isinstance(node, ast.Constant) and isinstance(node.value, str) else None
