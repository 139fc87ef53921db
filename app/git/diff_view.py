"""Side-by-side diff: two read-only text views, lines aligned with difflib, removed lines
red on the left, added green on the right, changed yellow on both; they scroll together."""

from __future__ import annotations

import difflib

from PySide6.QtGui import QColor, QFont, QTextCursor, QTextFormat
from PySide6.QtWidgets import QHBoxLayout, QLabel, QPlainTextEdit, QTextEdit, QVBoxLayout, QWidget

REMOVED, ADDED, CHANGED, FILLER = "#ffd7d5", "#d4f8d4", "#fff3c4", "#f0f0f0"


def align(left: str, right: str) -> tuple[list[tuple[str, str | None]], list[tuple[str, str | None]]]:
    """Both sides as (line, colour) rows of equal count; a gap on one side is a filler row."""
    a, b = left.splitlines(), right.splitlines()
    rows_a: list[tuple[str, str | None]] = []
    rows_b: list[tuple[str, str | None]] = []
    for tag, i1, i2, j1, j2 in difflib.SequenceMatcher(None, a, b, autojunk=False).get_opcodes():
        if tag == "equal":
            rows_a += [(line, None) for line in a[i1:i2]]
            rows_b += [(line, None) for line in b[j1:j2]]
            continue
        colour_a, colour_b = (CHANGED, CHANGED) if tag == "replace" else (REMOVED, ADDED)
        left_part = [(line, colour_a) for line in a[i1:i2]]
        right_part = [(line, colour_b) for line in b[j1:j2]]
        height = max(len(left_part), len(right_part))
        rows_a += left_part + [("", FILLER)] * (height - len(left_part))
        rows_b += right_part + [("", FILLER)] * (height - len(right_part))
    return rows_a, rows_b


class DiffView(QWidget):
    def __init__(self, parent=None):
        super().__init__(parent)
        self.left, self.right = _pane("diffLeft"), _pane("diffRight")
        self.left_title, self.right_title = QLabel("Committed (HEAD)"), QLabel("Working copy")
        layout = QHBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        for title, pane in ((self.left_title, self.left), (self.right_title, self.right)):
            column = QVBoxLayout()
            column.addWidget(title)
            column.addWidget(pane)
            layout.addLayout(column)
        # Scrolling either side scrolls both: rows are aligned, so the same value matches.
        self.left.verticalScrollBar().valueChanged.connect(self.right.verticalScrollBar().setValue)
        self.right.verticalScrollBar().valueChanged.connect(self.left.verticalScrollBar().setValue)
        self.changed_rows = 0

    def set_texts(self, left: str, right: str, left_title: str = "Committed (HEAD)",
                  right_title: str = "Working copy") -> None:
        rows_a, rows_b = align(left, right)
        self.left_title.setText(left_title)
        self.right_title.setText(right_title)
        _fill(self.left, rows_a)
        _fill(self.right, rows_b)
        self.changed_rows = sum(1 for _, colour in rows_b if colour not in (None, FILLER)) + \
            sum(1 for _, colour in rows_a if colour == REMOVED)

    def clear(self) -> None:
        self.set_texts("", "")


def _pane(name: str) -> QPlainTextEdit:
    pane = QPlainTextEdit()
    pane.setObjectName(name)
    pane.setReadOnly(True)
    pane.setLineWrapMode(QPlainTextEdit.LineWrapMode.NoWrap)
    pane.setFont(QFont("monospace"))
    return pane


def _fill(pane: QPlainTextEdit, rows: list[tuple[str, str | None]]) -> None:
    pane.setPlainText("\n".join(line for line, _ in rows))
    selections = []
    block = pane.document().firstBlock()
    for _, colour in rows:
        if colour is not None:
            selection = QTextEdit.ExtraSelection()
            selection.format.setBackground(QColor(colour))
            selection.format.setProperty(QTextFormat.Property.FullWidthSelection, True)
            selection.cursor = QTextCursor(block)
            selections.append(selection)
        block = block.next()
    pane.setExtraSelections(selections)
