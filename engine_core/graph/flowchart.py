"""One flow's handler as a flowchart, built from its AST: runs of plain statements become
one block, if/for/while/try/with/match become branches and loops, and the calls a flow
author cares about (this.flow, this.connect, log, message, set_output, return success/error)
get boxes of their own kinds. Line numbers are 1-based, as in the editor."""

from __future__ import annotations

import ast
from dataclasses import dataclass, field

from .scan import call_of, literal_arg, receiver_names

_LABEL_CHARS = 48
# this.<method> -> box kind, for statements whose call is worth a box of its own
_CALL_KINDS = {"flow": "flow", "connect": "connect", "log": "log", "message": "message",
               "set_output": "output", "sleep": "block"}
_TERMINAL_KINDS = {"success", "error", "return", "raise"}


@dataclass
class Box:
    id: int
    kind: str  # start end block if loop try except with flow connect log message output success error return raise
    label: str
    first_line: int
    last_line: int
    target: str | None = None  # the called flow (flow boxes) or connector type (connect boxes)


@dataclass
class Link:
    source: int
    target: int
    label: str = ""  # "yes" / "no" / "next" / "done" / "except" / "again"


@dataclass
class Flowchart:
    boxes: list[Box] = field(default_factory=list)
    links: list[Link] = field(default_factory=list)
    error: str | None = None  # no handler, or the source does not parse

    def box(self, box_id: int) -> Box:
        return self.boxes[box_id]

    def box_at_line(self, line: int) -> Box | None:
        """The innermost box covering ``line`` (start/end cover none)."""
        covering = [b for b in self.boxes if b.first_line <= line <= b.last_line and b.kind not in ("start", "end")]
        return min(covering, key=lambda b: (b.last_line - b.first_line, -b.id), default=None)

    def boxes_of_kind(self, kind: str) -> list[Box]:
        return [b for b in self.boxes if b.kind == kind]


Exits = list[tuple[int, str]]  # dangling arrows: (from box, label) waiting for the next box


class _Builder:
    def __init__(self, source: str, this: set[str]):
        self.chart = Flowchart()
        self.source = source
        # Split once: ast.get_source_segment splits the whole source on every call, which made
        # a 3,000-line handler take 30 s (it held the analysis process, so linting waited too).
        self._lines = source.splitlines(keepends=True)
        self.this = this
        self.loops: list[tuple[int, Exits]] = []  # (loop box, its break exits)

    def add(self, kind: str, label: str, first: int, last: int, exits: Exits, target: str | None = None) -> int:
        box = Box(len(self.chart.boxes), kind, _short(label), first, last, target)
        self.chart.boxes.append(box)
        for source, text in exits:
            self.chart.links.append(Link(source, box.id, text))
        return box.id

    def body(self, statements: list[ast.stmt], exits: Exits) -> Exits:
        plain: list[ast.stmt] = []
        for statement in statements:
            kind = self.special_kind(statement)
            if kind is None:
                plain.append(statement)
                continue
            exits = self.block(plain, exits)
            plain = []
            exits = self.statement(statement, kind, exits)
        return self.block(plain, exits)

    def block(self, plain: list[ast.stmt], exits: Exits) -> Exits:
        if not plain:
            return exits
        first, last = plain[0], plain[-1]
        label = self.text(first) + (f"  (+{len(plain) - 1} more)" if len(plain) > 1 else "")
        return [(self.add("block", label, first.lineno, _end(last), exits), "")]

    def special_kind(self, statement: ast.stmt) -> str | None:
        if isinstance(statement, (ast.If, ast.For, ast.AsyncFor, ast.While, ast.Try, ast.With, ast.AsyncWith,
                                  ast.Return, ast.Raise, ast.Break, ast.Continue, ast.Match)):
            return type(statement).__name__
        if hasattr(ast, "TryStar") and isinstance(statement, ast.TryStar):
            return "Try"
        call = self.this_call(statement)
        return _CALL_KINDS.get(call.func.attr) if call is not None else None  # type: ignore[union-attr]

    def this_call(self, statement: ast.AST) -> ast.Call | None:
        """The this.<method>(...) call a simple statement makes (assigned, chained or bare)."""
        for node in ast.walk(statement):
            if isinstance(node, ast.Call) and any(call_of(node, self.this, m) for m in _CALL_KINDS):
                return node
        return None

    def statement(self, statement: ast.stmt, kind: str, exits: Exits) -> Exits:
        handler = getattr(self, f"visit_{kind}", None)
        if handler is not None:
            return handler(statement, exits)
        call = self.this_call(statement)
        target = None
        if call is not None and kind in ("flow", "connect"):
            target = literal_arg(call, "flow_name" if kind == "flow" else "connector_type")[1]
        label = f"{kind}: {target}" if kind in ("flow", "connect") and target else self.text(statement)
        if kind in ("flow", "connect") and target is None:
            label = f"{kind}: (dynamic) {self.text(statement)}"
        return [(self.add(kind, label, statement.lineno, _end(statement), exits, target), "")]

    def visit_If(self, node: ast.If, exits: Exits) -> Exits:
        box = self.add("if", f"if {self.text(node.test)}", node.lineno, node.test.end_lineno or node.lineno, exits)
        yes = self.body(node.body, [(box, "yes")])
        no = self.body(node.orelse, [(box, "no")]) if node.orelse else [(box, "no")]
        return yes + no

    def visit_Match(self, node: ast.Match, exits: Exits) -> Exits:
        box = self.add("if", f"match {self.text(node.subject)}", node.lineno, node.subject.end_lineno or node.lineno, exits)
        out: Exits = [(box, "no match")]
        for case in node.cases:
            out += self.body(case.body, [(box, f"case {self.text(case.pattern)}")])
        return out

    def visit_For(self, node: ast.For | ast.AsyncFor, exits: Exits) -> Exits:
        header = f"for {self.text(node.target)} in {self.text(node.iter)}"
        return self.loop(node, header, node.iter.end_lineno or node.lineno, exits)

    visit_AsyncFor = visit_For

    def visit_While(self, node: ast.While, exits: Exits) -> Exits:
        return self.loop(node, f"while {self.text(node.test)}", node.test.end_lineno or node.lineno, exits)

    def loop(self, node, header: str, header_end: int, exits: Exits) -> Exits:
        box = self.add("loop", header, node.lineno, header_end, exits)
        self.loops.append((box, []))
        ends = self.body(node.body, [(box, "next")])
        for source, text in ends:
            self.chart.links.append(Link(source, box, text or "again"))
        _, breaks = self.loops.pop()
        done = self.body(node.orelse, [(box, "done")]) if node.orelse else [(box, "done")]
        return done + breaks

    def visit_Break(self, node: ast.Break, exits: Exits) -> Exits:
        box = self.add("block", "break", node.lineno, node.lineno, exits)
        if self.loops:
            self.loops[-1][1].append((box, "break"))
        return []

    def visit_Continue(self, node: ast.Continue, exits: Exits) -> Exits:
        box = self.add("block", "continue", node.lineno, node.lineno, exits)
        if self.loops:
            self.chart.links.append(Link(box, self.loops[-1][0], "continue"))
        return []

    def visit_Try(self, node: ast.Try, exits: Exits) -> Exits:
        box = self.add("try", "try", node.lineno, node.lineno, exits)
        ok = self.body(node.body, [(box, "")])
        out = self.body(node.orelse, ok) if node.orelse else ok
        for handler in node.handlers:
            label = f"except {self.text(handler.type)}" if handler.type is not None else "except"
            caught = self.add("except", label, handler.lineno, handler.lineno, [(box, "except")])
            out = out + self.body(handler.body, [(caught, "")])
        if node.finalbody:
            out = self.body(node.finalbody, out)
        return out

    def visit_With(self, node: ast.With | ast.AsyncWith, exits: Exits) -> Exits:
        items = ", ".join(self.text(item) for item in node.items)
        box = self.add("with", f"with {items}", node.lineno, node.items[-1].context_expr.end_lineno or node.lineno, exits)
        return self.body(node.body, [(box, "")])

    visit_AsyncWith = visit_With

    def visit_Return(self, node: ast.Return, exits: Exits) -> Exits:
        kind = "return"
        if node.value is not None and any(call_of(node.value, self.this, m) for m in ("success", "error")):
            kind = node.value.func.attr  # type: ignore[union-attr]
        self.add(kind, self.text(node), node.lineno, _end(node), exits)
        return []  # the end box is linked from every terminal box at the end

    def visit_Raise(self, node: ast.Raise, exits: Exits) -> Exits:
        self.add("raise", self.text(node), node.lineno, _end(node), exits)
        return []

    def text(self, node: ast.AST) -> str:
        return " ".join(_segment(self._lines, node).split())


