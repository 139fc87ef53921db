"""Rows of the Messages panel: ``this.message(...)`` of executions, newest last. A form's row
says so and carries its message id, so activating it can bring the form to front."""

from __future__ import annotations

import time
from typing import Any

from PySide6.QtCore import QAbstractTableModel, QModelIndex, Qt

from engine_core import events as ev

from .headers import ColumnHeaders

_LIMIT = 5000


class MessagesModel(ColumnHeaders, QAbstractTableModel):
    COLUMNS = ("Time", "Execution", "Subject", "Message")
    IdRole = Qt.ItemDataRole.UserRole + 1
    MessageIdRole = Qt.ItemDataRole.UserRole + 2  # the message id of a form's row, else None

    def __init__(self, names, parent=None):
        super().__init__(parent)
        self._names = names  # execution id -> label, from the execution tree
        self._rows: list[tuple[float, int, str, str, int | None]] = []

    def add_events(self, events: list[ev.Event]) -> None:
        new = [_row(e) for e in events if isinstance(e, ev.MessageAdded)]
        if not new:
            return
        if len(self._rows) + len(new) > _LIMIT:
            self.beginResetModel()
            self._rows = (self._rows + new)[-_LIMIT:]
            self.endResetModel()
            return
        self.beginInsertRows(QModelIndex(), len(self._rows), len(self._rows) + len(new) - 1)
        self._rows.extend(new)
        self.endInsertRows()

    def rowCount(self, parent=QModelIndex()) -> int:
        return 0 if parent.isValid() else len(self._rows)


    def data(self, index, role=Qt.ItemDataRole.DisplayRole) -> Any:
        if not index.isValid():
            return None
        at, execution_id, subject, message, form_id = self._rows[index.row()]
        if role == Qt.ItemDataRole.DisplayRole:
            return (time.strftime("%H:%M:%S", time.localtime(at)), self._names(execution_id), subject, message)[index.column()]
        if role == self.IdRole:
            return execution_id
        if role == self.MessageIdRole:
            return form_id
        return None


def _row(event: ev.MessageAdded) -> tuple[float, int, str, str, int | None]:
    if getattr(event, "form", None) is None:
        return (event.at, event.id, event.subject, event.message, None)
    text = f"{event.message} — form: answer it beside this table" if event.message else "form: answer it beside this table"
    return (event.at, event.id, event.subject, text, getattr(event, "message_id", None))
