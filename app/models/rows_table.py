"""A flat Qt table over a list of rows, each row an object with a ``name`` (a package, a
schedule, a webhook): the subclass declares ``COLUMNS`` and answers ``data``."""

from __future__ import annotations

from typing import Any

from PySide6.QtCore import QAbstractTableModel, QModelIndex, QPersistentModelIndex

from .headers import ColumnHeaders


class RowsTableModel(ColumnHeaders, QAbstractTableModel):
    """Holds the rows; ``set_rows`` replaces them all (a model reset)."""

    def __init__(self, parent=None) -> None:
        super().__init__(parent)
        self._rows: list[Any] = []

    def set_rows(self, rows) -> None:
        self.beginResetModel()
        self._rows = list(rows)
        self.endResetModel()

    def row_at(self, row: int) -> Any | None:
        return self._rows[row] if 0 <= row < len(self._rows) else None

    def names(self) -> list[str]:
        return [r.name for r in self._rows]

    def row_of(self, name: str) -> int:
        """The row number of the row called ``name``; -1 when there is none."""
        return next((i for i, r in enumerate(self._rows) if r.name == name), -1)

    # -- Qt: a table, so no children under a valid parent --------------------------------------
    def rowCount(self, parent: QModelIndex | QPersistentModelIndex = QModelIndex()) -> int:
        return 0 if parent.isValid() else len(self._rows)

    def columnCount(self, parent: QModelIndex | QPersistentModelIndex = QModelIndex()) -> int:
        return 0 if parent.isValid() else len(self.COLUMNS)
