"""One editor widget per form element, each reading back the value a flow expects.

A value of None means "left empty": ``validate_response`` then fills the default or says the
field is required, so the widgets never invent an answer the person did not give."""

from __future__ import annotations

import datetime as _dt
from typing import Any

from PySide6.QtCore import QDate, QTime
from PySide6.QtWidgets import (QCheckBox, QComboBox, QDateEdit, QDoubleSpinBox, QHBoxLayout, QLineEdit, QTimeEdit,
                               QWidget)

from engine_core.forms import FormField

# Below any number a person types: the spin box shows its special text ("empty") there.
_EMPTY_NUMBER = -1e15
_MAX_NUMBER = 1e15


class FieldEditor:
    """What the form asks of an editor: its widget, its value, and a change notification."""

    widget: QWidget

    def value(self) -> Any:  # pragma: no cover - interface
        raise NotImplementedError

    def set_enabled(self, enabled: bool) -> None:
        self.widget.setEnabled(enabled)


class TextEditor(FieldEditor):
    def __init__(self, field: FormField):
        self.widget = QLineEdit()
        if field.element == "password":
            self.widget.setEchoMode(QLineEdit.EchoMode.Password)
        if field.default is not None:
            self.widget.setText(str(field.default))
        if field.example is not None:
            self.widget.setPlaceholderText(f"e.g. {field.example}")

    def value(self) -> str:
        return self.widget.text()


class NumberBox(QDoubleSpinBox):
    """Shows 2.5 as '2.5' and 60 as '60' (not '60.000000'), and can be empty."""

    def textFromValue(self, value: float) -> str:
        return self.locale().toString(value, "g", 15)


class NumberEditor(FieldEditor):
    def __init__(self, field: FormField):
        box = self.widget = NumberBox()
        box.setDecimals(0 if field.type == "integer" else 9)
        box.setRange(_EMPTY_NUMBER, _MAX_NUMBER)
        # At the minimum the box shows this text instead of a number: the "no answer" state.
        box.setSpecialValueText(f"e.g. {field.example}" if field.example is not None else " ")
        box.setValue(float(field.default) if field.default is not None else _EMPTY_NUMBER)
        box.setMinimumWidth(140)

    def value(self) -> float | None:
        value = self.widget.value()
        return None if value <= _EMPTY_NUMBER else value


class CheckEditor(FieldEditor):
    def __init__(self, field: FormField):
        self.widget = QCheckBox()
        self.widget.setChecked(bool(field.default))

    def value(self) -> bool:
        return self.widget.isChecked()


class SelectEditor(FieldEditor):
    def __init__(self, field: FormField):
        combo = self.widget = QComboBox()
        self._values = [option for option, _label in field.options]
        if field.default is None:  # nothing chosen until the person chooses
            combo.addItem("", None)
        for index, (_option, label) in enumerate(field.options):
            combo.addItem(label, index)
        if field.default is not None:
            combo.setCurrentIndex(self._values.index(field.default))

    def value(self) -> Any:
        index = self.widget.currentData()
        return None if index is None else self._values[index]


class _Optional(QWidget):
    """A time or date edit that can hold no value: a tick box in front says whether it does.
    Qt's time/date edits always show some value, and midnight or today is not an answer."""

    def __init__(self, editor, has_value: bool):
        super().__init__()
        self.editor = editor
        self.enabled_box = QCheckBox()
        self.enabled_box.setToolTip("Tick to give a value")
        self.enabled_box.setChecked(has_value)
        self.enabled_box.toggled.connect(editor.setEnabled)
        editor.setEnabled(has_value)
        layout = QHBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(self.enabled_box)
        layout.addWidget(editor, 1)

    def has_value(self) -> bool:
        return self.enabled_box.isChecked()


class TimeEditor(FieldEditor):
    def __init__(self, field: FormField):
        self.edit = QTimeEdit()
        self.edit.setDisplayFormat("HH:mm:ss")
        if field.default is not None:
            default = _dt.time.fromisoformat(field.default)
            self.edit.setTime(QTime(default.hour, default.minute, default.second))
        else:
            self.edit.setTime(QTime.currentTime())
        self.widget = _Optional(self.edit, field.default is not None)

    def value(self) -> str | None:
        if not self.widget.has_value():
            return None
        # With this computer's UTC offset: flows read it with strptime('%H:%M:%S%z').
        offset = _dt.datetime.now().astimezone().strftime("%z")
        return f"{self.edit.time().toString('HH:mm:ss')}{offset[:3]}:{offset[3:]}"


class DateEditor(FieldEditor):
    def __init__(self, field: FormField):
        self.edit = QDateEdit()
        self.edit.setDisplayFormat("yyyy-MM-dd")
        self.edit.setCalendarPopup(True)
        self.edit.setDate(QDate.fromString(field.default, "yyyy-MM-dd") if field.default else QDate.currentDate())
        self.widget = _Optional(self.edit, field.default is not None)

    def value(self) -> str | None:
        return self.edit.date().toString("yyyy-MM-dd") if self.widget.has_value() else None


_EDITORS = {"string": TextEditor, "password": TextEditor, "number": NumberEditor, "toggle": CheckEditor,
            "checkbox": CheckEditor, "select": SelectEditor, "time": TimeEditor, "date": DateEditor}


def make_editor(field: FormField) -> FieldEditor:
    """The editor of a field that has a value (not markdown, not submit)."""
    return _EDITORS[field.element](field)

