"""Rows of the Problems panel: the lint results of every open flow."""

from __future__ import annotations

from typing import Any

from PySide6.QtCore import QAbstractTableModel, QModelIndex, Qt

from engine_core.analysis import Problem

from ..icons import status_icon
from .headers import ColumnHeaders


class ProblemsModel(ColumnHeaders, QAbstractTableModel):
    COLUMNS = ("Flow", "Line", "Message")
    FlowRole = Qt.ItemDataRole.UserRole + 1
    LineRole = Qt.ItemDataRole.UserRole + 2

    def __init__(self, parent=None):
        super().__init__(parent)
        self._by_flow: dict[str, list[Problem]] = {}
        self._rows: list[tuple[str, Problem]] = []

    def set_problems(self, flow: str, problems: list[Problem]) -> None:
        if not problems and flow not in self._by_flow:
            return
        if problems:
            self._by_flow[flow] = list(problems)
        else:
            self._by_flow.pop(flow, None)
        self.beginResetModel()  # a few dozen rows: a reset is simplest and cheap
        self._rows = [(name, p) for name in sorted(self._by_flow) for p in self._by_flow[name]]
        self.endResetModel()

    def rename_flow(self, old: str, new: str) -> None:
        if old in self._by_flow:
            self.set_problems(new, self._by_flow.pop(old))

    def problems(self, flow: str) -> list[Problem]:
        return list(self._by_flow.get(flow, []))

    def counts(self) -> tuple[int, int]:
        errors = sum(1 for _, p in self._rows if p.severity == "error")
        return errors, len(self._rows) - errors

    def rowCount(self, parent=QModelIndex()) -> int:
        return 0 if parent.isValid() else len(self._rows)


    def data(self, index, role=Qt.ItemDataRole.DisplayRole) -> Any:
        if not index.isValid():
            return None
        flow, problem = self._rows[index.row()]
        if role == Qt.ItemDataRole.DisplayRole:
            return (flow, f"{problem.line}:{problem.column + 1}", problem.message)[index.column()]
        if role == Qt.ItemDataRole.DecorationRole and index.column() == 0:
            return status_icon("error" if problem.severity == "error" else "paused")
        if role == Qt.ItemDataRole.ToolTipRole:
            return f"{problem.severity}: {problem.message}"
        if role == self.FlowRole:
            return flow
        if role == self.LineRole:
            return problem.line
        return None
