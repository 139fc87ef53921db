"""The Schedules table: one row per file in the workspace's ``schedules/`` folder, the valid
ones with their next three run times, a file that cannot run with the reason in red.

The reading functions here run on a pool thread (they touch the disk); the model only takes
their result on the GUI thread."""

from __future__ import annotations

import os
from dataclasses import dataclass
from datetime import datetime

from PySide6.QtCore import Qt, Signal
from PySide6.QtGui import QColor
from PySide6.QtWidgets import QApplication, QStyle

from engine_core.schedules import records
from engine_core.workspace import Workspace

from ..models.rows_table import RowsTableModel

COLUMNS = ("Name", "Flow", "Cron", "Time zone", "Enabled", "Next runs")
ENABLED_COLUMN = COLUMNS.index("Enabled")
NEXT_RUNS = 3
_DAYS = ("Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun")
_MONTHS = ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")
_ERROR_COLOUR = QColor("#d32f2f")


@dataclass(frozen=True)
class ScheduleRow:
    """A schedule file as the table shows it: ``schedule`` when it can run, else ``error``."""
    name: str
    schedule: records.Schedule | None = None
    next_runs: tuple[datetime, ...] = ()
    error: str = ""


def format_runs(runs) -> str:
    """"Mon 30 Nov 10:00, 11:00, 12:00": the day is written when it changes (English names,
    whatever the machine's locale, so a shared screenshot reads the same)."""
    parts, day = [], None
    for when in runs:
        clock = f"{when.hour:02d}:{when.minute:02d}"
        if when.date() != day:
            day = when.date()
            clock = f"{_DAYS[when.weekday()]} {when.day} {_MONTHS[when.month - 1]} {clock}"
        parts.append(clock)
    return ", ".join(parts)


def folder_signature(workspace: Workspace) -> tuple:
    """What changes when a schedule file is created, edited or deleted (cheap: stat calls only)."""
    folder = records.schedules_dir(workspace)
    try:
        entries = sorted(os.scandir(folder), key=lambda e: e.name)
    except OSError:
        return ()
    signature = []
    for entry in entries:
        try:
            info = entry.stat()
        except OSError:
            continue
        signature.append((entry.name, info.st_mtime_ns, info.st_size))
    return tuple(signature)


def row_for(schedule: records.Schedule) -> ScheduleRow:
    return ScheduleRow(schedule.name, schedule, tuple(records.next_runs(schedule, NEXT_RUNS)))


def read_rows(workspace: Workspace) -> list[ScheduleRow]:
    """Every schedule file as a row. Like ``records.scan``, but each problem stays with its file's
    name, so a bad file can be deleted from the panel."""
    rows = []
    for name in records.names(workspace):
        try:
            rows.append(row_for(records.load(workspace, name)))
        except records.UnknownScheduleError:
            continue  # deleted between listing and reading
        except records.ScheduleError as exc:
            rows.append(ScheduleRow(name, error=str(exc)))
    return rows


class SchedulesModel(RowsTableModel):
    """Rows of ScheduleRow. Ticking Enabled asks for the change with ``enabledToggled``; the row
    shows the new state once the file is written (``replace_row``)."""

    COLUMNS = COLUMNS
    enabledToggled = Signal(str, bool)

    _rows: list[ScheduleRow]

    def replace_row(self, row: ScheduleRow) -> None:
        for i, old in enumerate(self._rows):
            if old.name == row.name:
                self._rows[i] = row
                self.dataChanged.emit(self.index(i, 0), self.index(i, len(COLUMNS) - 1))
                return

    def flags(self, index):
        flags = super().flags(index)
        row = self.row_at(index.row())
        if row is not None and row.schedule is not None and index.column() == ENABLED_COLUMN:
            flags |= Qt.ItemFlag.ItemIsUserCheckable
        return flags

    def data(self, index, role=Qt.ItemDataRole.DisplayRole):
        row = self.row_at(index.row()) if index.isValid() else None
        if row is None:
            return None
        column = index.column()
        if row.schedule is None:
            return self._error_data(row, column, role)
        s = row.schedule
        if role == Qt.ItemDataRole.DisplayRole:
            return (s.name, s.flow, s.cron, s.timezone, None, format_runs(row.next_runs))[column]
        if role == Qt.ItemDataRole.CheckStateRole and column == ENABLED_COLUMN:
            return Qt.CheckState.Checked if s.enabled else Qt.CheckState.Unchecked
        if role == Qt.ItemDataRole.ToolTipRole:
            if column == len(COLUMNS) - 1:
                return "\n".join(w.strftime("%Y-%m-%d %H:%M %Z") for w in row.next_runs)
            return "Runs while `flowdesk serve` runs; the IDE itself does not start scheduled runs"
        return None

    def _error_data(self, row: ScheduleRow, column: int, role):
        if role == Qt.ItemDataRole.DisplayRole:
            return row.name if column == 0 else (row.error if column == 1 else None)
        if role == Qt.ItemDataRole.ForegroundRole:
            return _ERROR_COLOUR
        if role == Qt.ItemDataRole.DecorationRole and column == 0:
            return QApplication.style().standardIcon(QStyle.StandardPixmap.SP_MessageBoxCritical)
        if role == Qt.ItemDataRole.ToolTipRole:
            return row.error
        return None

    def setData(self, index, value, role=Qt.ItemDataRole.EditRole) -> bool:
        row = self.row_at(index.row()) if index.isValid() else None
        if row is None or row.schedule is None or role != Qt.ItemDataRole.CheckStateRole \
                or index.column() != ENABLED_COLUMN:
            return False
        enabled = Qt.CheckState(value) == Qt.CheckState.Checked if not isinstance(value, bool) else value
        if enabled != row.schedule.enabled:
            self.enabledToggled.emit(row.name, enabled)
        return True
