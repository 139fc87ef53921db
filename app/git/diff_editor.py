"""One side of the side-by-side diff: the IDE's Scintilla ``CodeEditor`` (Python highlighting
for a ``.py``), read-only, with each row's kind painted as a line background (removed, added,
changed, filler), a −/+ sign in the gutter, the characters that differ inside a changed line
darkened, and the file's own line numbers in the number margin (blank on filler rows, which
exist only to keep the two sides aligned).

Which rows carry which background is read back from Scintilla's markers (``rows_marked``),
so a test checks what is painted, not what was meant."""

from __future__ import annotations

from dataclasses import dataclass

from pyside6_scintilla import Scintilla

from engine_core.vcs.diff import ADDED, CHANGED, FILLER, REMOVED, Side

from ..editor import CodeEditor
from ..editor.code_editor import BREAKPOINT_MARGIN, FOLD_MARGIN, LINE_NUMBER_MARGIN
from ..editor.problems import PROBLEMS_MARGIN
from ..editor.themes import STYLE, bgr

_S = Scintilla
# Marker numbers: 0-6 are the editor's (breakpoints, problems, execution line), 25-31 folding.
BACKGROUND_MARKERS = {REMOVED: 7, ADDED: 8, CHANGED: 9, FILLER: 10}
_SIGN_MARKERS = {REMOVED: 11, ADDED: 12}
_SIGN_SYMBOLS = {REMOVED: _S.MarkerSymbol.Minus, ADDED: _S.MarkerSymbol.Plus}
SIGN_MARGIN = PROBLEMS_MARGIN  # a diff has no lint problems: its gutter shows − and +
INLINE_INDICATOR = _S.IndicatorNumbers.Container + 2  # 0/1 above Container are the problems'


@dataclass(frozen=True)
class DiffColours:
    """Line backgrounds (as VS Code's diff editor blends them over the editor background) and
    the stronger tone for the characters that differ inside a changed line."""

    removed: str
    added: str
    changed: str
    filler: str
    removed_sign: str
    added_sign: str
    removed_chars: str
    added_chars: str


COLOURS = {
    "light": DiffColours(removed="#ffd7d5", added="#dcf5dc", changed="#dde8f8", filler="#f0f0f0",
                         removed_sign="#c62828", added_sign="#2e7d32",
                         removed_chars="#ff9c96", added_chars="#9fdf9f"),
    "dark": DiffColours(removed="#4b1d1d", added="#233d23", changed="#1e3250", filler="#2a2a2b",
                        removed_sign="#f14c4c", added_sign="#73c991",
                        removed_chars="#8a2c2c", added_chars="#3a6b2f"),
}


