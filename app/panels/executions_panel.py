"""The Executions panel: the live tree on the left, the selected execution's details on the
right, Cancel for a running one, and Pause / Resume / Cancel in the tree's context menu.

Features extend it without rewiring it: a tab beside the details (``details_tabs.addTab``),
entries in the tree's context menu (``add_menu_extension``)."""

from __future__ import annotations

import logging
from typing import Callable

from PySide6.QtCore import QItemSelectionModel, QPoint, Qt, QTimer, QUrl, Signal
from PySide6.QtWidgets import (QHBoxLayout, QHeaderView, QMenu, QPushButton, QSplitter, QTabWidget, QTextBrowser,
                               QTreeView, QVBoxLayout, QWidget)

from engine_core import events as ev

from ..engine_bridge import EngineBridge
from ..models.execution_tree import ExecutionTreeModel
from ..tasks import run_in_background
from .execution_details import fetch_details, parse_flow_link, render

log = logging.getLogger(__name__)

_ACTIVE = ("queued", "running", "paused")

MenuExtension = Callable[[QMenu, int], None]  # adds entries to the tree's context menu of an execution


class ExecutionsPanel(QWidget):
    openFlowAt = Signal(str, int)

    def __init__(self, bridge: EngineBridge, model: ExecutionTreeModel, parent=None):
        super().__init__(parent)
        self._bridge = bridge
        self.model = model
        self.selected_id: int | None = None
        self._menu_extensions: list[MenuExtension] = []

        self.tree = QTreeView()
        self.tree.setObjectName("executionTree")
        self.tree.setModel(model)
        self.tree.setUniformRowHeights(True)  # keeps 10,000 rows cheap to lay out
        self.tree.setAlternatingRowColors(True)
        self.tree.header().setSectionResizeMode(0, QHeaderView.ResizeMode.Interactive)
        self.tree.setColumnWidth(0, 260)
        self.tree.selectionModel().currentChanged.connect(self._current_changed)
        self.tree.setContextMenuPolicy(Qt.ContextMenuPolicy.CustomContextMenu)
        self.tree.customContextMenuRequested.connect(self._context_menu)

        self.details = QTextBrowser()
        self.details.setObjectName("executionDetails")
        self.details.setOpenLinks(False)
        self.details.anchorClicked.connect(self._link_clicked)
        self.details.setPlaceholderText("Select an execution to see its inputs, outputs, logs and messages.")
        self.details_tabs = QTabWidget()  # Details first; features add theirs (the Journal)
        self.details_tabs.setObjectName("executionDetailsTabs")
        self.details_tabs.setTabBarAutoHide(True)  # no bar over the details alone
        self.details_tabs.addTab(self.details, "Details")

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
        splitter.addWidget(self.details_tabs)
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

    def control(self, execution_id: int, action: str) -> None:
        """Pause or resume an execution, off the GUI thread (the engine commits first)."""
        engine = self._bridge.engine
        method = getattr(engine, action, None) if engine is not None else None
        if method is None:
            self._bridge.problem.emit(f"this engine cannot {action} executions" if engine is not None
                                      else "the engine is still starting; try again in a moment")
            return
        run_in_background(method, execution_id, on_error=self._bridge.problem.emit)

    def context_actions(self, execution_id: int) -> QMenu:
        """The tree's context menu for an execution, each entry enabled when it applies."""
        node = self.model.node(execution_id)
        status = node.status if node is not None else None
        menu = QMenu(self)
        pause = menu.addAction("Pause", lambda: self.control(execution_id, "pause"))
        pause.setEnabled(status == "running")
        resume = menu.addAction("Resume", lambda: self.control(execution_id, "resume"))
        # An execution waiting for a form's answer resumes when the form is answered.
        resume.setEnabled(status == "paused" and not self.model.is_waiting(execution_id))
        menu.addSeparator()
        cancel = menu.addAction("Cancel", lambda: self._bridge.cancel(execution_id))
        cancel.setEnabled(status in _ACTIVE)
        for extend in self._menu_extensions:
            menu.addSeparator()
            try:
                extend(menu, execution_id)
            except Exception:  # noqa: BLE001 - one broken feature must not take the menu with it
                log.exception("context menu extension %r failed", extend)
        return menu

    def add_menu_extension(self, extend: MenuExtension) -> None:
        """``extend(menu, execution_id)`` adds entries to the tree's context menu, after the
        panel's own (each extension after a separator, in the order they were added)."""
        self._menu_extensions.append(extend)

    def _context_menu(self, point: QPoint) -> None:
        index = self.tree.indexAt(point)
        if index.isValid():
            self.context_actions(index.data(ExecutionTreeModel.IdRole)).exec(self.tree.viewport().mapToGlobal(point))

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
