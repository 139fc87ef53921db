"""Column headers shared by the IDE's item models: each declares ``COLUMNS``."""

from __future__ import annotations

from typing import Any

from PySide6.QtCore import QModelIndex, Qt


class ColumnHeaders:
    """Mixin for a QAbstractItemModel with fixed, named columns."""

    COLUMNS: tuple[str, ...] = ()

    def columnCount(self, parent=QModelIndex()) -> int:
        return len(self.COLUMNS)

    def headerData(self, section: int, orientation: Qt.Orientation, role: int = Qt.ItemDataRole.DisplayRole) -> Any:
        if orientation == Qt.Orientation.Horizontal and role == Qt.ItemDataRole.DisplayRole:
            return self.COLUMNS[section]
        return None
