"""Find what one flow's source refers to: the flows it calls, the settings it reads or
writes, and the connectors it uses. Static only: nothing is imported or run."""

from __future__ import annotations

import ast
from dataclasses import dataclass, field


@dataclass(frozen=True)
class Ref:
    kind: str  # "flow" | "setting" | "connector"
    name: str | None  # None: built at run time (not a string literal)
    line: int
    access: str = ""  # settings: "read" | "write" | "" (passed on, use unknown)


@dataclass
class FlowRefs:
    refs: list[Ref] = field(default_factory=list)
    error: str | None = None  # a syntax error: the flow is drawn, its calls are unknown


def receiver_names(tree: ast.AST) -> tuple[set[str], set[str]]:
    """Names that mean ``this`` and ``system``: the handler's own parameter names (a flow may
    call them anything) plus the conventional ones."""
    this, system = {"this"}, {"system"}
    for node in ast.walk(tree):
        if isinstance(node, ast.FunctionDef) and node.name == "handler":
            args = [a.arg for a in node.args.posonlyargs + node.args.args]
            if len(args) >= 2:
                system.add(args[0])
                this.add(args[1])
    return this, system


def call_of(node: ast.AST, receivers: set[str], method: str) -> bool:
    """Is ``node`` a call ``<receiver>.<method>(...)``?"""
    return (isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute) and node.func.attr == method
            and isinstance(node.func.value, ast.Name) and node.func.value.id in receivers)


def literal_arg(call: ast.Call, keyword: str) -> tuple[bool, str | None]:
    """(present, value) of the first positional argument or ``keyword=``; value is None when
    the argument is not a plain string literal (computed at run time)."""
    arg = call.args[0] if call.args else next((k.value for k in call.keywords if k.arg == keyword), None)
    if arg is None:
        return False, None
    if isinstance(arg, ast.Constant) and isinstance(arg.value, str):
        return True, arg.value
    return True, None


def scan_source(source: str) -> FlowRefs:
    try:
        tree = ast.parse(source)
    except SyntaxError as exc:
        return FlowRefs(error=f"line {exc.lineno}: {exc.msg}")
    this, system = receiver_names(tree)
    result = FlowRefs()
    setting_vars: dict[str, str | None] = {}  # variable -> setting name, to see .save() later
    for node in ast.walk(tree):
        if call_of(node, this, "flow"):
            present, name = literal_arg(node, "flow_name")
            if present:
                result.refs.append(Ref("flow", name, node.lineno))
        elif call_of(node, this, "connect"):
            present, name = literal_arg(node, "connector_type")
            if present:
                result.refs.append(Ref("connector", name, node.lineno))
        elif isinstance(node, ast.Assign) and call_of(node.value, system, "setting"):
            for target in node.targets:
                if isinstance(target, ast.Name):
                    setting_vars[target.id] = literal_arg(node.value, "name")[1]
    _scan_settings(tree, system, setting_vars, result)
    result.refs.sort(key=lambda r: (r.line, r.kind))
    return result


_WRITES = {"save", "delete", "set"}
_READS = {"get", "exists", "load"}


def _scan_settings(tree: ast.AST, system: set[str], variables: dict[str, str | None], result: FlowRefs) -> None:
    """``system.setting('x').save(...)`` writes; ``.get(...)`` reads; a setting kept in a
    variable is judged by the methods later called on that variable."""
    used_via_method: set[int] = set()
    for node in ast.walk(tree):
        if not (isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute)):
            continue
        target, method = node.func.value, node.func.attr
        access = "write" if method in _WRITES else "read" if method in _READS else ""
        if call_of(target, system, "setting"):
            used_via_method.add(id(target))
            present, name = literal_arg(target, "name")
            if present:
                result.refs.append(Ref("setting", name, target.lineno, access))
        elif isinstance(target, ast.Name) and target.id in variables and access:
            result.refs.append(Ref("setting", variables[target.id], node.lineno, access))
    for node in ast.walk(tree):
        if call_of(node, system, "setting") and id(node) not in used_via_method:
            present, name = literal_arg(node, "name")
            if present:
                result.refs.append(Ref("setting", name, node.lineno, ""))