class DiffEditor(CodeEditor):
    def __init__(self, role: str, python: bool, theme: str = "light", parent=None):
        """``role``: "left" (HEAD: its changed characters are removed ones) or "right"."""
        super().__init__(parent, python=python)
        self.setObjectName(f"diff{role.capitalize()}")
        self._role = role
        self._side = Side()
        self.setReadOnly(True)
        # Folding or breakpoints would break the row-for-row alignment with the other side.
        self.setMarginWidthN(BREAKPOINT_MARGIN, 0)
        self.setMarginWidthN(FOLD_MARGIN, 0)
        self.setAutomaticFold(0)
        self.setMarginTypeN(LINE_NUMBER_MARGIN, _S.MarginType.RText)  # the file's numbers, not the row's
        self.setMarginMaskN(SIGN_MARGIN, sum(1 << m for m in _SIGN_MARKERS.values()))
        self.setCaretLineFrame(2)  # a frame, so the caret line keeps its diff colour
        for kind, marker in BACKGROUND_MARKERS.items():
            self.markerDefine(marker, _S.MarkerSymbol.Background)
        for kind, marker in _SIGN_MARKERS.items():
            self.markerDefine(marker, _SIGN_SYMBOLS[kind])
        self.indicSetStyle(INLINE_INDICATOR, _S.IndicatorStyle.StraightBox)
        self.indicSetUnder(INLINE_INDICATOR, True)
        self.indicSetAlpha(INLINE_INDICATOR, 255)
        self.indicSetOutlineAlpha(INLINE_INDICATOR, 0)
        self.set_theme(theme)

    def set_theme(self, name: str) -> None:
        super().set_theme(name)
        if not hasattr(self, "_role"):  # CodeEditor.__init__ applies the default theme first
            return
        colours = COLOURS.get(name, COLOURS["light"])
        for kind, marker in BACKGROUND_MARKERS.items():
            self.markerSetBack(marker, bgr(getattr(colours, kind)))
        for kind, marker in _SIGN_MARKERS.items():
            colour = bgr(getattr(colours, f"{kind}_sign"))
            self.markerSetFore(marker, colour)
            self.markerSetBack(marker, colour)
        self.indicSetFore(INLINE_INDICATOR, bgr(colours.removed_chars if self._role == "left" else colours.added_chars))

    def show_side(self, side: Side) -> None:
        """Show ``side``'s text; its rows are painted by ``decorate`` (in slices, by the page)."""
        self.setReadOnly(False)
        self.set_text("\n".join(side.lines))
        self.setReadOnly(True)
        self._side = side
        for marker in (*BACKGROUND_MARKERS.values(), *_SIGN_MARKERS.values()):
            self.markerDeleteAll(marker)
        self.marginTextClearAll()
        self.setIndicatorCurrent(INLINE_INDICATOR)
        self.indicatorClearRange(0, self.length())

    def decorate(self, rows: range) -> None:
        """Paint ``rows``: line number, background, sign, differing characters. Each row costs
        a few calls into Scintilla (~25 µs), so a 5,000-line rewrite is painted in slices
        between events rather than in one long stall."""
        side = self._side
        for row in rows:
            if row >= len(side.kinds):
                break
            kind, number = side.kinds[row], side.numbers[row]
            if number is not None:
                self.marginSetText(row, str(number))
                self.marginSetStyle(row, STYLE.LineNumber)
            if kind in BACKGROUND_MARKERS:
                self.markerAdd(row, BACKGROUND_MARKERS[kind])
            if kind in _SIGN_MARKERS:
                self.markerAdd(row, _SIGN_MARKERS[kind])
            if row in side.differing:
                self._mark_characters(row, side.lines[row], side.differing[row])

    def _mark_characters(self, row: int, line: str, ranges: list[tuple[int, int]]) -> None:
        self.setIndicatorCurrent(INLINE_INDICATOR)
        start = self.positionFromLine(row)
        for first, last in ranges:
            if line.isascii():  # character offsets are Scintilla's byte positions
                self.indicatorFillRange(start + first, last - first)
            else:  # UTF-8: count the bytes before and inside the range
                begin = start + len(line[:first].encode("utf-8"))
                self.indicatorFillRange(begin, len(line[first:last].encode("utf-8")))

    # -- reading back what is painted ---------------------------------------------------------
    def rows_marked(self, kind: str) -> list[int]:
        """0-based rows whose background says ``kind`` (removed, added, changed, filler)."""
        mask, rows = 1 << BACKGROUND_MARKERS[kind], []
        row = self.markerNext(0, mask)
        while row >= 0:
            rows.append(row)
            row = self.markerNext(row + 1, mask)
        return rows

    def line_number_at(self, row: int) -> str:
        """The number shown in the margin for ``row`` ('' for a filler row)."""
        return bytes(self.marginText(row)).decode("utf-8") if row < self.lineCount() else ""

    def highlighted_text(self) -> list[str]:
        """The character runs darkened as differing inside changed lines."""
        runs, position = [], 0
        while position < self.length():
            end = self.indicatorEnd(INLINE_INDICATOR, position)
            if self.indicatorValueAt(INLINE_INDICATOR, position) and end > position:
                runs.append(bytes(self.textRange(position, end)).decode("utf-8"))
            if end <= position:
                break
            position = end
        return runs

    def current_row(self) -> int:
        return self.current_line() - 1

    def show_row(self, row: int, first_visible: int) -> None:
        """Caret on ``row``, scrolled so that ``first_visible`` is the top line."""
        row = min(max(row, 0), max(self.lineCount() - 1, 0))
        self.gotoLine(row)
        self.setFirstVisibleLine(first_visible)
