"""The Python code editor: Scintilla with Lexilla's Python lexer, set up the way a VS Code
user expects (margins, folding, brace matching, auto-indent, find, comments, problems)."""

from __future__ import annotations

import keyword

import lexilla
from PySide6.QtCore import QObject, Qt, Signal
from PySide6.QtGui import QKeyEvent, QKeySequence, QShortcut
from PySide6.QtWidgets import QInputDialog, QWidget
from pyside6_scintilla import Scintilla, ScintillaEdit

from engine_core.analysis import Completion, Problem

from .comments import toggle_comment
from .completion import CompletionList, wants_completion
from .debug_markers import DebugMarkers
from .find_bar import FindBar
from .problems import ProblemOverlay
from .search import Query
from .typing_aids import INDENT, auto_indent, highlight_braces
from . import search
from .themes import STYLE, THEMES, apply_theme

_S = Scintilla

# Margins, left to right. Margin 1 is left empty for breakpoints: markers 0-3 are reserved for
# breakpoints and the current-execution-line arrow (see problems.py for the problem markers).
LINE_NUMBER_MARGIN = 0
BREAKPOINT_MARGIN = 1
BREAKPOINT_MARKERS_MASK = 0b1111
FOLD_MARGIN = 3
FOLD_MARGIN_WIDTH = 14
MARGIN_COUNT = 4

_FOLD_MARKERS = {  # VS Code-like boxed +/- with tree lines
    _S.MarkerOutline.Folder: _S.MarkerSymbol.BoxPlus,
    _S.MarkerOutline.FolderOpen: _S.MarkerSymbol.BoxMinus,
    _S.MarkerOutline.FolderSub: _S.MarkerSymbol.VLine,
    _S.MarkerOutline.FolderTail: _S.MarkerSymbol.LCorner,
    _S.MarkerOutline.FolderEnd: _S.MarkerSymbol.BoxPlusConnected,
    _S.MarkerOutline.FolderOpenMid: _S.MarkerSymbol.BoxMinusConnected,
    _S.MarkerOutline.FolderMidTail: _S.MarkerSymbol.TCorner,
}
_MASK_FOLDERS = 0xFE000000
_SOFT_KEYWORDS = ("match", "case", "type", "_")
_EDITS = _S.ModificationFlags.InsertText | _S.ModificationFlags.DeleteText


