"""The Webhooks table: one row a webhook (name, flow, enabled as a checkbox, key required).
Ticking the box does not write the record here: it asks (``enableRequested``) and the row
changes when the record was saved and read back."""

from __future__ import annotations

from PySide6.QtCore import Qt, Signal

from ..models.rows_table import RowsTableModel

COLUMNS = ("Name", "Flow", "Enabled", "Key required")
NAME, FLOW, ENABLED, KEY = range(4)


class WebhooksModel(RowsTableModel):
    """Rows of ``engine_core.webhooks.records.Webhook``."""

    COLUMNS = COLUMNS
    enableRequested = Signal(str, bool)  # webhook name, enabled wanted

    def data(self, index, role=Qt.ItemDataRole.DisplayRole):
        hook = self.row_at(index.row()) if index.isValid() else None
        if hook is None:
            return None
        column = index.column()
        if role == Qt.ItemDataRole.DisplayRole:
            return {NAME: hook.name, FLOW: hook.flow, KEY: "yes" if hook.key_required else "no",
                    ENABLED: "enabled" if hook.enabled else "disabled"}[column]
        if role == Qt.ItemDataRole.CheckStateRole and column == ENABLED:
            return Qt.CheckState.Checked if hook.enabled else Qt.CheckState.Unchecked
        if role == Qt.ItemDataRole.ToolTipRole and column == ENABLED:
            return "Calls start the flow" if hook.enabled else "Calls get 404 until it is enabled"
        return None

    def flags(self, index):
        flags = super().flags(index)
        if index.isValid() and index.column() == ENABLED:
            flags |= Qt.ItemFlag.ItemIsUserCheckable
        return flags

    def setData(self, index, value, role=Qt.ItemDataRole.EditRole) -> bool:
        hook = self.row_at(index.row()) if index.isValid() else None
        if hook is None or index.column() != ENABLED or role != Qt.ItemDataRole.CheckStateRole:
            return False
        wanted = Qt.CheckState(value) == Qt.CheckState.Checked if not isinstance(value, bool) else value
        if wanted != hook.enabled:
            self.enableRequested.emit(hook.name, wanted)
        return True