def _segment(lines: list[str], node: ast.AST) -> str:
    """What ``ast.get_source_segment`` returns, from lines split once (offsets are UTF-8 bytes)."""
    end_lineno, end_col = getattr(node, "end_lineno", None), getattr(node, "end_col_offset", None)
    if end_lineno is None or end_col is None or node.lineno > len(lines):  # type: ignore[attr-defined]
        return ""
    first, last = node.lineno - 1, end_lineno - 1  # type: ignore[attr-defined]
    if first == last:
        return lines[first].encode()[node.col_offset:end_col].decode()  # type: ignore[attr-defined]
    head = lines[first].encode()[node.col_offset:].decode()  # type: ignore[attr-defined]
    tail = lines[last].encode()[:end_col].decode()
    return head + "".join(lines[first + 1:last]) + tail


def _short(text: str) -> str:
    return text if len(text) <= _LABEL_CHARS else text[: _LABEL_CHARS - 1] + "…"


def _end(node: ast.AST) -> int:
    return getattr(node, "end_lineno", None) or node.lineno  # type: ignore[attr-defined]


def build_flowchart(source: str) -> Flowchart:
    """The flowchart of the ``handler`` function in ``source``; with ``error`` set (and just
    start/end boxes) when there is none or the source does not parse."""
    try:
        tree = ast.parse(source)
    except SyntaxError as exc:
        return _empty(f"syntax error on line {exc.lineno}: {exc.msg}")
    handler = next((n for n in tree.body if isinstance(n, (ast.FunctionDef, ast.AsyncFunctionDef))
                    and n.name == "handler"), None)
    if handler is None:
        return _empty("no handler(system, this, inputs) function in this flow")
    this, _system = receiver_names(tree)
    builder = _Builder(source, this)
    start = builder.add("start", f"handler({', '.join(a.arg for a in handler.args.args)})",
                        handler.lineno, handler.lineno, [])
    ends = builder.body(handler.body, [(start, "")])
    end = builder.add("end", "end", _end(handler), _end(handler), ends)
    for box in builder.chart.boxes:
        if box.kind in _TERMINAL_KINDS:
            builder.chart.links.append(Link(box.id, end, ""))
    return builder.chart


def _empty(message: str) -> Flowchart:
    chart = Flowchart(error=message)
    chart.boxes = [Box(0, "start", "handler", 1, 1), Box(1, "end", "end", 1, 1)]
    chart.links = [Link(0, 1)]
    return chart
