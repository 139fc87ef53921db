"""The find / replace bar shown under the editor (Ctrl+F, Ctrl+H), in the manner of VS Code."""

from __future__ import annotations

from PySide6.QtCore import Qt, Signal
from PySide6.QtGui import QKeyEvent, QKeySequence, QShortcut
from PySide6.QtWidgets import QGridLayout, QLabel, QLineEdit, QToolButton, QWidget
from pyside6_scintilla import ScintillaEdit

from . import search
from .search import InvalidRegex, Query


class FindBar(QWidget):
    shownChanged = Signal(bool)  # the editor reserves room for the bar while it is shown

    def __init__(self, editor: ScintillaEdit):
        super().__init__(editor)
        self.setObjectName("findBar")
        self.setAutoFillBackground(True)
        self._editor = editor
        self.find_edit = self._line_edit("Find", "Find (Enter: next, Shift+Enter: previous)")
        self.replace_edit = self._line_edit("Replace", "Replace (Enter: replace and find next)")
        self.case_button = self._option("Aa", "Match Case")
        self.word_button = self._option("ab", "Match Whole Word")
        self.regex_button = self._option(".*", "Use Regular Expression")
        self.status_label = QLabel("", self)
        self.status_label.setMinimumWidth(90)
        self._layout_widgets()
        self._connect()
        self.hide()

    # -- construction -----------------------------------------------------------------------
    def _line_edit(self, placeholder: str, tip: str) -> QLineEdit:
        edit = QLineEdit(self)
        edit.setPlaceholderText(placeholder)
        edit.setToolTip(tip)
        edit.setClearButtonEnabled(True)
        edit.installEventFilter(self)
        return edit

    def _option(self, text: str, tip: str) -> QToolButton:
        button = QToolButton(self)
        button.setText(text)
        button.setToolTip(tip)
        button.setCheckable(True)
        button.setAutoRaise(True)
        button.toggled.connect(self._search_as_typed)
        return button

    def _button(self, text: str, tip: str, slot) -> QToolButton:
        button = QToolButton(self)
        button.setText(text)
        button.setToolTip(tip)
        button.setAutoRaise(True)
        button.clicked.connect(slot)
        return button

    def _layout_widgets(self) -> None:
        grid = QGridLayout(self)
        grid.setContentsMargins(6, 3, 6, 3)
        grid.setHorizontalSpacing(4)
        grid.setVerticalSpacing(2)
        grid.addWidget(self.find_edit, 0, 0)
        for column, widget in enumerate((
                self.case_button, self.word_button, self.regex_button, self.status_label,
                self._button("↑", "Previous Match (Shift+Enter)", lambda: self.find(backwards=True)),
                self._button("↓", "Next Match (Enter)", lambda: self.find()),
                self._button("✕", "Close (Escape)", self.close_bar)), start=1):
            grid.addWidget(widget, 0, column)
        grid.addWidget(self.replace_edit, 1, 0)
        self.replace_button = self._button("Replace", "Replace (Enter)", self.replace)
        self.replace_all_button = self._button("Replace All", "Replace All", self.replace_all)
        grid.addWidget(self.replace_button, 1, 1, 1, 2)
        grid.addWidget(self.replace_all_button, 1, 3, 1, 2)
        grid.setColumnStretch(0, 1)

    def _connect(self) -> None:
        self.find_edit.textEdited.connect(self._search_as_typed)
        # Escape closes from anywhere in the bar; the editor keeps Escape for its popups. F3 and
        # Shift+F3 are the editor's shortcuts, which also apply here (the bar is its child).
        # (The slot is connected afterwards: PySide6 6.11 drops a context given with a slot.)
        escape = QShortcut(QKeySequence(Qt.Key.Key_Escape), self, context=Qt.ShortcutContext.WidgetWithChildrenShortcut)
        escape.activated.connect(self.close_bar)

    # -- opening and closing ----------------------------------------------------------------
    def open(self, replace: bool = False) -> None:
        selected = self._editor.getSelText().data().decode("utf-8", "replace")
        if selected and "\n" not in selected:  # a multi-line selection is not a search term
            self.find_edit.setText(selected)
        self._set_replace_visible(replace)
        self.show()
        self.find_edit.setFocus()
        self.find_edit.selectAll()
        self._update_status()

    def _set_replace_visible(self, visible: bool) -> None:
        for widget in (self.replace_edit, self.replace_button, self.replace_all_button):
            widget.setVisible(visible)
        self.adjustSize()

    def close_bar(self) -> None:
        self.hide()
        self._editor.setFocus()

    def showEvent(self, event) -> None:
        super().showEvent(event)
        self.shownChanged.emit(True)

    def hideEvent(self, event) -> None:
        super().hideEvent(event)
        self.shownChanged.emit(False)

    # -- actions ----------------------------------------------------------------------------
    def query(self) -> Query:
        return Query(self.find_edit.text(), self.case_button.isChecked(), self.word_button.isChecked(),
                     self.regex_button.isChecked())

    def find(self, backwards: bool = False) -> bool:
        try:
            found = search.find(self._editor, self.query(), backwards=backwards) is not None
        except InvalidRegex:
            self.status_label.setText("Invalid regex")
            return False
        self._update_status()
        return found

    def replace(self) -> None:
        """Replace the current match (if the selection is one), then go to the next."""
        try:
            search.replace_selection(self._editor, self.query(), self.replace_edit.text())
        except InvalidRegex:
            self.status_label.setText("Invalid regex")
            return
        self.find()

    def replace_all(self) -> int:
        try:
            count = search.replace_all(self._editor, self.query(), self.replace_edit.text())
        except InvalidRegex:
            self.status_label.setText("Invalid regex")
            return 0
        self._update_status()
        return count

    def _search_as_typed(self) -> None:
        # Search again from the start of the current match so typing extends it in place.
        editor = self._editor
        editor.setEmptySelection(editor.selectionStart())
        if self.find_edit.text():
            self.find()
        else:
            self._update_status()

    def _update_status(self) -> None:
        self.status_label.setText(self.status_text())

    def status_text(self) -> str:
        query = self.query()
        if not query.text:
            return ""
        try:
            matches = search.all_matches(self._editor, query)
        except InvalidRegex:
            return "Invalid regex"
        if not matches:
            return "No results"
        current = (self._editor.selectionStart(), self._editor.selectionEnd())
        if current in matches:
            return f"{matches.index(current) + 1} of {len(matches)}"
        return f"{len(matches)} results"

    def eventFilter(self, watched, event) -> bool:
        if event.type() == QKeyEvent.Type.KeyPress and event.key() in (Qt.Key.Key_Return, Qt.Key.Key_Enter):
            backwards = bool(event.modifiers() & Qt.KeyboardModifier.ShiftModifier)
            if watched is self.replace_edit and not backwards:
                self.replace()
            else:
                self.find(backwards=backwards)
            return True
        return super().eventFilter(watched, event)
