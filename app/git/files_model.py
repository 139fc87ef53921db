"""The Git panel's list of changed files: a table model over a status snapshot."""

from __future__ import annotations

from typing import Any

from PySide6.QtCore import QAbstractTableModel, QModelIndex, Qt
from PySide6.QtGui import QBrush, QColor

from engine_core.vcs.status import FileStatus

from ..models.headers import ColumnHeaders

FILE_ROLE = Qt.ItemDataRole.UserRole + 1
_COLOURS = {"conflict": "#c62828", "new (untracked)": "#2e7d32", "deleted": "#8d6e63"}


class ChangedFilesModel(ColumnHeaders, QAbstractTableModel):
    COLUMNS = ("Status", "File")

    def __init__(self, parent=None):
        super().__init__(parent)
        self._files: list[FileStatus] = []

    def set_files(self, files: list[FileStatus]) -> None:
        # Conflicts first (they block everything else), then by path.
        ordered = sorted(files, key=lambda f: (not f.conflicted, f.path.lower()))
        if [f for f in ordered] == self._files:
            return  # nothing changed: keep the selection and scroll position
        self.beginResetModel()
        self._files = ordered
        self.endResetModel()

    def files(self) -> list[FileStatus]:
        return list(self._files)

    def file_at(self, row: int) -> FileStatus | None:
        return self._files[row] if 0 <= row < len(self._files) else None

    def row_of(self, path: str) -> int:
        return next((i for i, f in enumerate(self._files) if f.path == path), -1)

    def rowCount(self, parent=QModelIndex()) -> int:
        return 0 if parent.isValid() else len(self._files)

    def data(self, index: QModelIndex, role: int = Qt.ItemDataRole.DisplayRole) -> Any:
        if not index.isValid():
            return None
        entry = self._files[index.row()]
        if role == Qt.ItemDataRole.DisplayRole:
            return entry.description if index.column() == 0 else _label(entry)
        if role == Qt.ItemDataRole.ToolTipRole:
            return (f"{entry.path}: {entry.description}" + (f" (was {entry.original})" if entry.original else "")
                    + "\nClick: its changes side by side in the editor area (Enter: and go there)")
        if role == Qt.ItemDataRole.ForegroundRole and index.column() == 0:
            colour = _COLOURS.get(entry.description) or ("#1565c0" if entry.staged else None)
            return QBrush(QColor(colour)) if colour else None
        if role == FILE_ROLE:
            return entry
        return None


def _label(entry: FileStatus) -> str:
    return f"{entry.original} → {entry.path}" if entry.original else entry.path
