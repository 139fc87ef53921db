"""Lint a flow script: syntax errors, pyflakes findings, unknown flow names, the handler shape,
misspelt members of ``this`` / ``system`` and imports of modules that are not installed.

The source is parsed once; the same tree feeds pyflakes and the flow-specific checks, because
the editor lints on every pause in typing and a long flow must still come back at once.
"""

from __future__ import annotations

import ast
import difflib
import re
from collections.abc import Iterable, Mapping
from pathlib import Path

from pyflakes import checker, messages

from . import api_model, connect_calls, imports
from .problems import Problem

HANDLER_HINT = "a flow needs 'def handler(system, this, inputs)'"

# pyflakes findings that make the flow fail when it is compiled or run; everything else
# (unused names, redefinitions, style slips) is a warning. Matched by class name so that
# classes missing from an older or newer pyflakes simply never match.
_ERROR_MESSAGES = frozenset({
    "UndefinedName", "UndefinedLocal", "UndefinedExport",
    "ImportStarNotPermitted", "DuplicateArgument", "FutureFeatureNotDefined", "LateFutureImport",
    "ReturnOutsideFunction", "YieldOutsideFunction", "ContinueOutsideLoop", "BreakOutsideLoop",
    "DefaultExceptNotLast", "TwoStarredExpressions", "TooManyExpressionsInStarredAssignment",
    "LazyImportNotAtModuleScope", "LazyImportStarNotPermitted", "InvalidPrintSyntax",
    "PercentFormatInvalidFormat", "PercentFormatMissingArgument", "PercentFormatExpectedMapping",
    "PercentFormatExpectedSequence", "PercentFormatPositionalCountMismatch",
    "PercentFormatUnsupportedFormatCharacter", "PercentFormatMixedPositionalAndNamed",
    "StringDotFormatInvalidFormat", "StringDotFormatMissingArgument", "StringDotFormatMixingAutomatic",
})

# pyflakes findings whose first argument is the identifier they are about (to underline it).
_NAME_MESSAGES = frozenset({
    "UndefinedName", "UndefinedLocal", "UndefinedExport", "UnusedImport", "UnusedVariable",
    "UnusedAnnotation", "RedefinedWhileUnused", "ImportShadowedByLoopVar", "ImportStarUsage",
    "DuplicateArgument", "EagerUseOfLazyImport",
})

# Builtins whose second argument names an attribute: such names are not reported as misspelt.
_ATTRIBUTE_FUNCTIONS = frozenset({"setattr", "getattr", "hasattr", "delattr"})

# Python ends lines at \n, \r\n or \r only (str.splitlines also splits at \f, \x1c, ...).
_LINE_BREAK = re.compile(r"\r\n|\r|\n")


def lint(source: str, filename: str = "<flow>", known_flows: Iterable[str] | None = None,
         connector_records: Mapping[str, str] | None = None, *,
         packages_root: Path | str | None = None) -> list[Problem]:
    """All problems in ``source``, sorted by (line, column). Never raises.

    ``known_flows``: the flow names of the workspace; when given, ``.flow('Name')`` calls naming
    another flow are reported. ``this.connect('TYPE', ...)`` calls with a literal type are
    checked against the connector's declared parameters; ``connector_records`` (the workspace's
    stored records, name → type) tells record names from misspelt types. ``packages_root``: the
    workspace's root; when given, imports of modules that are neither in the standard library,
    Flowdesk's environment, the workspace's packages nor beside the flow are reported, with a
    quick fix (see ``imports``). A syntax error is the only problem reported for a file that does
    not parse, since nothing else can be checked then.
    """
    lines = _LINE_BREAK.split(source)
    tree_or_problem = _parse(source, filename, lines)
    if isinstance(tree_or_problem, Problem):
        return [tree_or_problem]
    try:
        checked = _FlowChecker(tree_or_problem, filename, _handler(tree_or_problem))
    except RecursionError:
        # pyflakes recurses per nesting level; a generated expression (1+1+...+1) can be
        # parseable yet too deep for it. Say so rather than fail or claim the file is clean.
        problems = [Problem(1, 0, "too deeply nested to check for undefined names", "warning", "pyflakes")]
        return problems + _handler_problems(tree_or_problem, lines)
    problems = [_pyflakes_problem(message, lines) for message in checked.messages]
    problems += _handler_problems(tree_or_problem, lines)
    problems += _member_problems(checked, lines)
    problems += connect_calls.problems(checked.connect_calls, lines, connector_records)
    if packages_root is not None:
        try:
            problems += imports.problems(checked.imports, lines, filename, packages_root, checked.parent_of)
        except Exception:  # noqa: BLE001 - advisory: a broken package set or metadata must not stop the lint
            pass
    if known_flows is not None:
        problems += _flow_reference_problems(checked.flow_name_literals, lines, set(known_flows))
    return sorted(problems, key=lambda problem: (problem.line, problem.column))