class CodeEditor(ScintillaEdit):
    dirtyChanged = Signal(bool)
    textEdited = Signal()  # every insertion/deletion after set_text (typing, undo, API calls)
    cursorLineChanged = Signal(int)  # 1-based
    completionRequested = Signal()
    breakpointToggled = Signal(int)  # 1-based line: a click in the breakpoint margin

    def __init__(self, parent=None, *, python: bool = True):
        """``python=False``: plain text (Lexilla's null lexer), e.g. a workspace file that is
        not a ``.py``; editing, find and themes are the same."""
        super().__init__(parent)
        self._loading = False
        self._caret_line = 0
        self._setup_lexer(python)
        self._setup_editing()
        self._setup_margins()
        self._problems = ProblemOverlay(self)
        self.debug_markers = DebugMarkers(self, BREAKPOINT_MARGIN)
        self._completions = CompletionList(self)
        self.find_bar = FindBar(self)
        self.find_bar.shownChanged.connect(self._place_find_bar)
        self._setup_shortcuts()
        self._connect_notifications()
        self.set_theme("light")

    # -- setup ------------------------------------------------------------------------------
    def _setup_lexer(self, python: bool) -> None:
        if not python:
            self.setILexer(lexilla.create_lexer("null").detach())  # every character in the default style
            return
        lexer = lexilla.create_lexer("python")
        lexer.property_set("fold", "1")
        lexer.property_set("fold.compact", "0")  # blank lines after a block stay visible when folded
        lexer.property_set("fold.quotes.python", "1")
        # Soft keywords only as keywords, not as attributes (re.match, node.type).
        lexer.property_set("lexer.python.keywords2.no.sub.identifiers", "1")
        self.setILexer(lexer.detach())  # the editor owns the lexer from now on
        hard = [k for k in keyword.kwlist if k not in _SOFT_KEYWORDS]
        self.setKeyWords(0, " ".join(hard))
        self.setKeyWords(1, " ".join(_SOFT_KEYWORDS[:-1]))  # "_" alone is too common to colour

    def _setup_editing(self) -> None:
        self.setCodePage(_S.CpUtf8)
        self.setEOLMode(_S.EndOfLine.Lf)
        self.setUseTabs(False)
        self.setTabWidth(INDENT)
        self.setIndent(INDENT)
        self.setTabIndents(True)
        self.setBackSpaceUnIndents(True)
        self.setIndentationGuides(_S.IndentView.LookBoth)
        self.setCaretLineVisible(True)
        self.setCaretLineVisibleAlways(True)
        self.setCaretWidth(2)
        self.setScrollWidthTracking(True)  # no horizontal scrollbar for short files
        self.setScrollWidth(1)
        self.setEndAtLastLine(False)
        self.setMultipleSelection(True)
        self.setAdditionalSelectionTyping(True)
        self.setModEventMask(_EDITS)
        self.usePopUp(_S.PopUp.Text)
        # Scintilla binds Ctrl+/ to a word-part move; toggle comment must win even if a key
        # event reaches Scintilla without passing Qt's shortcut map.
        self.clearCmdKey(ord("/") | _S.KeyMod.Ctrl << 16)

    def _setup_margins(self) -> None:
        self.setMargins(MARGIN_COUNT)
        self.setMarginTypeN(LINE_NUMBER_MARGIN, _S.MarginType.Number)
        self.setMarginTypeN(BREAKPOINT_MARGIN, _S.MarginType.Symbol)
        self.setMarginMaskN(BREAKPOINT_MARGIN, BREAKPOINT_MARKERS_MASK)
        self.setMarginLeft(4)
        self.setMarginTypeN(FOLD_MARGIN, _S.MarginType.Symbol)
        self.setMarginMaskN(FOLD_MARGIN, _MASK_FOLDERS)
        self.setMarginWidthN(FOLD_MARGIN, FOLD_MARGIN_WIDTH)
        self.setMarginSensitiveN(FOLD_MARGIN, True)
        for marker, symbol in _FOLD_MARKERS.items():
            self.markerDefine(marker, symbol)
        # Scintilla folds on fold-margin clicks itself and keeps folds consistent on edits.
        self.setAutomaticFold(_S.AutomaticFold.Show | _S.AutomaticFold.Click | _S.AutomaticFold.Change)
        self.setFoldFlags(_S.FoldFlag.LineAfterContracted)

    def _setup_shortcuts(self) -> None:
        bindings = {
            "Ctrl+F": lambda: self.show_find(False),
            "Ctrl+H": lambda: self.show_find(True),
            "Ctrl+G": self.prompt_go_to_line,
            "Ctrl+/": self.toggle_comment,
            "Ctrl+Space": self.completionRequested.emit,
            "F3": lambda: self.find_bar.find(),
            "Shift+F3": lambda: self.find_bar.find(backwards=True),
        }
        for keys, slot in bindings.items():
            # WidgetWithChildren: active while the editor or its find bar has focus, and not
            # ambiguous with the same keys in another editor on screen (the two sides of a diff).
            # Connected afterwards: PySide6 6.11 drops a context given together with a slot.
            shortcut = QShortcut(QKeySequence(keys), self, context=Qt.ShortcutContext.WidgetWithChildrenShortcut)
            shortcut.activated.connect(slot)

    def _connect_notifications(self) -> None:
        self.savePointChanged.connect(self.dirtyChanged.emit)
        self.modified.connect(self._modified)
        self.updateUi.connect(self._update_ui)
        self.charAdded.connect(self._char_added)
        self.marginClicked.connect(self._margin_clicked)

    # -- Qt names that ScintillaEdit shadows with Scintilla messages ------------------------
    # SCI_SETFOCUS / SCI_SETPROPERTY / SCI_GETPROPERTY hide QWidget.setFocus() and the QObject
    # dynamic properties the rest of the IDE relies on; lexer properties are set on the lexer.
    def setFocus(self, reason: Qt.FocusReason = Qt.FocusReason.OtherFocusReason) -> None:
        QWidget.setFocus(self, reason)

    def setProperty(self, name: str, value: object) -> bool:
        return QObject.setProperty(self, name, value)

    def property(self, name: str) -> object:
        return QObject.property(self, name)

    # -- text and dirtiness -----------------------------------------------------------------
    def text(self) -> str:
        return bytes(self.getText(self.length() + 1)).decode("utf-8")

    def set_text(self, text: str) -> None:
        """Replace the whole content as a freshly opened file: no undo history, clean."""
        self._loading = True
        try:
            self.setEOLMode(_S.EndOfLine.CrLf if "\r\n" in text else _S.EndOfLine.Lf)
            self.setText(text)
            self.emptyUndoBuffer()
            self.setSavePoint()
        finally:
            self._loading = False
        self.setEmptySelection(0)
        self._update_line_number_width()

    def is_dirty(self) -> bool:
        return self.modify()

    def mark_clean(self) -> None:
        self.setSavePoint()

    def _modified(self, kind: int, _position: int, _length: int, lines_added: int, *_rest) -> None:
        if lines_added:
            self._update_line_number_width()
        if kind & _EDITS and not self._loading:
            self.textEdited.emit()

    def _update_line_number_width(self) -> None:
        digits = max(3, len(str(self.lineCount())))
        width = self.textWidth(STYLE.LineNumber, "9" * digits) + 12
        if width != self.marginWidthN(LINE_NUMBER_MARGIN):
            self.setMarginWidthN(LINE_NUMBER_MARGIN, width)

    # -- caret and lines --------------------------------------------------------------------
    def current_line(self) -> int:
        return self.lineFromPosition(self.currentPos()) + 1

    def cursor_position(self) -> tuple[int, int]:
        """(1-based line, 0-based column in characters) of the caret."""
        caret = self.currentPos()
        line = self.lineFromPosition(caret)
        return line + 1, self.countCharacters(self.positionFromLine(line), caret)

    def go_to_line(self, line: int) -> None:
        index = min(max(line, 1), self.lineCount()) - 1
        self.ensureVisibleEnforcePolicy(index)  # unfolds the line if it is folded away
        self.gotoLine(index)
        self.verticalCentreCaret()
        self.setFocus()
        self._update_caret_line()

    def select_lines(self, first: int, last: int) -> None:
        first_index = min(max(first, 1), self.lineCount()) - 1
        last_index = min(max(last, first_index + 1), self.lineCount()) - 1
        self.ensureVisibleEnforcePolicy(first_index)
        self.setSel(self.positionFromLine(first_index), self.lineEndPosition(last_index))
        self._update_caret_line()

    def prompt_go_to_line(self) -> None:
        line, ok = QInputDialog.getInt(self, "Go to Line", f"Line (1 - {self.lineCount()}):",
                                       self.current_line(), 1, self.lineCount())
        if ok:
            self.go_to_line(line)

    def _update_ui(self, updated: int) -> None:
        if updated & (_S.Update.Selection | _S.Update.Content):
            self._update_caret_line()
            highlight_braces(self)

    def _update_caret_line(self) -> None:
        line = self.current_line()
        if line != self._caret_line:
            self._caret_line = line
            self.cursorLineChanged.emit(line)

    # -- typing -----------------------------------------------------------------------------
    def _char_added(self, char: int) -> None:
        if char == ord("\n"):
            auto_indent(self)
        elif char in (ord("."), ord("'"), ord('"')) and self.selections() == 1:
            line, column = self.cursor_position()
            if wants_completion(self.line_text(line - 1)[:column], chr(char)):
                self.completionRequested.emit()

    def line_text(self, index: int) -> str:
        start, end = self.positionFromLine(index), self.lineEndPosition(index)
        return bytes(self.textRange(start, end)).decode("utf-8")

    def keyPressEvent(self, event: QKeyEvent) -> None:
        # Escape closes popups first (Scintilla), then the find bar, as in VS Code.
        if (event.key() == Qt.Key.Key_Escape and self.find_bar.isVisible()
                and not self.autoCActive() and not self.callTipActive()):
            self.find_bar.close_bar()
            return
        super().keyPressEvent(event)

    def toggle_comment(self) -> None:
        """Ctrl+/: comment or uncomment the selected lines (see ``comments.toggle_comment``)."""
        toggle_comment(self)

    # -- find and replace -------------------------------------------------------------------
    def show_find(self, replace: bool = False) -> None:
        self.find_bar.open(replace)

    def find_next(self, text: str, *, case: bool = False, word: bool = False, regex: bool = False,
                  backwards: bool = False) -> bool:
        return search.find(self, Query(text, case, word, regex), backwards=backwards) is not None

    def replace_all(self, find: str, replace: str, *, case: bool = False, word: bool = False,
                    regex: bool = False) -> int:
        return search.replace_all(self, Query(find, case, word, regex), replace)

    def _place_find_bar(self, _shown: bool = False) -> None:
        """The bar sits under the text, above the horizontal scrollbar: the viewport gives up
        its height while the bar is shown."""
        bar = self.find_bar
        height = bar.sizeHint().height() if bar.isVisible() else 0
        self.setViewportMargins(0, 0, 0, height)
        if bar.isVisible():
            viewport = self.viewport().geometry()
            bar.setGeometry(viewport.left(), viewport.bottom() + 1, viewport.width(), height)
            bar.raise_()

    def resizeEvent(self, event) -> None:
        super().resizeEvent(event)
        self._place_find_bar()

    # -- problems ---------------------------------------------------------------------------
    def set_problems(self, problems: list[Problem]) -> None:
        self._problems.set_problems(problems)

    def problems_at_line(self, line: int) -> list[Problem]:
        return self._problems.problems_at_line(line)

    def indicator_ranges(self) -> list[tuple[int, int, str]]:
        return self._problems.indicator_ranges()

    def problem_tooltip(self, line: int) -> str:
        """The tooltip shown when hovering the line's problem marker."""
        return self._problems.tooltip_for_line(line)

    def tooltip_at_point(self, x: int, y: int) -> str:
        """The tooltip shown when the mouse rests at viewport point (x, y)."""
        return self._problems.tooltip_at_point(x, y)

    # -- completion -------------------------------------------------------------------------
    def show_completions(self, items: list[Completion], typed_prefix_len: int) -> None:
        self._completions.show(items, typed_prefix_len)

    # -- themes -----------------------------------------------------------------------------
    def _margin_clicked(self, position: int, _modifiers: int, margin: int) -> None:
        if margin == BREAKPOINT_MARGIN:
            self.breakpointToggled.emit(self.lineFromPosition(position) + 1)

    # -- debugging --------------------------------------------------------------------------
    def set_breakpoints(self, breakpoints: dict[int, str]) -> None:
        """``{line: "enabled" | "disabled" | "conditional"}`` markers in the breakpoint margin."""
        self.debug_markers.set_breakpoints(breakpoints)

    def breakpoint_lines(self) -> list[int]:
        return self.debug_markers.breakpoint_lines()

    def set_execution_line(self, line: int | None) -> None:
        """Show where the debugger stopped (arrow and line colour); None clears it."""
        self.debug_markers.set_execution_line(line)
        if line is not None:
            self.go_to_line(line)

    def execution_line(self) -> int | None:
        return self.debug_markers.execution_line()

    def set_theme(self, name: str) -> None:
        theme = THEMES.get(name, THEMES["light"])
        apply_theme(self, theme)
        self._problems.restyle(theme)
        self.debug_markers.restyle(theme)
        self._update_line_number_width()  # the margin font may have changed
