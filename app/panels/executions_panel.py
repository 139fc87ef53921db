"""The Executions panel: the live tree on the left, the selected execution's details on the
right, and Cancel for a running one."""

from __future__ import annotations

from PySide6.QtCore import QItemSelectionModel, Qt, QTimer, QUrl, Signal
from PySide6.QtWidgets import (QHBoxLayout, QHeaderView, QPushButton, QSplitter, QTextBrowser, QTreeView,
                               QVBoxLayout, QWidget)

from engine_core import events as ev

from ..engine_bridge import EngineBridge
from ..models.execution_tree import ExecutionTreeModel
from .execution_details import fetch_details, parse_flow_link, render

_ACTIVE = ("queued", "running", "paused")


class ExecutionsPanel(QWidget):
    openFlowAt = Signal(str, int)

    def __init__(self, bridge: EngineBridge, model: ExecutionTreeModel, parent=None):
        super().__init__(parent)
        self._bridge = bridge
        self.model = model
        self.selected_id: int | None = None

        self.tree = QTreeView()
        self.tree.setObjectName("executionTree")
        self.tree.setModel(model)
        self.tree.setUniformRowHeights(True)  # keeps 10,000 rows cheap to lay out
        self.tree.setAlternatingRowColors(True)
        self.tree.header().setSectionResizeMode(0, QHeaderView.ResizeMode.Interactive)
        self.tree.setColumnWidth(0, 260)
        self.tree.selectionModel().currentChanged.connect(self._current_changed)

        self.details = QTextBrowser()
        self.details.setObjectName("executionDetails")
        self.details.setOpenLinks(False)
        self.details.anchorClicked.connect(self._link_clicked)
        self.details.setPlaceholderText("Select an execution to see its inputs, outputs, logs and messages.")

        self.cancel_button = QPushButton("Cancel")
        self.cancel_button.setObjectName("cancelExecution")
        self.cancel_button.setToolTip("Cancel the selected execution and its children")
        self.cancel_button.setEnabled(False)
        self.cancel_button.clicked.connect(self.cancel_selected)

        buttons = QHBoxLayout()
        buttons.addWidget(self.cancel_button)
        buttons.addStretch()
        left = QWidget()
        left_layout = QVBoxLayout(left)
        left_layout.setContentsMargins(0, 0, 0, 0)
        left_layout.addLayout(buttons)
        left_layout.addWidget(self.tree)
        splitter = QSplitter(Qt.Orientation.Horizontal)
        splitter.addWidget(left)
        splitter.addWidget(self.details)
        splitter.setSizes([500, 400])
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(splitter)

        self._refresh_timer = QTimer(self)
        self._refresh_timer.setSingleShot(True)
        self._refresh_timer.setInterval(150)
        self._refresh_timer.timeout.connect(self._load_details)
        model.statusChanged.connect(self._status_changed)

    def on_events(self, events: list[ev.Event]) -> None:
        if self.selected_id is not None and any(e.id == self.selected_id for e in events):
            self._refresh_timer.start()

    def select(self, execution_id: int) -> None:
        index = self.model.index_for(execution_id)
        if index.isValid():
            self.tree.scrollTo(index)
            self.tree.selectionModel().setCurrentIndex(
                index, QItemSelectionModel.SelectionFlag.ClearAndSelect | QItemSelectionModel.SelectionFlag.Rows)

    def cancel_selected(self) -> None:
        if self.selected_id is not None:
            self._bridge.cancel(self.selected_id)

    def _current_changed(self, current, _previous) -> None:
        self.selected_id = current.data(ExecutionTreeModel.IdRole) if current.isValid() else None
        self._update_cancel()
        self._load_details()

    def _status_changed(self, execution_id: int, _status: str) -> None:
        if execution_id == self.selected_id:
            self._update_cancel()

    def _update_cancel(self) -> None:
        node = self.model.node(self.selected_id) if self.selected_id is not None else None
        self.cancel_button.setEnabled(bool(node and node.status in _ACTIVE))

    def _load_details(self) -> None:
        execution_id = self.selected_id
        if execution_id is None or not self._bridge.is_open:
            self.details.clear()
            return
        self._bridge.read(fetch_details, execution_id, on_done=lambda d, i=execution_id: self._show_details(i, d))

    def _show_details(self, execution_id: int, details: dict | None) -> None:
        if execution_id != self.selected_id:
            return  # the selection moved on while this was loading
        scroll = self.details.verticalScrollBar().value()
        self.details.setHtml(render(details) if details else f"Execution #{execution_id} is not stored (yet).")
        self.details.verticalScrollBar().setValue(scroll)

    def _link_clicked(self, url: QUrl) -> None:
        target = parse_flow_link(url.toString())
        if target:
            self.openFlowAt.emit(*target)
