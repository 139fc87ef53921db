"""Breakpoints and the current execution line in the editor's breakpoint margin.

Markers 0-3 are the debugger's (see code_editor.py): 0 breakpoint, 1 disabled breakpoint,
2 conditional breakpoint or logpoint, 3 the current-line arrow; marker 6 paints the
current line's background. Scintilla moves markers with edits, so the lines of breakpoints
are read back from the markers, not kept on the side."""

from __future__ import annotations

from pyside6_scintilla import Scintilla, ScintillaEdit

from .themes import Theme, bgr

_S = Scintilla
BREAKPOINT, DISABLED, CONDITIONAL, ARROW = 0, 1, 2, 3
CURRENT_LINE_BACKGROUND = 6
_BREAKPOINT_MASK = 1 << BREAKPOINT | 1 << DISABLED | 1 << CONDITIONAL
_MARGIN_WIDTH = 16
_KIND_MARKER = {"enabled": BREAKPOINT, "disabled": DISABLED, "conditional": CONDITIONAL}


class DebugMarkers:
    def __init__(self, editor: ScintillaEdit, margin: int):
        self._editor = editor
        self._margin = margin
        editor.markerDefine(BREAKPOINT, _S.MarkerSymbol.Circle)
        editor.markerDefine(DISABLED, _S.MarkerSymbol.Circle)
        editor.markerDefine(CONDITIONAL, _S.MarkerSymbol.RoundRect)
        editor.markerDefine(ARROW, _S.MarkerSymbol.ShortArrow)
        editor.markerDefine(CURRENT_LINE_BACKGROUND, _S.MarkerSymbol.Background)
        editor.setMarginWidthN(margin, _MARGIN_WIDTH)
        editor.setMarginSensitiveN(margin, True)  # a click there toggles a breakpoint

    def restyle(self, theme: Theme) -> None:
        e = self._editor
        for marker in (BREAKPOINT, CONDITIONAL):
            e.markerSetFore(marker, bgr(theme.error))
            e.markerSetBack(marker, bgr(theme.error))
        e.markerSetFore(DISABLED, bgr(theme.error))
        e.markerSetBack(DISABLED, bgr(theme.margin_background))
        e.markerSetFore(ARROW, bgr(theme.warning))
        e.markerSetBack(ARROW, bgr(theme.warning))
        e.markerSetBack(CURRENT_LINE_BACKGROUND, bgr(theme.current_execution_line))

    def set_breakpoints(self, breakpoints: dict[int, str]) -> None:
        """``{line (1-based): "enabled" | "disabled" | "conditional"}``"""
        e = self._editor
        for marker in _KIND_MARKER.values():
            e.markerDeleteAll(marker)
        for line, kind in breakpoints.items():
            if 1 <= line <= e.lineCount():
                e.markerAdd(line - 1, _KIND_MARKER.get(kind, BREAKPOINT))

    def breakpoint_lines(self) -> list[int]:
        """1-based lines that carry a breakpoint now (after any edits moved them)."""
        e = self._editor
        lines, line = [], e.markerNext(0, _BREAKPOINT_MASK)
        while line >= 0:
            lines.append(line + 1)
            line = e.markerNext(line + 1, _BREAKPOINT_MASK)
        return lines

    def set_execution_line(self, line: int | None) -> None:
        e = self._editor
        e.markerDeleteAll(ARROW)
        e.markerDeleteAll(CURRENT_LINE_BACKGROUND)
        if line is not None and 1 <= line <= e.lineCount():
            e.markerAdd(line - 1, ARROW)
            e.markerAdd(line - 1, CURRENT_LINE_BACKGROUND)

    def execution_line(self) -> int | None:
        line = self._editor.markerNext(0, 1 << ARROW)
        return line + 1 if line >= 0 else None
