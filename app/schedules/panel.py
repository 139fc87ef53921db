"""The Schedules panel: the table, a header line saying who runs the schedules, buttons and a
context menu for Enable/Disable, Delete and Refresh.

Every disk access runs on a pool thread (``run_in_background`` with the panel as owner). The
panel reads when a workspace opens, when it is shown, on Refresh, and every ``POLL_MS`` while
visible if the folder's entries changed (a schedule made by ``flowdesk schedule create`` in a
shell appears within a poll)."""

from __future__ import annotations

from typing import Callable

from PySide6.QtCore import Qt, QTimer
from PySide6.QtWidgets import (QHBoxLayout, QLabel, QMenu, QMessageBox, QPushButton, QTableView, QVBoxLayout,
                               QWidget)

from engine_core.schedules import records
from engine_core.workspace import Workspace

from ..tasks import run_in_background
from ..window_layout import make_table
from .model import COLUMNS, ScheduleRow, SchedulesModel, folder_signature, read_rows, row_for

POLL_MS = 2000
HEADER = "Due runs start while this IDE or `flowdesk serve -w <dir>` has the workspace open (one of them starts each run)."
HEADER_TIP = ("A schedule starts its flow at the cron times, in its time zone, while an engine has the "
              "workspace open: this IDE, or `flowdesk serve -w <workspace>`. When both do, one starts the "
              "runs and the other stands by.\nRuns missed while none was open are skipped, not replayed. "
              "The IDE lists and switches schedules; create them with `flowdesk schedule create`.")


def _set_enabled(workspace: Workspace, name: str, enabled: bool) -> ScheduleRow:
    return row_for(records.set_enabled(workspace, name, enabled))


def _read_if_changed(workspace: Workspace, last: tuple | None):
    """(signature, rows), or None when the folder looks as it did at ``last``."""
    signature = folder_signature(workspace)
    if signature == last:
        return None
    return signature, read_rows(workspace)


