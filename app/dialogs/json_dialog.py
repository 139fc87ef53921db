"""A dialog for a JSON value with live validation: OK stays disabled while the text is not
valid JSON, and the error says where."""

from __future__ import annotations

import json
from typing import Any

from PySide6.QtGui import QFont
from PySide6.QtWidgets import QDialog, QDialogButtonBox, QLabel, QLineEdit, QPlainTextEdit, QVBoxLayout


class JsonDialog(QDialog):
    def __init__(self, title: str, prompt: str, text: str, *, name: str | None = None,
                 require_object: bool = False, parent=None):
        super().__init__(parent)
        self.setWindowTitle(title)
        self._require_object = require_object
        layout = QVBoxLayout(self)
        self.name_edit: QLineEdit | None = None
        if name is not None:
            layout.addWidget(QLabel("Name"))
            self.name_edit = QLineEdit(name)
            self.name_edit.setObjectName("nameEdit")
            self.name_edit.textChanged.connect(self._validate)
            layout.addWidget(self.name_edit)
        layout.addWidget(QLabel(prompt))
        self.editor = QPlainTextEdit(text)
        self.editor.setObjectName("jsonEdit")
        self.editor.setFont(QFont("monospace"))
        self.editor.textChanged.connect(self._validate)
        layout.addWidget(self.editor)
        self.error = QLabel()
        self.error.setObjectName("jsonError")
        self.error.setStyleSheet("color: #c62828")
        layout.addWidget(self.error)
        self.buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Ok | QDialogButtonBox.StandardButton.Cancel)
        self.buttons.accepted.connect(self.accept)
        self.buttons.rejected.connect(self.reject)
        layout.addWidget(self.buttons)
        self.resize(460, 300)
        self._validate()

    def value(self) -> Any:
        return json.loads(self.editor.toPlainText() or "null")

    def name(self) -> str:
        return self.name_edit.text().strip() if self.name_edit else ""

    def _validate(self) -> None:
        problem = None
        if self.name_edit is not None and not self.name_edit.text().strip():
            problem = "Enter a name."
        else:
            try:
                value = json.loads(self.editor.toPlainText() or "null")
            except json.JSONDecodeError as exc:
                problem = f"Not valid JSON: {exc.msg} (line {exc.lineno}, column {exc.colno})"
            else:
                if self._require_object and not isinstance(value, dict):
                    problem = 'Inputs must be a JSON object, e.g. {"initial_value": 42}'
        self.error.setText(problem or "")
        self.buttons.button(QDialogButtonBox.StandardButton.Ok).setEnabled(problem is None)