# -- syntax -------------------------------------------------------------------------------

def _parse(source: str, filename: str, lines: list[str]) -> ast.Module | Problem:
    """The module's tree, or the Problem describing why it does not parse."""
    null_at = source.find("\0")
    if null_at >= 0:
        # Depending on the Python version compile raises ValueError or a SyntaxError
        # without a position; either way the user needs to see where the byte is.
        line = source.count("\n", 0, null_at) + 1
        column = null_at - (source.rfind("\n", 0, null_at) + 1)
        return Problem(line, column, "SyntaxError: source code cannot contain null bytes",
                       "error", "syntax", column + 1)
    try:
        return ast.parse(source, filename=filename)
    except SyntaxError as error:  # also IndentationError and TabError
        return _syntax_problem(error, lines)
    except (ValueError, MemoryError, RecursionError) as error:
        # Deeply nested expressions exhaust the parser (MemoryError, RecursionError), and some
        # Python versions raise ValueError for invalid source: report, do not crash the editor.
        return Problem(1, 0, f"{type(error).__name__}: {error}", "error", "syntax")


def _syntax_problem(error: SyntaxError, lines: list[str]) -> Problem:
    line = min(max(error.lineno or 1, 1), len(lines))
    # SyntaxError offsets are 1-based characters; Problem columns are 0-based.
    column = max((error.offset or 1) - 1, 0)
    end_column = None
    if error.end_lineno == line and error.end_offset and error.end_offset - 1 > column:
        end_column = error.end_offset - 1
    return Problem(line, column, f"{type(error).__name__}: {error.msg}", "error", "syntax", end_column)


# -- pyflakes -----------------------------------------------------------------------------