class SchedulesPanel(QWidget):
    def __init__(self, workspace: Callable[[], Workspace | None], show_error: Callable[[str], None],
                 parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self._workspace = workspace
        self._show_error = show_error
        self._signature: tuple | None = None
        self._reads = 0  # reads started; a result from an older one than the last is dropped
        self._pending = False
        # Asked before a delete; tests replace it. Returns True to go ahead.
        self.confirm: Callable[[str], bool] = self._ask_delete

        self.model = SchedulesModel(self)
        self.model.enabledToggled.connect(self.set_enabled)
        self.model.modelReset.connect(self._span_errors)
        self.header = QLabel(HEADER)
        self.header.setObjectName("schedulesHeader")
        self.header.setTextFormat(Qt.TextFormat.PlainText)
        self.header.setToolTip(HEADER_TIP)
        self.header.setWordWrap(True)
        self.view: QTableView = make_table("schedulesView", self.model)
        self.view.setToolTip(HEADER_TIP)
        self.view.setContextMenuPolicy(Qt.ContextMenuPolicy.CustomContextMenu)
        self.view.customContextMenuRequested.connect(self._context_menu)
        self.view.selectionModel().selectionChanged.connect(self._update_buttons)
        self.model.modelReset.connect(self._update_buttons)
        self.model.dataChanged.connect(self._update_buttons)

        self.toggle_button = QPushButton("Disable")
        self.toggle_button.clicked.connect(self._toggle_selected)
        self.delete_button = QPushButton("Delete")
        self.delete_button.clicked.connect(self._delete_selected)
        self.refresh_button = QPushButton("Refresh")
        self.refresh_button.clicked.connect(self.refresh)
        buttons = QHBoxLayout()
        buttons.addWidget(self.header, 1)
        for button in (self.toggle_button, self.delete_button, self.refresh_button):
            buttons.addWidget(button)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(4, 4, 4, 4)
        layout.addLayout(buttons)
        layout.addWidget(self.view)

        self._timer = QTimer(self)
        self._timer.setInterval(POLL_MS)
        self._timer.timeout.connect(self.poll)
        self._update_buttons()

    # -- reading ------------------------------------------------------------------------------
    def refresh(self) -> None:
        """Read the folder again, whatever its signature (also after another workspace opened)."""
        self._signature = None
        self._start_read()

    def poll(self) -> None:
        """Read if the folder changed since the last read; skipped while a read is under way."""
        if not self._pending:
            self._start_read()

    def _start_read(self) -> None:
        workspace = self._workspace()
        if workspace is None:
            self.model.set_rows([])
            return
        self._reads += 1
        self._pending = True
        number = self._reads
        run_in_background(_read_if_changed, workspace, self._signature,
                          on_done=lambda result: self._read(number, result),
                          on_error=lambda message: self._read_failed(number, message), owner=self)

    def _read(self, number: int, result) -> None:
        if number != self._reads:
            return  # a newer read (perhaps of another workspace) is on its way
        self._pending = False
        if result is None:
            return
        self._signature, rows = result
        selected = self.selected()
        self.model.set_rows(rows)
        if selected is not None and selected.name in self.model.names():
            self.view.selectRow(self.model.names().index(selected.name))

    def _read_failed(self, number: int, message: str) -> None:
        if number == self._reads:
            self._pending = False
            self._show_error(message)

    def showEvent(self, event) -> None:
        super().showEvent(event)
        self.refresh()
        self._timer.start()

    def hideEvent(self, event) -> None:
        super().hideEvent(event)
        self._timer.stop()

    def _span_errors(self) -> None:
        """A bad file's message runs across the columns after its name."""
        self.view.clearSpans()
        for i in range(self.model.rowCount()):
            if self.model.row_at(i).schedule is None:
                self.view.setSpan(i, 1, 1, len(COLUMNS) - 1)

    # -- actions ------------------------------------------------------------------------------
    def selected(self) -> ScheduleRow | None:
        rows = self.view.selectionModel().selectedRows() if self.view.selectionModel() else []
        return self.model.row_at(rows[0].row()) if rows else None

    def set_enabled(self, name: str, enabled: bool) -> None:
        workspace = self._workspace()
        if workspace is None:
            return
        run_in_background(_set_enabled, workspace, name, enabled, on_done=self.model.replace_row,
                          on_error=self._write_failed, owner=self)

    def delete(self, name: str) -> None:
        workspace = self._workspace()
        if workspace is None or not self.confirm(name):
            return
        run_in_background(records.delete, workspace, name, on_done=lambda _: self.refresh(),
                          on_error=self._write_failed, owner=self)

    def _write_failed(self, message: str) -> None:
        self._show_error(message)
        self.refresh()

    def _toggle_selected(self) -> None:
        row = self.selected()
        if row is not None and row.schedule is not None:
            self.set_enabled(row.name, not row.schedule.enabled)

    def _delete_selected(self) -> None:
        row = self.selected()
        if row is not None:
            self.delete(row.name)

    def _update_buttons(self, *_args) -> None:
        row = self.selected()
        valid = row is not None and row.schedule is not None
        self.toggle_button.setEnabled(valid)
        self.toggle_button.setText("Disable" if valid and row.schedule.enabled else "Enable")
        self.delete_button.setEnabled(row is not None)

    def _context_menu(self, pos) -> None:
        index = self.view.indexAt(pos)
        if index.isValid():
            self.view.selectRow(index.row())
        row = self.selected()
        menu = QMenu(self)
        if row is not None and row.schedule is not None:
            menu.addAction("Disable" if row.schedule.enabled else "Enable", self._toggle_selected)
        if row is not None:
            menu.addAction("Delete…", self._delete_selected)
        menu.addAction("Refresh", self.refresh)
        menu.popup(self.view.viewport().mapToGlobal(pos))

    def _ask_delete(self, name: str) -> bool:
        answer = QMessageBox.question(self, "Delete schedule",
                                      f"Delete the schedule {name!r} (its file schedules/{name}.json)?")
        return answer == QMessageBox.StandardButton.Yes
