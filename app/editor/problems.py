"""Lint problems drawn in the editor: a squiggle under the range, a marker in the problems
margin, the messages as a tooltip when the mouse rests on either, and their quick fixes
(Ctrl+., a click on the marker; see quick_fix.py)."""

from __future__ import annotations

from PySide6.QtCore import QObject, QPoint
from PySide6.QtWidgets import QToolTip
from pyside6_scintilla import Scintilla, ScintillaEdit

from engine_core.analysis import Problem

from .quick_fix import QuickFixes
from .themes import Theme, bgr

_S = Scintilla

# Marker numbers 0-3 are reserved for breakpoints and the current-execution-line arrow (margin 1);
# problems use 4 and 5 in their own margin so the two never hide each other.
ERROR_MARKER = 4
WARNING_MARKER = 5
PROBLEMS_MARGIN = 2
PROBLEMS_MARGIN_WIDTH = 12
# The first indicator numbers free for the application (INDICATOR_CONTAINER).
ERROR_INDICATOR = _S.IndicatorNumbers.Container
WARNING_INDICATOR = _S.IndicatorNumbers.Container + 1
DWELL_MS = 400

_MARKER = {"error": ERROR_MARKER, "warning": WARNING_MARKER}
_INDICATOR = {"error": ERROR_INDICATOR, "warning": WARNING_INDICATOR}


class ProblemOverlay(QObject):
    """Owns the problem markers/indicators of one editor and answers hover questions."""

    def __init__(self, editor: ScintillaEdit):
        super().__init__(editor)
        self._editor = editor
        self._problems: list[Problem] = []
        self._setup()
        self.quick_fixes = QuickFixes(editor, self.problems_at_line, PROBLEMS_MARGIN)

    def _setup(self) -> None:
        e = self._editor
        e.setMarginTypeN(PROBLEMS_MARGIN, _S.MarginType.Symbol)
        e.setMarginWidthN(PROBLEMS_MARGIN, PROBLEMS_MARGIN_WIDTH)
        e.setMarginMaskN(PROBLEMS_MARGIN, 1 << ERROR_MARKER | 1 << WARNING_MARKER)
        e.markerDefine(ERROR_MARKER, _S.MarkerSymbol.Circle)
        e.markerDefine(WARNING_MARKER, _S.MarkerSymbol.ShortArrow)
        for indicator in _INDICATOR.values():
            e.indicSetStyle(indicator, _S.IndicatorStyle.SquigglePixmap)
            e.indicSetUnder(indicator, True)
        e.setMouseDwellTime(DWELL_MS)
        e.dwellStart.connect(self._dwell_start)
        e.dwellEnd.connect(lambda _x, _y: QToolTip.hideText())

    def restyle(self, theme: Theme) -> None:
        e = self._editor
        for severity, colour in (("error", theme.error), ("warning", theme.warning)):
            e.indicSetFore(_INDICATOR[severity], bgr(colour))
            e.markerSetFore(_MARKER[severity], bgr(colour))
            e.markerSetBack(_MARKER[severity], bgr(colour))

    # -- showing ----------------------------------------------------------------------------
    def set_problems(self, problems: list[Problem]) -> None:
        self._clear()
        self._problems = list(problems)
        # Errors last, so an error squiggle wins where an error and a warning overlap.
        for problem in sorted(self._problems, key=lambda p: p.severity == "error"):
            self._show(problem)

    def _clear(self) -> None:
        e = self._editor
        for indicator in _INDICATOR.values():
            e.setIndicatorCurrent(indicator)
            e.indicatorClearRange(0, e.length())
        for marker in _MARKER.values():
            e.markerDeleteAll(marker)

    def _show(self, problem: Problem) -> None:
        e = self._editor
        line = problem.line - 1
        if not 0 <= line < e.lineCount():
            return  # the text changed since the lint ran; the next lint brings fresh problems
        severity = problem.severity if problem.severity in _MARKER else "warning"
        e.markerAdd(line, _MARKER[severity])
        start, end = self.problem_range(problem)
        if end > start:
            e.setIndicatorCurrent(_INDICATOR[severity])
            e.indicatorFillRange(start, end - start)

    def problem_range(self, problem: Problem) -> tuple[int, int]:
        """Document byte positions [start, end) of a problem, converting character columns."""
        e = self._editor
        line = problem.line - 1
        line_start = e.positionFromLine(line)
        line_end = e.lineEndPosition(line)
        start = self._column_position(line_start, line_end, problem.column)
        if problem.end_column is not None:
            end = self._column_position(line_start, line_end, problem.end_column)
        else:
            end = e.wordEndPosition(start, True)
            if end == start:  # not on an identifier: to the end of the line
                end = line_end
        if end == start and start > line_start:  # e.g. "unexpected EOF" at the end: mark the last char
            start = e.positionBefore(start)
        return start, end

    def _column_position(self, line_start: int, line_end: int, column: int) -> int:
        """Byte position of a character column, clamped to the line (columns may be stale)."""
        if column <= 0:
            return line_start
        # positionRelative answers 0 when the column runs past the end of the document.
        pos = self._editor.positionRelative(line_start, column)
        return line_end if pos <= line_start or pos > line_end else pos

    # -- queries ----------------------------------------------------------------------------
    def problems_at_line(self, line: int) -> list[Problem]:
        """Problems whose marker is on the 1-based line (markers follow edits, so ask Scintilla)."""
        e = self._editor
        if not 1 <= line <= e.lineCount():
            return []
        mask = e.markerGet(line - 1)
        return [p for p in self._problems if mask & (1 << _MARKER.get(p.severity, WARNING_MARKER))
                and p.line == line]

    def indicator_ranges(self) -> list[tuple[int, int, str]]:
        """(start_pos, length, severity) of every squiggle currently in the document."""
        e = self._editor
        ranges = []
        for severity, indicator in _INDICATOR.items():
            pos = 0
            while pos < e.length():
                end = e.indicatorEnd(indicator, pos)
                if e.indicatorValueAt(indicator, pos):
                    ranges.append((pos, end - pos, severity))
                if end <= pos:
                    break
                pos = end
        return sorted(ranges)

    def tooltip_for_line(self, line: int) -> str:
        return "\n".join(f"{p.severity.capitalize()}: {p.message}" for p in self.problems_at_line(line))

    def tooltip_at_position(self, pos: int) -> str:
        """Messages of the problems whose squiggle covers the document position."""
        e = self._editor
        line = e.lineFromPosition(pos) + 1
        hit = [p for p in self.problems_at_line(line) if self._covers(p, pos)]
        return "\n".join(f"{p.severity.capitalize()}: {p.message}" for p in hit)

    def _covers(self, problem: Problem, pos: int) -> bool:
        start, end = self.problem_range(problem)
        return start <= pos < end

    # -- hover ------------------------------------------------------------------------------
    def tooltip_at_point(self, x: int, y: int) -> str:
        """Tooltip text for a point in the viewport: margins give the line's problems, text the
        problems under the mouse."""
        e = self._editor
        text_left = sum(e.marginWidthN(m) for m in range(e.margins()))
        if x < text_left:
            line = e.lineFromPosition(e.positionFromPoint(text_left, y)) + 1
            return self.tooltip_for_line(line)
        pos = e.positionFromPointClose(x, y)
        return self.tooltip_at_position(pos) if pos >= 0 else ""

    def _dwell_start(self, x: int, y: int) -> None:
        text = self.tooltip_at_point(x, y)
        if text:
            viewport = self._editor.viewport()
            QToolTip.showText(viewport.mapToGlobal(QPoint(x, y)), text, viewport)
