"""The workspace explorer: flows, workspace files (``files/``), settings with their values,
connector records (``connectors/``, with their type; see ``app/connectors``), recent
executions."""

from __future__ import annotations

import json
import logging

from PySide6.QtCore import QObject, QPoint, Qt, QTimer, Signal
from PySide6.QtGui import QAction, QShowEvent, QStandardItem, QStandardItemModel
from PySide6.QtWidgets import QMenu, QTreeView

from engine_core import events as ev

from ..icons import status_icon
from ..tasks import run_in_background

log = logging.getLogger(__name__)

RECENT_LIMIT = 20
# Executions started by another engine on the same database (``flowdesk run`` in a shell, a
# second IDE) send this IDE no events; only a look at the database finds them.
RECENT_POLL_MS = 1000

KindRole = Qt.ItemDataRole.UserRole + 1
KeyRole = Qt.ItemDataRole.UserRole + 2


class ExplorerPanel(QTreeView):
    openFlow = Signal(str)
    newFlow = Signal()
    renameFlow = Signal(str)
    deleteFlow = Signal(str)
    runFlow = Signal(str)
    newSetting = Signal()
    editSetting = Signal(str)
    deleteSetting = Signal(str)
    showExecution = Signal(int)
    openFile = Signal(str)  # a workspace file's name, relative to files/
    newConnector = Signal()
    editConnector = Signal(str)  # a connector record's name
    deleteConnector = Signal(str)

    def __init__(self, parent=None):
        super().__init__(parent)
        self.setObjectName("explorer")
        self.setHeaderHidden(True)
        self.setEditTriggers(QTreeView.EditTrigger.NoEditTriggers)
        self.model_ = QStandardItemModel(self)
        self.flows_item = self._section("Flows", "flows")
        self.files_item = self._section("Files", "files")
        self.settings_item = self._section("Settings", "settings")
        self.connectors_item = self._section("Connectors", "connectors")
        self.executions_item = self._section("Recent executions", "executions")
        self.setModel(self.model_)
        self.expandAll()
        self.activated.connect(self._activated)
        self.doubleClicked.connect(self._activated)
        self.setContextMenuPolicy(Qt.ContextMenuPolicy.CustomContextMenu)
        self.customContextMenuRequested.connect(self._context_menu)
        self.recent: RecentExecutions | None = None

    def _section(self, title: str, kind: str) -> QStandardItem:
        item = QStandardItem(title)
        item.setData(f"section:{kind}", KindRole)
        font = item.font()
        font.setBold(True)
        item.setFont(font)
        self.model_.appendRow(item)
        return item

    # -- contents -------------------------------------------------------------------------
    def set_flows(self, names: list[str]) -> None:
        self._fill(self.flows_item, [(name, "flow", name, None) for name in names])

    def set_files(self, names: list[str]) -> None:
        self._fill(self.files_item, [(name, "file", name, None) for name in names])

    def file_names(self) -> list[str]:
        return [self.files_item.child(i).data(KeyRole) for i in range(self.files_item.rowCount())]

    def set_settings(self, settings: dict) -> None:
        rows = []
        for name, value in settings.items():
            preview = json.dumps(value, ensure_ascii=False)
            preview = preview if len(preview) <= 40 else preview[:37] + "…"
            rows.append((f"{name} = {preview}", "setting", name, None))
        self._fill(self.settings_item, rows)

    def set_connectors(self, records: list[tuple[str, str]]) -> None:
        """``(name, connector type)`` of each stored connector record."""
        self._fill(self.connectors_item, [(f"{name}  ({kind})", "connector", name, None) for name, kind in records])

    def connector_names(self) -> list[str]:
        return [self.connectors_item.child(i).data(KeyRole) for i in range(self.connectors_item.rowCount())]

    def follow_store(self, bridge) -> None:
        """Keep "Recent executions" current from ``bridge``'s engine (an EngineBridge)."""
        if self.recent is None:
            self.recent = RecentExecutions(self, bridge)

    def set_recent(self, executions: list[dict]) -> None:
        """Show these root executions. While following a store, a list handed in is only a
        hint to look: it may have been read before the one shown (reads finish in any order)."""
        if self.recent is not None:
            self.recent.refresh()
        else:
            self.show_recent(executions)

    def show_recent(self, executions: list[dict]) -> None:
        rows = [(f"#{r['id']} {r['name']} — {r['status']}", "execution", r["id"], status_icon(r["status"]))
                for r in executions]
        if [row[0] for row in rows] == self.recent_texts():
            return  # unchanged: keep the selection and scroll position as they are
        selected = self.currentIndex().data(KeyRole) if self.currentIndex().data(KindRole) == "execution" else None
        self._fill(self.executions_item, rows)
        if selected is not None and (item := self.item_for("execution", selected)) is not None:
            self.setCurrentIndex(item.index())

    def recent_texts(self) -> list[str]:
        return [self.executions_item.child(i).text() for i in range(self.executions_item.rowCount())]

    def showEvent(self, event: QShowEvent) -> None:
        super().showEvent(event)
        if self.recent is not None:
            self.recent.refresh()

    def _fill(self, section: QStandardItem, rows) -> None:
        section.removeRows(0, section.rowCount())
        for text, kind, key, icon in rows:
            item = QStandardItem(text)
            item.setData(kind, KindRole)
            item.setData(key, KeyRole)
            item.setToolTip(text)
            if icon is not None:
                item.setIcon(icon)
            section.appendRow(item)
        self.expand(section.index())

    def flow_names(self) -> list[str]:
        return [self.flows_item.child(i).data(KeyRole) for i in range(self.flows_item.rowCount())]

    def item_for(self, kind: str, key) -> QStandardItem | None:
        section = {"flow": self.flows_item, "file": self.files_item, "setting": self.settings_item,
                   "connector": self.connectors_item, "execution": self.executions_item}[kind]
        for i in range(section.rowCount()):
            if section.child(i).data(KeyRole) == key:
                return section.child(i)
        return None

    # -- interaction ----------------------------------------------------------------------
    def _activated(self, index) -> None:
        kind, key = index.data(KindRole), index.data(KeyRole)
        if kind == "flow":
            self.openFlow.emit(key)
        elif kind == "file":
            self.openFile.emit(key)
        elif kind == "setting":
            self.editSetting.emit(key)
        elif kind == "connector":
            self.editConnector.emit(key)
        elif kind == "execution":
            self.showExecution.emit(key)

    def _context_menu(self, point: QPoint) -> None:
        index = self.indexAt(point)
        kind, key = index.data(KindRole), index.data(KeyRole)
        menu = QMenu(self)

        def add(text: str, slot) -> QAction:
            return menu.addAction(text, slot)

        if kind in ("flow", "section:flows"):
            if kind == "flow":
                add("Open", lambda: self.openFlow.emit(key))
                add("Run…", lambda: self.runFlow.emit(key))
                add("Rename…", lambda: self.renameFlow.emit(key))
                add("Delete…", lambda: self.deleteFlow.emit(key))
                menu.addSeparator()
            add("New Flow…", self.newFlow.emit)
        elif kind == "file":
            add("Open", lambda: self.openFile.emit(key))
        elif kind in ("setting", "section:settings"):
            if kind == "setting":
                add("Edit…", lambda: self.editSetting.emit(key))
                add("Delete…", lambda: self.deleteSetting.emit(key))
                menu.addSeparator()
            add("New Setting…", self.newSetting.emit)
        elif kind in ("connector", "section:connectors"):
            if kind == "connector":
                add("Edit…", lambda: self.editConnector.emit(key))
                add("Delete…", lambda: self.deleteConnector.emit(key))
                menu.addSeparator()
            add("New…", self.newConnector.emit)
        elif kind == "execution":
            add("Show in Executions", lambda: self.showExecution.emit(key))
        if not menu.isEmpty():
            menu.exec(self.viewport().mapToGlobal(point))


