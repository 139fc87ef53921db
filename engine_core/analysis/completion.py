"""Completion at the cursor in a flow script: flow names, the flow API, and jedi for the rest.

The flow-specific cases are answered from the text before the cursor, without parsing: while
the user types, the file rarely parses (``this.`` alone is a syntax error).
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import TYPE_CHECKING

import flow_api
from engine_core.packages import import_names

from . import api_model, connect_calls, imports
from .problems import Completion

if TYPE_CHECKING:
    import jedi.api.classes

MAX_COMPLETIONS = 200
# jedi infers a signature per item; beyond the first few the list is only scrolled past.
MAX_SIGNATURES = 30

# Python ends lines at \n, \r\n or \r only; jedi counts lines the same way.
_LINE_BREAK = re.compile(r"\r\n|\r|\n")
# The cursor is in the string literal that is the first argument of `.flow(`; group 2 is what
# was typed of the name. Calls are often split after `(` (see the examples), hence \s*.
_FLOW_NAME_ARGUMENT = re.compile(r"\.\s*flow\s*\(\s*(?:flow_name\s*=\s*)?(['\"])([^'\"\\\r\n]*)\Z")
# How many lines above the cursor `.flow(` may be.
_FLOW_CALL_LINES = 3
# How many steps a chain like `system.setting('x').get` may have.
_MAX_CHAIN = 20
# Comments, strings (with whether they are closed) and brackets, for matching brackets.
_TOKENS = re.compile(r"""
    (?P<comment>\#[^\r\n]*)
  | (?P<long_string>(?P<q3>\'\'\'|\"\"\")(?:\\.|(?!(?P=q3)).)*(?P<close>(?P=q3))?)
  | (?P<string>(?P<q1>['"])(?:\\.|(?!(?P=q1))[^\r\n\\])*(?P<close1>(?P=q1))?)
  | (?P<bracket>[()\[\]{}])
""", re.VERBOSE | re.DOTALL)
_IN_COMMENT, _IN_STRING = "comment", "string"
# `import flow_api` / `import flow_api as api` / `import os, flow_api` at the start of a line.
_IMPORT_FLOW_API = re.compile(r"^[ \t]*import[ \t]+(?:[\w.]+(?:[ \t]+as[ \t]+\w+)?[ \t]*,[ \t]*)*"
                              r"flow_api(?:[ \t]+as[ \t]+(\w+))?[ \t]*(?=[,#;\r\n]|\Z)", re.MULTILINE)
# The names of the handler's first two parameters, whatever they are called or annotated.
_HANDLER_PARAMETERS = re.compile(r"^(?:async\s+)?def\s+handler\s*\(\s*(\w+)[^,)]*,\s*(\w+)", re.MULTILINE)


def complete(source: str, line: int, column: int, known_flows: Iterable[str] = (),
             path: str | None = None, connector_records: Mapping[str, str] | None = None, *,
             packages_root: Path | str | None = None) -> list[Completion]:
    """What may be typed at the cursor (``line`` 1-based, ``column`` 0-based). Never raises.

    In the flow-name argument of ``.flow('...``: the known flows starting with what was typed.
    After ``this.`` / ``system.`` (the handler's parameters), ``flow_api.`` and chains whose type
    flow_api's annotations give (``system.setting('x').``, ``this.using('retry').``): the
    members, with signatures and docstrings, read from flow_api itself.
    In ``this.connect(``: the connector types (and ``connector_records``, name → type) in the
    type's literal, then the parameters that connector declares, with their docs.
    Elsewhere: jedi's completions; ``path`` lets jedi resolve imports next to the flow, and the
    packages installed for the workspace (``packages_root``; by default the folder above the
    flow's ``flows/``) are on jedi's path.
    """
    lines = _LINE_BREAK.split(source)
    if not 0 < line <= len(lines) or column < 0:
        return []
    before_cursor = lines[line - 1][:column]
    typed_flow_name = _typed_flow_name(lines[max(0, line - 1 - _FLOW_CALL_LINES):line - 1], before_cursor)
    if typed_flow_name is not None:
        return _flow_names(known_flows, typed_flow_name)
    connection = connect_calls.complete(source, "\n".join([*lines[:line - 1], before_cursor]), connector_records)
    if connection is not None:
        return connection
    members = _flow_api_completions(source, lines, line, before_cursor)
    if members is not None:
        return members
    return _jedi_completions(source, line, column, path, packages_root)


def flow_api_members(kind: str) -> list[Completion]:
    """The public methods and attributes of ``this`` (``kind="this"``, an Execution) or of
    ``system`` (``kind="system"``), sorted by name, methods with their signatures, all with
    their docstrings."""
    if kind not in api_model.API_CLASSES:
        raise ValueError(f"kind must be 'this' or 'system', not {kind!r}")
    return list(api_model.class_members(api_model.API_CLASSES[kind]))


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


# -- this., system., flow_api. and what they return ------------------------------------------

def _flow_api_completions(source: str, lines: list[str], line: int,
                          before_cursor: str) -> list[Completion] | None:
    """The members after ``<chain>.`` when the chain starts at a handler parameter or at
    ``flow_api`` and every step's type is known from flow_api's annotations; None otherwise."""
    if "." not in before_cursor:
        return None
    text = "\n".join([*lines[:line - 1], before_cursor])
    pairs = _bracket_pairs(text)
    if pairs == _IN_COMMENT:
        return []  # jedi would offer builtins there
    if pairs == _IN_STRING:
        return None  # jedi completes paths in strings
    chain = _chain_before(text, pairs)
    if chain is None:
        return None
    head, steps, typed = chain
    target = _head_target(source, head)
    for kind, name in steps:
        if target is None:
            return None
        target = api_model.step(target, kind, name)
    members = api_model.completions(target) if target is not None else None
    if members is None:
        return None
    return [item for item in members if _starts_with(item.name, typed)]


def _head_target(source: str, head: str) -> api_model.Target | None:
    kind = _handler_parameter_kinds(source).get(head)
    if kind:
        return api_model.Target("instance", api_model.API_CLASSES[kind])
    if head in _flow_api_aliases(source):
        return api_model.Target("module", flow_api)
    return None


def _handler_parameter_kinds(source: str) -> dict[str, str]:
    """Which names stand for ``system`` and ``this``: the handler's first two parameters,
    or the conventional names when there is no handler (yet)."""
    found = _HANDLER_PARAMETERS.search(source)
    system_name, this_name = (found[1], found[2]) if found else ("system", "this")
    return {system_name: "system", this_name: "this"}


def _flow_api_aliases(source: str) -> set[str]:
    """The names the flow imports flow_api as (``import flow_api``, ``import flow_api as api``)."""
    return {found[1] or "flow_api" for found in _IMPORT_FLOW_API.finditer(source)}


def _chain_before(text: str, pairs: dict[int, int]) -> tuple[str, list[tuple[str, str]], str] | None:
    """``system.setting('a').`` + typed prefix at the end of ``text``, split into the head name,
    the steps (``("attribute", name)``, ``("call", "")``, ``("item", "")``) and what was typed.
    None when the end of ``text`` is not such a chain. ``pairs``: from :func:`_bracket_pairs`."""
    typed_start = _name_start(text, len(text))
    typed = text[typed_start:]
    position = _skip_blanks_back(text, typed_start)
    if position == 0 or text[position - 1] != ".":
        return None
    position -= 1
    steps: list[tuple[str, str]] = []
    while len(steps) < _MAX_CHAIN:
        position = _skip_blanks_back(text, position)
        if position == 0:
            return None
        last = text[position - 1]
        if last in ")]":
            opening = pairs.get(position - 1)
            if opening is None:
                return None
            steps.append(("call" if last == ")" else "item", ""))
            position = opening
            continue
        name_start = _name_start(text, position)
        name = text[name_start:position]
        if not name or name[0].isdigit():
            return None
        position = _skip_blanks_back(text, name_start)
        if position and text[position - 1] == ".":
            steps.append(("attribute", name))
            position -= 1
            continue
        if position and (text[position - 1].isalnum() or text[position - 1] in "_'\"\\"):
            return None  # e.g. a string prefix or a number: not a name standing alone
        steps.reverse()
        return name, steps, typed
    return None


def _name_start(text: str, end: int) -> int:
    """Where the name (maybe empty) that ends at ``end`` starts."""
    start = end
    while start and (text[start - 1].isalnum() or text[start - 1] == "_"):
        start -= 1
    return start


def _skip_blanks_back(text: str, position: int) -> int:
    while position and text[position - 1] in " \t":
        position -= 1
    return position


def scan_brackets(text: str) -> tuple[dict[int, int], list[int], bool] | None:
    """Closing → opening bracket positions, the brackets still open at the end, and whether the
    end is inside a string (strings and comments skipped); None when the end is in a comment."""
    pairs: dict[int, int] = {}
    opened: list[int] = []
    end = len(text)
    for token in _TOKENS.finditer(text):
        kind = token.lastgroup
        if kind == "bracket":
            if token[0] in "([{":
                opened.append(token.start())
            elif opened:
                pairs[token.start()] = opened.pop()
        elif token.end() == end:  # the cursor is in (or right after) a comment or string
            if kind == "comment":
                return None
            if token["close"] is None and token["close1"] is None:
                return pairs, opened, True
    return pairs, opened, False


def _bracket_pairs(text: str) -> dict[int, int] | str:
    """Where each closing bracket's opening bracket is; ``_IN_COMMENT`` / ``_IN_STRING`` when
    ``text`` ends inside one."""
    scanned = scan_brackets(text)
    if scanned is None:
        return _IN_COMMENT
    pairs, _opened, in_string = scanned
    return _IN_STRING if in_string else pairs


# -- jedi ---------------------------------------------------------------------------------

def _jedi_completions(source: str, line: int, column: int, path: str | None,
                      packages_root: Path | str | None = None) -> list[Completion]:
    import jedi  # imported on first use: it takes longer to import than the rest of the engine

    try:
        project = _jedi_project(path, packages_root)
        found = jedi.Script(code=source, path=path, project=project).complete(line, column)[:MAX_COMPLETIONS]
        return [_from_jedi(item, index < MAX_SIGNATURES) for index, item in enumerate(found)]
    except Exception:  # noqa: BLE001 - jedi fails in many ways on half-typed code; offer nothing
        return []


# (workspace root, set folder) -> its jedi.Project: jedi caches what it inferred per project.
_projects: dict[tuple[str, str], "jedi.Project"] = {}


def _jedi_project(path: str | None, packages_root: Path | str | None) -> "jedi.Project | None":
    """A project with the workspace's package set on its sys.path; None (jedi's default
    project) when the workspace has no installed set."""
    import jedi

    if packages_root is None:
        packages_root = imports.workspace_root(path)
    if packages_root is None:
        return None
    set_dir = import_names.workspace_set_dir(Path(packages_root))
    if set_dir is None:
        return None
    key = (str(packages_root), str(set_dir))
    project = _projects.get(key)
    if project is None:
        _projects.clear()  # a new set replaces the old one; keep one project per helper
        project = _projects[key] = jedi.Project(str(packages_root), added_sys_path=[str(set_dir)])
    return project


def _from_jedi(item: "jedi.api.classes.Completion", with_signature: bool) -> Completion:
    signature = ""
    # Only callables have signatures worth showing; inferring them is the slow part.
    if with_signature and item.type in ("function", "class"):
        signatures = item.get_signatures()
        signature = signatures[0].to_string() if signatures else ""
    return Completion(item.name, item.name, item.type, signature)
