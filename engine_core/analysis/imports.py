"""Imports of modules that are not installed: ``import yaml`` in a workspace that has no PyYAML
is a ``ModuleNotFoundError`` only when the flow runs; the linter says so while it is typed,
with a quick fix that adds the distribution to ``requirements.txt``.

A module counts as there when it is in the standard library, Flowdesk's environment or the
workspace's installed package set. A ``.py`` / package folder in the workspace's ``flows/`` is
reported differently: workers do not import from there, and the fix is ``this.flow`` or a package,
not a requirement. Not flagged: relative imports, imports guarded by
``try: ... except ImportError`` (the flow has a fallback) and imports under ``if TYPE_CHECKING:``.

The lint's pyflakes checker collects the import statements on its walk (see ``lint.py``) and
knows each node's parent, which tells guarded imports from the rest without another walk.
"""

from __future__ import annotations

import ast
import os
import re
from collections.abc import Callable, Iterable
from pathlib import Path

from engine_core.packages import import_names
from engine_core.workspace import FLOWS_DIR

from .problems import Problem, QuickFix

SOURCE = "packages"
FIX_KIND = "add_requirement"

# Exceptions whose handler catches a failed import.
_CATCHES_IMPORT = frozenset({"ImportError", "ModuleNotFoundError", "Exception", "BaseException"})
_SCOPES = (ast.FunctionDef, ast.AsyncFunctionDef, ast.Lambda, ast.ClassDef, ast.Module)

# A folder -> (its mtime_ns, the module names in it): flows/ is listed again only after a
# file in it was added, removed or renamed.
_local_listings: dict[str, tuple[int, frozenset[str]]] = {}


def workspace_root(flow_path: str | os.PathLike | None) -> Path | None:
    """The workspace a flow file belongs to: the folder holding its ``flows/``; None for a file
    elsewhere (or no file)."""
    if not flow_path or str(flow_path).startswith("<"):
        return None
    folder = Path(flow_path).parent
    return folder.parent if folder.name == FLOWS_DIR else None


def message(module: str, distribution: str) -> str:
    return f"module {module!r} is not installed: add {distribution} to requirements.txt"


def flow_import_message(module: str) -> str:
    return (f"{module!r} is in the workspace's flows/ folder, which flows cannot import from: "
            f"call a flow with this.flow({module!r}), or make shared code a package in requirements.txt")


def fix_for(distribution: str) -> QuickFix:
    return QuickFix(f"Add {distribution} to requirements.txt and install", FIX_KIND, distribution)


def problems(nodes: Iterable[ast.Import | ast.ImportFrom], lines: list[str], filename: str,
             packages_root: Path | str, parent_of: Callable[[ast.AST], ast.AST | None]) -> list[Problem]:
    """A warning with a quick fix for each absolute import whose module is not there;
    ``parent_of(node)``: the node's parent in the tree (None at the top)."""
    root = Path(packages_root)
    modules = import_names.WorkspaceModules(root)
    local: frozenset[str] | None = None  # listed on the first import that is not installed
    found = []
    for node in nodes:
        for name, alias in _imported_modules(node):
            missing = modules.missing(name)
            if missing is None:
                continue
            if local is None:
                local = _local_modules(filename, root)
            if _guarded(node, parent_of):
                continue
            line, column, end_column = _position(node, alias, name, lines)
            top = missing.partition(".")[0]
            if top in local:
                # A worker does not put flows/ on sys.path (a flow is run, not imported), so this
                # fails when the flow runs; requirements.txt is not the fix.
                found.append(Problem(line, column, flow_import_message(top), "warning", SOURCE, end_column))
                continue
            distribution = modules.distribution(missing) or missing
            found.append(Problem(line, column, message(missing, distribution), "warning", SOURCE, end_column,
                                 fix=fix_for(distribution)))
    return found


def _imported_modules(node: ast.Import | ast.ImportFrom) -> list[tuple[str, ast.alias | None]]:
    if isinstance(node, ast.Import):
        return [(alias.name, alias) for alias in node.names]
    if node.level or not node.module:
        return []  # relative: a module of the flow's own package
    return [(node.module, None)]


def _guarded(node: ast.AST, parent_of: Callable[[ast.AST], ast.AST | None]) -> bool:
    """Whether the import runs inside a ``try`` whose handlers catch ImportError (in the same
    function: an import in a function defined inside the ``try`` runs later, unguarded), or
    under ``if TYPE_CHECKING:``, which never runs."""
    child, parent = node, parent_of(node)
    while parent is not None and not isinstance(parent, _SCOPES):
        if isinstance(parent, (ast.Try, getattr(ast, "TryStar", ast.Try))) and child in parent.body:
            if any(_catches_import(handler) for handler in parent.handlers):
                return True
        elif isinstance(parent, ast.If) and child in parent.body and _is_type_checking(parent.test):
            return True
        child, parent = parent, parent_of(parent)
    return False


def _catches_import(handler: ast.ExceptHandler) -> bool:
    if handler.type is None:  # a bare except
        return True
    types = handler.type.elts if isinstance(handler.type, ast.Tuple) else [handler.type]
    return any(_last_name(kind) in _CATCHES_IMPORT for kind in types)


def _is_type_checking(test: ast.expr) -> bool:
    return _last_name(test) == "TYPE_CHECKING"


def _last_name(node: ast.expr) -> str | None:
    if isinstance(node, ast.Name):
        return node.id
    if isinstance(node, ast.Attribute):
        return node.attr
    return None


def _local_modules(filename: str, root: Path) -> frozenset[str]:
    """Module names importable from the flow's own folder and the workspace's flows/."""
    names: set[str] = set()
    folders = {str(root / FLOWS_DIR)}
    if filename and not filename.startswith("<"):
        folders.add(os.path.dirname(os.path.abspath(filename)))
    for folder in folders:
        names |= _listing(folder)
    return frozenset(names)


def _listing(folder: str) -> frozenset[str]:
    try:
        mtime = os.stat(folder).st_mtime_ns
    except OSError:
        return frozenset()
    cached = _local_listings.get(folder)
    if cached is not None and cached[0] == mtime:
        return cached[1]
    names = set()
    try:
        with os.scandir(folder) as entries:
            for entry in entries:
                stem = entry.name[:-3] if entry.name.endswith(".py") else entry.name
                if stem.isidentifier() and (entry.name.endswith(".py") or entry.is_dir()):
                    names.add(stem)
    except OSError:
        pass
    listing = frozenset(names)
    _local_listings[folder] = (mtime, listing)
    return listing


def _position(node: ast.Import | ast.ImportFrom, alias: ast.alias | None, name: str,
              lines: list[str]) -> tuple[int, int, int | None]:
    """(line, column, end column) of the module's name in the statement, in characters."""
    from .lint import _char_column, _line  # lint imports this module

    if alias is not None and getattr(alias, "lineno", None):
        line_text = _line(lines, alias.lineno)
        column = _char_column(line_text, alias.col_offset)
        return alias.lineno, column, column + len(name)
    line_text = _line(lines, node.lineno)
    start = _char_column(line_text, node.col_offset)
    # 'from yaml import x': the name follows 'from' (perhaps after a line continuation).
    found = re.compile(rf"(?<![\w.]){re.escape(name)}(?![\w])").search(line_text, start)
    if found is None:
        return node.lineno, start, None
    return node.lineno, found.start(), found.end()