class _FlowChecker(checker.Checker):
    """pyflakes, also collecting on its way the flow-name literals of ``.flow(...)`` calls and
    the attributes read from the handler's ``system`` and ``this``.

    pyflakes already visits every call and attribute (dispatching on the node type's name,
    CALL, ATTRIBUTE), so collecting here saves a second walk over the whole tree (about 10 ms
    on 3,000 lines). It also knows, at each attribute, which binding a name has: only reads of
    the handler's own parameters are collected, not of a name that was reassigned or shadowed.
    """

    def __init__(self, tree: ast.Module, filename: str, handler: ast.FunctionDef | ast.AsyncFunctionDef | None):
        self.flow_name_literals: list[ast.Constant] = []
        self.connect_calls: list[ast.Call] = []  # this.connect(...) / this.using(...).task(...)
        self.imports: list[ast.Import | ast.ImportFrom] = []  # every import statement, for imports.py
        # Reads of a name the handler's `system` / `this` does not have: (node, its class, the
        # parameter's name). Real members are skipped at once: they are nearly every read.
        self.api_attributes: list[tuple[ast.Attribute, type, str]] = []
        # Attribute names assigned, deleted or named in setattr/hasattr/getattr anywhere:
        # never reported, whatever object they were set on.
        self.dynamic_attributes: set[str] = set()
        self._api_classes: dict[str, type] = {}
        self._api_members: dict[str, frozenset[str]] = {}
        self._api_sources: tuple[ast.AST, ...] = ()
        if handler is not None:
            arguments = [*handler.args.posonlyargs, *handler.args.args][:2]
            for argument, cls in zip(arguments, api_model.HANDLER_PARAMETER_CLASSES):
                members = api_model.real_attribute_names(cls)
                if members is not None:  # None: the class answers any name
                    self._api_classes[argument.arg] = cls
                    self._api_members[argument.arg] = members
            # pyflakes 4 binds an argument to its ast.arg, pyflakes 3 to the function.
            self._api_sources = (handler, *arguments)
        super().__init__(tree, filename=filename, withDoctest=False)

    def CALL(self, node: ast.Call) -> None:  # noqa: N802 - the name pyflakes dispatches to
        literal = _flow_name_literal(node)
        if literal is not None:
            self.flow_name_literals.append(literal)
        function = node.func
        if (type(function) is ast.Name and function.id in _ATTRIBUTE_FUNCTIONS and len(node.args) >= 2
                and type(node.args[1]) is ast.Constant and isinstance(node.args[1].value, str)):
            self.dynamic_attributes.add(node.args[1].value)
        if connect_calls.connect_call_of(node):
            root = connect_calls.call_root(node)
            if (type(root) is ast.Name and self._api_classes.get(root.id) is api_model.HANDLER_PARAMETER_CLASSES[1]
                    and self._is_handler_parameter(root.id)):
                self.connect_calls.append(node)
        super().CALL(node)

    def IMPORT(self, node: ast.Import) -> None:  # noqa: N802
        self.imports.append(node)
        super().IMPORT(node)

    def IMPORTFROM(self, node: ast.ImportFrom) -> None:  # noqa: N802
        self.imports.append(node)
        super().IMPORTFROM(node)

    def ATTRIBUTE(self, node: ast.Attribute) -> None:  # noqa: N802
        if type(node.ctx) is not ast.Load:
            self.dynamic_attributes.add(node.attr)
        else:
            value = node.value
            if (type(value) is ast.Name and value.id in self._api_members
                    and node.attr not in self._api_members[value.id] and self._is_handler_parameter(value.id)):
                self.api_attributes.append((node, self._api_classes[value.id], value.id))
        self.handleChildren(node)

    def parent_of(self, node: ast.AST) -> ast.AST | None:
        """The node's parent as pyflakes recorded it (a dict in pyflakes 4, an attribute before)."""
        parents = getattr(self, "_parents", None)
        if parents is not None:
            return parents.get(node)
        return getattr(node, "_pyflakes_parent", None)

    def _is_handler_parameter(self, name: str) -> bool:
        """Whether ``name`` here is still the handler's parameter: the innermost binding of the
        name is that argument (a class body's names are not seen from functions inside it)."""
        current = self.scope
        for scope in reversed(self.scopeStack):
            binding = scope.get(name)
            if binding is not None and (scope is current or not isinstance(scope, checker.ClassScope)):
                return type(binding) is checker.Argument and binding.source in self._api_sources
        return False


def _pyflakes_problem(message: messages.Message, lines: list[str]) -> Problem:
    kind = type(message).__name__
    severity = "error" if kind in _ERROR_MESSAGES else "warning"
    text = message.message % message.message_args
    line_text = _line(lines, message.lineno)
    column = _char_column(line_text, message.col)
    span = _name_span(line_text, column, _subject_name(message))
    if span is None:
        return Problem(message.lineno, column, text, severity, "pyflakes")
    return Problem(message.lineno, span[0], text, severity, "pyflakes", span[1])


def _subject_name(message: messages.Message) -> str | None:
    """The identifier a message is about, when its first argument is one."""
    if type(message).__name__ not in _NAME_MESSAGES or not message.message_args:
        return None
    name = message.message_args[0]
    # UnusedImport names 'module.name as alias'; what is written (and unused) is the alias.
    return name.rpartition(" as ")[2]


def _name_span(line_text: str, column: int, name: str | None) -> tuple[int, int] | None:
    """Where ``name`` is written as a whole word at or after ``column`` on the line.

    pyflakes points at the statement for imports and definitions ('import os', 'def f'),
    so the name is looked for rather than assumed to start at ``column``.
    """
    if not name:
        return None
    found = re.compile(rf"(?<![\w.]){re.escape(name)}(?!\w)").search(line_text, column)
    return (found.start(), found.end()) if found else None


# -- handler ------------------------------------------------------------------------------

def _handler(tree: ast.Module) -> ast.FunctionDef | ast.AsyncFunctionDef | None:
    """The module-level ``def handler``; the last definition is the one that runs."""
    handlers = [node for node in tree.body
                if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)) and node.name == "handler"]
    return handlers[-1] if handlers else None