class RecentExecutions(QObject):
    """Reads the newest root executions for the Explorer: when the engine opens, when this
    engine starts or ends a root, and every RECENT_POLL_MS while the Explorer is visible (for
    other engines' executions). One read at a time, so an older list never replaces a newer."""

    def __init__(self, panel: ExplorerPanel, bridge) -> None:
        super().__init__(panel)
        self._panel = panel
        self._bridge = bridge
        self._reading = False
        self._again = False
        self._soon = QTimer(self, singleShot=True, interval=100)  # a burst of events: one read
        self._soon.timeout.connect(self.refresh)
        self._poll = QTimer(self, interval=RECENT_POLL_MS)
        self._poll.timeout.connect(self._poll_if_visible)
        bridge.opened.connect(self.refresh)
        bridge.eventsArrived.connect(self._events)
        self._poll.start()
        self.refresh()

    def _events(self, events: list) -> None:
        shown = {self._panel.executions_item.child(i).data(KeyRole) for i in range(self._panel.executions_item.rowCount())}
        for event in events:
            if (isinstance(event, ev.ExecutionCreated) and event.parent_id is None) or (
                    isinstance(event, (ev.StatusChanged, ev.ExecutionSaved)) and event.id in shown):
                self._soon.start()
                return

    def _poll_if_visible(self) -> None:
        if self._panel.isVisible() and not self._panel.visibleRegion().isEmpty():
            self.refresh()

    def refresh(self) -> None:
        engine = self._bridge.engine
        if engine is None:
            return
        if self._reading:
            self._again = True  # read once more when this one is back: it may predate the change
            return
        self._reading, self._again = True, False
        run_in_background(_read_recent, engine.store, on_done=self._read, on_error=self._failed, owner=self)

    def _read(self, executions: list[dict]) -> None:
        self._reading = False
        self._panel.show_recent(executions)
        if self._again:
            self.refresh()

    def _failed(self, message: str) -> None:
        # A database busy for a moment: the next event or poll reads again; no dialog each second.
        log.info("could not read the recent executions: %s", message)
        self._reading = False
        if self._again:
            self._soon.start()


def _read_recent(store) -> list[dict]:
    return store.executions(limit=RECENT_LIMIT, roots_only=True)
