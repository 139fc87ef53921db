"""The Journal tab of the execution details: every flow API call the execution made, in order,
with the line that made it, what it answered (or waits on) and when."""

from __future__ import annotations

import time

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import QHeaderView, QLabel, QTreeWidget, QTreeWidgetItem, QVBoxLayout, QWidget

from engine_core.cli_output import journal_answer, journal_call, journal_took

COLUMNS = ("#", "Line", "Call", "Answer", "Called", "Took")


def fetch_journal(store, execution_id: int) -> tuple[dict | None, list[dict]]:
    """Runs off the GUI thread: the execution's row and its journal."""
    record = store.execution(execution_id)
    journal = getattr(store, "journal", None)
    return record, (journal(execution_id) if record is not None and journal is not None else [])


class JournalView(QWidget):
    lineActivated = Signal(int)  # the line of the flow file a call was made at (double-click)

    def __init__(self, parent=None):
        super().__init__(parent)
        self.execution_id: int | None = None
        self.summary = QLabel("Select an execution to see its journal.")
        self.summary.setObjectName("journalSummary")
        self.summary.setWordWrap(True)
        self.table = QTreeWidget()
        self.table.setObjectName("journalTable")
        self.table.setRootIsDecorated(False)
        self.table.setUniformRowHeights(True)
        self.table.setAlternatingRowColors(True)
        self.table.setColumnCount(len(COLUMNS))
        self.table.setHeaderLabels(list(COLUMNS))
        header = self.table.header()
        header.setSectionResizeMode(QHeaderView.ResizeMode.ResizeToContents)
        header.setStretchLastSection(False)
        # The call keeps a readable width (its tooltip has it whole); the answer takes the rest.
        header.setSectionResizeMode(2, QHeaderView.ResizeMode.Interactive)
        header.setSectionResizeMode(3, QHeaderView.ResizeMode.Stretch)
        self.table.setColumnWidth(2, 240)
        self.table.itemActivated.connect(self._activated)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(4, 4, 4, 4)
        layout.addWidget(self.summary)
        layout.addWidget(self.table)

    def show_journal(self, execution_id: int, record: dict | None, entries: list[dict]) -> None:
        self.execution_id = execution_id
        self.table.clear()
        if record is None:
            self.summary.setText(f"Execution #{execution_id} is not stored (yet).")
            return
        items = []
        for entry in entries:
            called = time.strftime("%H:%M:%S", time.localtime(entry["called_at"])) if entry.get("called_at") else "-"
            item = QTreeWidgetItem([str(entry["seq"]), str(entry.get("line") or ""), journal_call(entry),
                                    journal_answer(entry), called, journal_took(entry)])
            item.setData(1, Qt.ItemDataRole.UserRole, entry.get("line"))
            item.setToolTip(2, journal_call(entry))
            item.setToolTip(3, journal_answer(entry))
            if entry.get("ok") is False:
                item.setForeground(3, Qt.GlobalColor.red)
            items.append(item)
        self.table.addTopLevelItems(items)
        pending = sum(1 for e in entries if e.get("state") != "done")
        if entries:
            text = f"{len(entries)} flow API call{'s' if len(entries) != 1 else ''} recorded"
            text += f", {pending} waiting for an answer" if pending else ""
            self.summary.setText(text + ". Double-click a call to see its line.")
        elif record.get("durable"):
            self.summary.setText("No flow API call recorded yet.")
        else:
            self.summary.setText("Not journaled: connections, debug runs, replays and flows with resume "
                                 "turned off record no journal.")

    def clear(self) -> None:
        self.execution_id = None
        self.table.clear()
        self.summary.setText("Select an execution to see its journal.")

    def _activated(self, item: QTreeWidgetItem, _column: int) -> None:
        line = item.data(1, Qt.ItemDataRole.UserRole)
        if line:
            self.lineActivated.emit(int(line))
