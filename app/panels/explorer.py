"""The workspace explorer: flows, workspace files (``files/``), settings with their values,
recent executions."""

from __future__ import annotations

import json

from PySide6.QtCore import QPoint, Qt, Signal
from PySide6.QtGui import QAction, QStandardItem, QStandardItemModel
from PySide6.QtWidgets import QMenu, QTreeView

from ..icons import status_icon

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

    def __init__(self, parent=None):
        super().__init__(parent)
        self.setObjectName("explorer")
        self.setHeaderHidden(True)
        self.setEditTriggers(QTreeView.EditTrigger.NoEditTriggers)
        self.model_ = QStandardItemModel(self)
        self.flows_item = self._section("Flows", "flows")
        self.files_item = self._section("Files", "files")
        self.settings_item = self._section("Settings", "settings")
        self.executions_item = self._section("Recent executions", "executions")
        self.setModel(self.model_)
        self.expandAll()
        self.activated.connect(self._activated)
        self.doubleClicked.connect(self._activated)
        self.setContextMenuPolicy(Qt.ContextMenuPolicy.CustomContextMenu)
        self.customContextMenuRequested.connect(self._context_menu)

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

    def set_recent(self, executions: list[dict]) -> None:
        self._fill(self.executions_item, [(f"#{r['id']} {r['name']} — {r['status']}", "execution", r["id"],
                                           status_icon(r["status"])) for r in executions])

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
                   "execution": self.executions_item}[kind]
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
        elif kind == "execution":
            add("Show in Executions", lambda: self.showExecution.emit(key))
        if not menu.isEmpty():
            menu.exec(self.viewport().mapToGlobal(point))
