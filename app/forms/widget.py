"""A form a flow asks a person to fill in, as widgets: its subject and message, one row per
field (required ones marked), markdown as text, one button per submit element.

Pressing a button checks the answer here first (``validate_response`` is pure and fast) and
shows each problem under its field; only a valid answer leaves as ``answered``. What the
engine says back (already answered, gone) shows in the form too, never as a dialog."""

from __future__ import annotations

import html
import time
from typing import Any

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import (QFormLayout, QFrame, QHBoxLayout, QLabel, QLineEdit, QPushButton, QVBoxLayout,
                               QWidget)

from engine_core.errors import UsageError
from engine_core.forms import FormErrors, FormField, parse_form, validate_response

from .fields import FieldEditor, make_editor

_ERROR_STYLE = "color: #c62828;"
_NOTE_STYLE = "color: palette(mid);"


class FormWidget(QFrame):
    """States: 'open' (editable), 'sending' (answer on its way), 'answered', 'cancelled'."""

    answered = Signal(int, dict)  # message id, the validated response: send it to the engine

    def __init__(self, record: dict, execution_label: str = "", parent: QWidget | None = None):
        super().__init__(parent)
        self.setObjectName("formWidget")
        self.setFrameShape(QFrame.Shape.StyledPanel)
        self.message_id: int = record["id"]
        self.execution_id: int | None = record.get("execution_id")
        self.subject: str = record.get("subject") or ""
        self.form: dict = record["form"]
        self.state = "open"
        self.editors: dict[str, FieldEditor] = {}
        self.buttons: dict[str, QPushButton] = {}
        self._errors: dict[str, QLabel] = {}

        layout = QVBoxLayout(self)
        title = QLabel(f"<b>{html.escape(self.subject)}</b>"
                       + (f" &nbsp;<span style='{_NOTE_STYLE}'>— {html.escape(execution_label)}</span>"
                          if execution_label else ""))
        title.setObjectName("formTitle")
        layout.addWidget(title)
        if record.get("message"):
            text = QLabel(str(record["message"]))
            text.setWordWrap(True)
            text.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
            layout.addWidget(text)
        self.banner = QLabel()  # the state once it is not open, or why the form cannot be shown
        self.banner.setObjectName("formBanner")
        self.banner.setWordWrap(True)
        self.banner.hide()
        layout.addWidget(self.banner)

        try:
            fields = parse_form(self.form)
        except UsageError as exc:  # the engine checks forms, but a stored one may predate that
            fields = []
            self._show_banner(f"This form cannot be shown: {exc}", error=True)
        rows = QFormLayout()
        rows.setFieldGrowthPolicy(QFormLayout.FieldGrowthPolicy.AllNonFixedFieldsGrow)
        layout.addLayout(rows)
        for field in fields:
            if field.element == "markdown":
                rows.addRow(_markdown(field))
            elif field.element != "submit":
                self._add_row(rows, field)
        self.general_error = self._error_label("")
        layout.addWidget(self.general_error)
        layout.addLayout(self._button_row([f for f in fields if f.element == "submit"]))
        layout.addStretch()

    # -- building ---------------------------------------------------------------------------
    def _add_row(self, rows: QFormLayout, field: FormField) -> None:
        editor = self.editors[field.key] = make_editor(field)
        editor.widget.setObjectName(f"formField:{field.key}")
        label = QLabel(html.escape(field.label) + (f" <span style='{_ERROR_STYLE}'>*</span>" if field.required else ""))
        label.setToolTip("Required" if field.required else "")
        label.setWordWrap(True)
        cell = QWidget()
        column = QVBoxLayout(cell)
        column.setContentsMargins(0, 0, 0, 0)
        column.setSpacing(2)
        column.addWidget(editor.widget)
        if field.description:
            note = QLabel(str(field.description))
            note.setWordWrap(True)
            note.setStyleSheet(_NOTE_STYLE)
            column.addWidget(note)
            editor.widget.setToolTip(str(field.description))
        self._errors[field.key] = self._error_label(field.key)
        column.addWidget(self._errors[field.key])
        rows.addRow(label, cell)
        if isinstance(editor.widget, QLineEdit):  # Enter answers, when there is one button to mean
            editor.widget.returnPressed.connect(self._enter_pressed)

    def _error_label(self, key: str) -> QLabel:
        label = QLabel()
        label.setObjectName(f"formError:{key}")
        label.setStyleSheet(_ERROR_STYLE)
        label.setWordWrap(True)
        label.hide()
        return label

    def _button_row(self, submits: list[FormField]) -> QHBoxLayout:
        row = QHBoxLayout()
        row.addStretch()
        # A form without a submit element still needs a way to answer; it presses no key.
        for key, text in [(f.key, f.label) for f in submits] or [("", "Submit")]:
            button = self.buttons[key] = QPushButton(text)
            button.setObjectName(f"formButton:{key}")
            button.clicked.connect(lambda _=False, k=key: self.press(k))
            row.addWidget(button)
        return row

    # -- answering --------------------------------------------------------------------------
    def values(self) -> dict[str, Any]:
        """What the widgets hold now, before defaults and checks (None: left empty)."""
        return {key: editor.value() for key, editor in self.editors.items()}

    def press(self, button: str) -> dict | None:
        """The person pressed ``button`` (a submit key, '' for the implicit one): check the
        answer; emit ``answered`` when it is valid, else show why under each field."""
        if self.state != "open":
            return None
        raw = self.values()
        if button:
            raw[button] = True
        try:
            response = validate_response(self.form, raw)
        except FormErrors as exc:
            self.show_errors(exc.errors)
            return None
        except UsageError as exc:
            self.show_errors({"": str(exc)})
            return None
        self.show_errors({})
        self._set_state("sending")
        self.answered.emit(self.message_id, response)
        return response

    def _enter_pressed(self) -> None:
        if len(self.buttons) == 1:
            self.press(next(iter(self.buttons)))

    def show_errors(self, errors: dict[str, str]) -> None:
        for key, label in [*self._errors.items(), ("", self.general_error)]:
            message = errors.get(key)
            label.setText(message or "")
            label.setVisible(bool(message))
        # An error about a field that has no row (a button, an unknown key) still shows.
        extra = [m for k, m in errors.items() if k and k not in self._errors]
        if extra:
            text = "; ".join(filter(None, [errors.get(""), *extra]))
            self.general_error.setText(text)
            self.general_error.show()

    def send_failed(self, message: str) -> None:
        """The engine refused or could not take the answer: editable again, with why."""
        if self.state == "sending":
            self._set_state("open")
        self.show_errors({"": message})

    def mark_answered(self, response: dict | None = None, at: float | None = None) -> None:
        when = time.strftime("%H:%M:%S", time.localtime(at)) if at else None
        self._show_banner(f"✓ Answered{f' at {when}' if when else ''}.")
        self._set_state("answered")

    def mark_cancelled(self, reason: str = "the execution was cancelled") -> None:
        self._show_banner(f"✗ Closed without an answer: {reason}.")
        self._set_state("cancelled")

    def _show_banner(self, text: str, *, error: bool = False) -> None:
        self.banner.setText(text)
        self.banner.setStyleSheet(_ERROR_STYLE if error else "font-weight: bold;")
        self.banner.show()

    def _set_state(self, state: str) -> None:
        self.state = state
        editable = state == "open"
        for editor in self.editors.values():
            editor.set_enabled(editable)
        for button in self.buttons.values():
            button.setEnabled(editable)
        if state in ("answered", "cancelled"):
            self.show_errors({})

    @property
    def is_open(self) -> bool:
        return self.state in ("open", "sending")


def _markdown(field: FormField) -> QLabel:
    label = QLabel(field.text)
    label.setObjectName(f"formText:{field.key}")
    label.setTextFormat(Qt.TextFormat.MarkdownText)
    label.setWordWrap(True)
    label.setOpenExternalLinks(True)
    label.setTextInteractionFlags(Qt.TextInteractionFlag.TextBrowserInteraction)
    return label
