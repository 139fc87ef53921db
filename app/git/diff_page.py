"""A changed file's side-by-side diff as a tab of the editor area (as VS Code and PyCharm show
one): a header saying what is compared (HEAD ↔ working tree) with the counts (+added
−removed), Previous/Next Change buttons, and the two versions in read-only editors whose rows
face each other and scroll together.

The versions are read and compared on a worker thread (``engine_core.vcs.diff.load``:
difflib takes ~0.3 s on a 5,000-line rewrite); a reload whose result has the same fingerprint
as the one shown changes nothing, so the status refreshes that follow every save keep the
scroll position. Keys as in VS Code's diff editor — Alt+F5 / Shift+Alt+F5, next/previous
change — and as in PyCharm's — F7 / Shift+F7."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Callable

from PySide6.QtCore import QEvent, Qt, QTimer, Signal
from PySide6.QtGui import QKeySequence, QShortcut
from PySide6.QtWidgets import (QHBoxLayout, QLabel, QSplitter, QStackedWidget, QToolButton, QVBoxLayout,
                               QWidget)

from engine_core.vcs.diff import FileDiff, Hunk, SideBySide, load

from ..tasks import run_in_background
from .diff_editor import COLOURS, DiffEditor

NEXT_KEYS = ("Alt+F5", "F7")
PREVIOUS_KEYS = ("Shift+Alt+F5", "Shift+F7")
COMPARED = "HEAD ↔ working tree"
_PAINT_SLICE_S = 0.008  # painting rows stops after this long and goes on after pending events
_ROWS_PER_STEP = 50


class DiffPage(QWidget):
    loaded = Signal()  # a (re)load finished and is shown (``ready``: every row painted)

    def __init__(self, path: str, original: str | None, root_of: Callable[[], Path | None],
                 theme_of: Callable[[], str], open_source: Callable[[str, int | None], None] | None = None,
                 parent=None):
        """``root_of()``: the repository's folder now (None: no repository any more);
        ``theme_of()``: the editor theme's name; ``open_source(path, line)`` opens the file."""
        super().__init__(parent)
        self.setObjectName("gitDiffPage")
        self.path, self.original = path, original
        self._root_of, self._theme_of, self._open_source = root_of, theme_of, open_source
        self._theme = theme_of()
        self._generation = 0  # a reload started before a newer one is dropped on arrival
        self._painting = 0  # likewise the row painting of a result replaced by a newer one
        self.result: FileDiff | None = None
        self.diff: SideBySide | None = None
        self.ready = False
        python = path.lower().endswith(".py")
        self.left = DiffEditor("left", python, self._theme)
        self.right = DiffEditor("right", python, self._theme)
        self._build()
        self._connect()

    # -- building ---------------------------------------------------------------------------
    def _build(self) -> None:
        self.title = QLabel(f"<b>{self.path}</b> &nbsp; {COMPARED}")
        self.title.setObjectName("gitDiffTitle")
        self.title.setTextFormat(Qt.TextFormat.RichText)
        self.counts = QLabel("")
        self.counts.setObjectName("gitDiffCounts")
        self.position = QLabel("")
        self.buttons = {
            "previous": _button("previous", "↑ Previous Change",
                                f"Go to the previous change ({' or '.join(PREVIOUS_KEYS)})", self.previous_change),
            "next": _button("next", "↓ Next Change", f"Go to the next change ({' or '.join(NEXT_KEYS)})",
                            self.next_change),
            "refresh": _button("refresh", "Refresh", "Compare again with the file as it is on disk now", self.reload),
            "open": _button("open", "Open File", "Open the file in an editor tab at this line", self.open_source),
        }
        if self._open_source is None:  # (setVisible(True) on a parentless button would show a window)
            self.buttons["open"].hide()
        header = QHBoxLayout()
        header.addWidget(self.title)
        header.addWidget(self.counts)
        header.addStretch(1)
        header.addWidget(self.position)
        for button in self.buttons.values():
            header.addWidget(button)
        self.left_title, self.right_title = QLabel("HEAD (last commit)"), QLabel("Working tree")
        splitter = QSplitter(Qt.Orientation.Horizontal)
        for title, editor in ((self.left_title, self.left), (self.right_title, self.right)):
            column = QWidget()
            layout = QVBoxLayout(column)
            layout.setContentsMargins(0, 0, 0, 0)
            layout.setSpacing(2)
            layout.addWidget(title)
            layout.addWidget(editor, 1)
            splitter.addWidget(column)
        splitter.setChildrenCollapsible(False)
        self.message = QLabel("Comparing…")
        self.message.setObjectName("gitDiffMessage")
        self.message.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.message.setWordWrap(True)
        self.message.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.stack = QStackedWidget()
        self.stack.addWidget(splitter)
        self.stack.addWidget(self.message)
        self.stack.setCurrentWidget(self.message)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(4, 4, 4, 0)
        layout.addLayout(header)
        layout.addWidget(self.stack, 1)

    def _connect(self) -> None:
        # Rows are aligned one for one, so the same first line and x offset match on both sides.
        for source, target in ((self.left, self.right), (self.right, self.left)):
            source.verticalScrollBar().valueChanged.connect(
                lambda value, t=target: t.firstVisibleLine() != value and t.setFirstVisibleLine(value))
            source.horizontalScrollBar().valueChanged.connect(
                lambda value, t=target: t.xOffset() != value and t.setXOffset(value))
        for keys, slot in ((NEXT_KEYS, self.next_change), (PREVIOUS_KEYS, self.previous_change)):
            for key in keys:
                # Only while the focus is in this page (the context is dropped if given with a slot).
                shortcut = QShortcut(QKeySequence(key), self, context=Qt.ShortcutContext.WidgetWithChildrenShortcut)
                shortcut.activated.connect(slot)

    # -- loading ----------------------------------------------------------------------------
    def reload(self) -> None:
        """Compare again (after a save, commit, revert…); ``self.original`` is the path in HEAD
        of a renamed file (None: not renamed)."""
        self._generation += 1
        generation = self._generation
        root = self._root_of()
        if root is None:
            self._show_message("The workspace is not a Git repository any more: nothing to compare.")
            self.loaded.emit()
            return
        run_in_background(load, root, self.path, self.original, owner=self,
                          on_done=lambda result: self._arrived(generation, result),
                          on_error=lambda message: self._failed(generation, message))

    def _arrived(self, generation: int, result: FileDiff) -> None:
        if generation != self._generation:
            return
        if self.result is not None and result.fingerprint == self.result.fingerprint:
            if self.ready:  # the same versions as shown: keep everything (scroll position too)
                self.loaded.emit()
            return
        first_load = self.result is None or self.diff is None
        self.result, self.diff = result, result.diff
        if result.diff is None:
            self._show_message(result.message)
            self.loaded.emit()
        else:
            self._show_diff(result, first_load)  # emits loaded when every row is painted

    def _failed(self, generation: int, message: str) -> None:
        if generation == self._generation:
            self.result = self.diff = None
            self._show_message(f"Could not compare {self.path}: {message}")
            self.loaded.emit()

    def _show_message(self, text: str) -> None:
        self.diff = None
        self._painting += 1
        self.ready = True
        self.message.setText(text)
        self.stack.setCurrentWidget(self.message)
        self.counts.setText("")
        self.position.setText("")
        for name in ("previous", "next"):
            self.buttons[name].setEnabled(False)

    def _show_diff(self, result: FileDiff, first_load: bool) -> None:
        diff = result.diff
        top = self.right.firstVisibleLine()
        self.left.show_side(diff.left)
        self.right.show_side(diff.right)
        self.ready = False
        self.left_title.setText("HEAD (last commit)" if result.old_exists else "HEAD: not there (a new file)")
        self.right_title.setText("Working tree" if result.new_exists else "Working tree: deleted")
        self._show_counts()
        self.stack.setCurrentIndex(0)
        for name in ("previous", "next"):
            self.buttons[name].setEnabled(bool(diff.hunks))
        if first_load and diff.hunks:
            self._go(diff.hunks[0])  # as VS Code: open on the first change
        else:
            for editor in (self.left, self.right):
                editor.setFirstVisibleLine(top)
            self.position.setText(f"{len(diff.hunks)} change{'s' if len(diff.hunks) != 1 else ''}")
        # What is on screen is painted first, the rest in slices of a few ms between events.
        start = max(0, self.right.firstVisibleLine() - 50)
        rows = max(len(diff.left.lines), len(diff.right.lines))
        self._painting += 1
        self._paint_rows(self._painting, [range(start, rows), range(0, start)])

    def _paint_rows(self, painting: int, todo: list[range]) -> None:
        if painting != self._painting:
            return  # a newer result is being shown
        deadline = time.perf_counter() + _PAINT_SLICE_S
        while todo and time.perf_counter() < deadline:
            rows = todo[0]
            for editor in (self.left, self.right):
                editor.decorate(rows[:_ROWS_PER_STEP])
            todo[0] = rows[_ROWS_PER_STEP:]
            if not todo[0]:
                todo.pop(0)
        if todo:
            QTimer.singleShot(0, self, lambda: self._paint_rows(painting, todo))
        else:
            self.ready = True
            self.loaded.emit()

    def _show_counts(self) -> None:
        if self.diff is None:
            return
        colours = COLOURS.get(self._theme, COLOURS["light"])
        self.counts.setText(f"<span style='color:{colours.added_sign}'>+{self.diff.added}</span>&nbsp;"
                            f"<span style='color:{colours.removed_sign}'>−{self.diff.removed}</span>")
        self.counts.setToolTip(f"{self.diff.added} line(s) added, {self.diff.removed} removed "
                               f"(a changed line counts as both)")

    # -- moving between changes ---------------------------------------------------------------
    def next_change(self) -> None:
        if self.diff is not None:
            self._go(self.diff.next_hunk(self._row()))

    def previous_change(self) -> None:
        if self.diff is not None:
            self._go(self.diff.previous_hunk(self._row()))

    def _row(self) -> int:
        return (self.left if self.left.hasFocus() else self.right).current_row()

    def _go(self, hunk: Hunk | None) -> None:
        if hunk is None or self.diff is None:
            return
        # The change a third of the way down, as VS Code reveals it: context above, room below.
        top = max(0, hunk.start - max(self.right.linesOnScreen(), 3) // 3)
        for editor in (self.left, self.right):
            editor.show_row(hunk.start, top)
        index = self.diff.hunks.index(hunk)
        self.position.setText(f"Change {index + 1} of {len(self.diff.hunks)}")

    def focus_editor(self) -> None:
        self.right.setFocus()

    def open_source(self) -> None:
        """Open the file itself at the caret's line (the working tree's number, or the nearest)."""
        if self._open_source is None:
            return
        line = None
        if self.diff is not None and self.diff.right.numbers:
            numbers = self.diff.right.numbers[:self.right.current_row() + 1]
            line = next((n for n in reversed(numbers) if n is not None), 1)
        self._open_source(self.path, line)

    # -- theme --------------------------------------------------------------------------------
    def changeEvent(self, event: QEvent) -> None:
        super().changeEvent(event)
        if event.type() in (QEvent.Type.ApplicationPaletteChange, QEvent.Type.PaletteChange):
            # The window switches the palette before telling the tabs the theme's name: ask later.
            QTimer.singleShot(0, self, self._restyle)

    def _restyle(self) -> None:
        theme = self._theme_of()
        if theme != self._theme:
            self._theme = theme
            for editor in (self.left, self.right):
                editor.set_theme(theme)
            self._show_counts()


def _button(name: str, text: str, tooltip: str, slot: Callable[[], None]) -> QToolButton:
    button = QToolButton(text=text)
    button.setObjectName(f"gitDiff{name.capitalize()}Button")
    button.setToolTip(tooltip)
    button.setAutoRaise(True)
    button.clicked.connect(lambda _=False: slot())
    return button
