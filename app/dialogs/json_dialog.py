"""A dialog for a JSON value with live validation: OK stays disabled while the text is not
valid JSON, and the message under the box says where (line and column).

Keys: Ctrl+Enter accepts; Enter accepts once the JSON is complete and valid and inserts a
newline (keeping the indentation) while it is not; Shift+Enter always inserts a newline."""

from __future__ import annotations

import json
from typing import Any

from PySide6.QtCore import Qt, Signal
from PySide6.QtGui import QFont, QKeyEvent
from PySide6.QtWidgets import (QDialog, QDialogButtonBox, QLabel, QLineEdit, QPlainTextEdit, QPushButton,
                               QVBoxLayout)

_ENTER_KEYS = (Qt.Key.Key_Return, Qt.Key.Key_Enter)


class JsonEdit(QPlainTextEdit):
    """The JSON box: Enter asks the dialog to accept (``submitted``), which it does only when
    the text is valid; otherwise the key types a newline as usual."""

    submitted = Signal(bool)  # True: Ctrl+Enter (always meant as "go"); False: plain Enter

    def __init__(self, text: str, is_complete):
        super().__init__(text)
        self._is_complete = is_complete
        self.setFont(QFont("monospace"))
        self.setTabChangesFocus(True)  # Tab moves to the buttons, as in every other dialog field

    def keyPressEvent(self, event: QKeyEvent) -> None:
        mods = event.modifiers() & ~Qt.KeyboardModifier.KeypadModifier
        if event.key() in _ENTER_KEYS:
            if mods == Qt.KeyboardModifier.ControlModifier:
                return self.submitted.emit(True)
            if mods == Qt.KeyboardModifier.NoModifier and self._is_complete():
                return self.submitted.emit(False)
            if mods in (Qt.KeyboardModifier.NoModifier, Qt.KeyboardModifier.ShiftModifier):
                return self._newline_keeping_indent()
        super().keyPressEvent(event)

    def _newline_keeping_indent(self) -> None:
        line = self.textCursor().block().text()
        self.textCursor().insertText("\n" + line[: len(line) - len(line.lstrip(" "))])
        self.ensureCursorVisible()


class JsonDialog(QDialog):
    def __init__(self, title: str, prompt: str, text: str, *, name: str | None = None,
                 require_object: bool = False, parent=None):
        super().__init__(parent)
        self.setWindowTitle(title)
        self._require_object = require_object
        self._problem: str | None = None
        self.hint = "Ctrl+Enter to accept; Shift+Enter for a new line"  # shown while the value is valid
        layout = QVBoxLayout(self)
        self.name_edit: QLineEdit | None = None
        if name is not None:
            layout.addWidget(QLabel("Name"))
            self.name_edit = QLineEdit(name)
            self.name_edit.setObjectName("nameEdit")
            self.name_edit.textChanged.connect(self._validate)
            layout.addWidget(self.name_edit)
        self.prompt = QLabel(prompt)
        layout.addWidget(self.prompt)
        self.editor = JsonEdit(text, lambda: self._problem is None)
        self.editor.setObjectName("jsonEdit")
        self.editor.textChanged.connect(self._validate)
        self.editor.submitted.connect(lambda _forced: self.accept_if_valid())
        self.editor.moveCursor(self.editor.textCursor().MoveOperation.End)
        layout.addWidget(self.editor)
        self.error = QLabel()
        self.error.setObjectName("jsonError")
        self.error.setWordWrap(True)
        layout.addWidget(self.error)
        self.buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Ok | QDialogButtonBox.StandardButton.Cancel)
        self.buttons.accepted.connect(self.accept_if_valid)
        self.buttons.rejected.connect(self.reject)
        layout.addWidget(self.buttons)
        self.resize(480, 320)
        self.editor.setFocus()
        self._validate()

    @property
    def ok_button(self) -> QPushButton:
        return self.buttons.button(QDialogButtonBox.StandardButton.Ok)

    def value(self) -> Any:
        return json.loads(self.editor.toPlainText() or "null")

    def name(self) -> str:
        return self.name_edit.text().strip() if self.name_edit else ""

    def accept_if_valid(self) -> None:
        if self._problem is None:
            self.accept()

    def problem(self, text: str) -> str | None:
        """What is wrong with ``text`` as this dialog's value (None: nothing). Subclasses may
        add their own rules."""
        try:
            value = json.loads(text or "null")
        except json.JSONDecodeError as exc:
            return f"Not valid JSON: {exc.msg} (line {exc.lineno}, column {exc.colno})"
        if self._require_object and not isinstance(value, dict):
            return 'Inputs must be a JSON object, e.g. {"initial_value": 42}'
        return None

    def _validate(self) -> None:
        if self.name_edit is not None and not self.name_edit.text().strip():
            self._problem = "Enter a name."
        else:
            self._problem = self.problem(self.editor.toPlainText())
        self.error.setText(self._problem or self.hint)
        dark = self.palette().window().color().lightness() < 128
        self.error.setStyleSheet(f"color: {'#f48771' if dark else '#d32f2f'}" if self._problem else "")
        self.ok_button.setEnabled(self._problem is None)
