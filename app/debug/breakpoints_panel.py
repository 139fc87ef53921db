"""The Breakpoints panel: every breakpoint of the workspace, with enable/disable, remove, and
condition / hit count / log message (a logpoint prints instead of stopping)."""

from __future__ import annotations

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import (QDialog, QDialogButtonBox, QFormLayout, QHBoxLayout, QLineEdit, QPushButton,
                               QTreeWidget, QTreeWidgetItem, QVBoxLayout, QWidget)

from engine_core.debug import Breakpoint, BreakpointStore

_KEY = Qt.ItemDataRole.UserRole


class BreakpointDialog(QDialog):
    def __init__(self, flow: str, breakpoint: Breakpoint, parent=None):
        super().__init__(parent)
        self.setWindowTitle(f"Breakpoint: {flow}, line {breakpoint.line}")
        form = QFormLayout(self)
        self.condition = QLineEdit(breakpoint.condition or "", placeholderText="e.g. i == 7")
        self.hit_condition = QLineEdit(breakpoint.hit_condition or "", placeholderText="e.g. 3 or >= 5")
        self.log_message = QLineEdit(breakpoint.log_message or "", placeholderText="e.g. i is {i} (logs, does not stop)")
        form.addRow("Condition", self.condition)
        form.addRow("Hit count", self.hit_condition)
        form.addRow("Log message", self.log_message)
        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Ok | QDialogButtonBox.StandardButton.Cancel)
        buttons.accepted.connect(self.accept)
        buttons.rejected.connect(self.reject)
        form.addRow(buttons)

    def changes(self) -> dict:
        return {"condition": self.condition.text().strip() or None,
                "hit_condition": self.hit_condition.text().strip() or None,
                "log_message": self.log_message.text().strip() or None}


class BreakpointsPanel(QWidget):
    changed = Signal(str)  # flow whose breakpoints changed
    openFlowAt = Signal(str, int)

    def __init__(self, parent=None):
        super().__init__(parent)
        self.store: BreakpointStore | None = None
        self.tree = QTreeWidget()
        self.tree.setObjectName("breakpoints")
        self.tree.setHeaderLabels(["Breakpoint", "Condition", "Hit count", "Log message"])
        self.tree.itemChanged.connect(self._item_changed)
        self.tree.itemDoubleClicked.connect(lambda item, _col: self._open(item))
        edit, remove = QPushButton("Edit…"), QPushButton("Remove")
        edit.clicked.connect(self.edit_selected)
        remove.clicked.connect(self.remove_selected)
        buttons = QHBoxLayout()
        buttons.addWidget(edit)
        buttons.addWidget(remove)
        buttons.addStretch()
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addLayout(buttons)
        layout.addWidget(self.tree)

    def set_store(self, store: BreakpointStore | None) -> None:
        self.store = store
        self.refresh()

    def refresh(self) -> None:
        self.tree.blockSignals(True)
        self.tree.clear()
        for flow, items in (self.store.all() if self.store else {}).items():
            for bp in items:
                row = QTreeWidgetItem(self.tree, [f"{flow}:{bp.line}", bp.condition or "", bp.hit_condition or "",
                                                  bp.log_message or ""])
                row.setData(0, _KEY, (flow, bp.line))
                row.setFlags(row.flags() | Qt.ItemFlag.ItemIsUserCheckable)
                row.setCheckState(0, Qt.CheckState.Checked if bp.enabled else Qt.CheckState.Unchecked)
        self.tree.blockSignals(False)

    def _item_changed(self, item: QTreeWidgetItem, column: int) -> None:
        if column == 0 and self.store:
            flow, line = item.data(0, _KEY)
            self.store.update(flow, line, enabled=item.checkState(0) == Qt.CheckState.Checked)
            self.changed.emit(flow)

    def _selected(self) -> tuple[str, int] | None:
        item = self.tree.currentItem()
        return item.data(0, _KEY) if item else None

    def _open(self, item: QTreeWidgetItem) -> None:
        flow, line = item.data(0, _KEY)
        self.openFlowAt.emit(flow, line)

    def edit_selected(self) -> None:
        selected = self._selected()
        if selected and self.store:
            flow, line = selected
            current = next(b for b in self.store.for_flow(flow) if b.line == line)
            dialog = BreakpointDialog(flow, current, self)
            if dialog.exec():
                self.store.update(flow, line, **dialog.changes())
                self.refresh()
                self.changed.emit(flow)

    def remove_selected(self) -> None:
        selected = self._selected()
        if selected and self.store:
            self.store.remove(*selected)
            self.refresh()
            self.changed.emit(selected[0])