def _handler_problems(tree: ast.Module, lines: list[str]) -> list[Problem]:
    handler = _handler(tree)
    if handler is None:
        return [Problem(1, 0, HANDLER_HINT, "warning", "flows")]
    arguments = handler.args
    positional = len(arguments.posonlyargs) + len(arguments.args)
    # Old flows (Cloudomation's older shape) have `def handler(system, this)`: both run.
    # A *args handler accepts the three arguments as long as it does not demand more.
    if positional in (2, 3) or (arguments.vararg is not None and positional < 3):
        return []
    span = _name_span(_line(lines, handler.lineno), 0, "handler")
    column, end_column = span if span else (0, None)
    message = f"handler takes {positional} positional parameters; {HANDLER_HINT}"
    return [Problem(handler.lineno, column, message, "warning", "flows", end_column)]


# -- members of system and this -----------------------------------------------------------

def _member_problems(checked: _FlowChecker, lines: list[str]) -> list[Problem]:
    """``this.sucess(...)``: a member the flow API does not have, read from the handler's
    ``system`` or ``this`` parameter (the checker collected those that are not real members).
    Names assigned (or set with setattr) anywhere in the flow and private names are left alone;
    a class answering any name (``__getattr__``) too."""
    problems = []
    for node, cls, parameter in checked.api_attributes:
        name = node.attr
        if name.startswith("_") or name in checked.dynamic_attributes:
            continue
        message = f"{parameter} ({cls.__module__.partition('.')[0]}.{cls.__name__}) has no member {name!r}"
        close = _close_match(name, api_model.public_member_names(cls))
        if close:
            message += f"; did you mean {close!r}?"
        # The name ends where the attribute node ends (`this\n    .sucess` included).
        line_text = _line(lines, node.end_lineno)
        end_column = _char_column(line_text, node.end_col_offset)
        column = max(end_column - len(name), 0)
        problems.append(Problem(node.end_lineno, column, message, "error", "flows", end_column))
    return problems


# -- flow references ----------------------------------------------------------------------

def _flow_reference_problems(literals: list[ast.Constant], lines: list[str],
                             known_flows: set[str]) -> list[Problem]:
    problems = []
    for literal in literals:
        if literal.value in known_flows:
            continue
        # A literal split over lines cannot be underlined on one line; mark its start.
        line_text = _line(lines, literal.lineno)
        column = _char_column(line_text, literal.col_offset)
        end_column = None
        if literal.end_lineno == literal.lineno and literal.end_col_offset is not None:
            end_column = _char_column(line_text, literal.end_col_offset)
        problems.append(Problem(literal.lineno, column, _unknown_flow_message(literal.value, known_flows),
                                "error", "flows", end_column))
    return problems


def _flow_name_literal(node: ast.AST) -> ast.Constant | None:
    """The string literal naming the flow in ``<anything>.flow('Name', ...)``, if ``node`` is one."""
    if not (isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute) and node.func.attr == "flow"):
        return None
    candidates = node.args[:1] + [keyword.value for keyword in node.keywords if keyword.arg == "flow_name"]
    for candidate in candidates:
        if isinstance(candidate, ast.Constant) and isinstance(candidate.value, str):
            return candidate
    return None  # a name built at run time: nothing to check


def _unknown_flow_message(name: str, known_flows: set[str]) -> str:
    message = f"no flow {name!r} in this workspace"
    close = _close_match(name, known_flows)
    return f"{message}; did you mean {close!r}?" if close else message


def _close_match(name: str, candidates: Iterable[str]) -> str | None:
    close = difflib.get_close_matches(name, candidates, n=1)
    if not close:
        # difflib's ratio is case-sensitive; 'calculator' should still suggest 'Calculator'.
        folded = {candidate.casefold(): candidate for candidate in candidates}
        close = [folded[match] for match in difflib.get_close_matches(name.casefold(), folded, n=1)]
    return close[0] if close else None


# -- positions ----------------------------------------------------------------------------

def _line(lines: list[str], lineno: int) -> str:
    return lines[lineno - 1] if 0 < lineno <= len(lines) else ""


def _char_column(line_text: str, byte_offset: int) -> int:
    """ast columns count UTF-8 bytes; the editor counts characters."""
    if line_text.isascii():
        return byte_offset
    return len(line_text.encode("utf-8")[:byte_offset].decode("utf-8", errors="ignore"))
