"""The Packages table: one row per requirement of the workspace's ``requirements.txt``, with the
version it asks for, the version installed in the workspace's package set (or in Flowdesk's own
environment) and its state. The rows come from ``engine_core.packages.status(root)``, read on a
pool thread; the model only takes the result on the GUI thread."""

from __future__ import annotations

from PySide6.QtCore import Qt
from PySide6.QtGui import QColor

from ..models.rows_table import RowsTableModel

COLUMNS = ("Name", "Wanted", "Installed", "State")
STATE_COLUMN = COLUMNS.index("State")

# What the states mean to someone who did not write the engine (the tooltip adds the detail).
STATE_TEXT = {
    "installed": "installed",
    "missing": "not installed",
    "outdated": "needs update",
    "conflict": "conflicts with Flowdesk",
    "flowdesk": "provided by Flowdesk",
    "error": "error",
}
STATE_HINT = {
    "installed": "Installed in this workspace's packages (.flowdesk/packages); flows import it.",
    "missing": "Not installed yet: click Install.",
    "outdated": "The installed version does not match requirements.txt: click Install.",
    "conflict": "Flowdesk needs another version of this package; its own version is used.",
    "flowdesk": "Flowdesk's own environment already has a version that satisfies this; not installed again.",
    "error": "This line of requirements.txt cannot be used.",
}
# Red for what stops an install, amber for what an install will fix; the rest in the theme's colour.
_COLOURS = {"conflict": QColor("#d32f2f"), "error": QColor("#d32f2f"),
            "missing": QColor("#b26a00"), "outdated": QColor("#b26a00")}


class PackagesModel(RowsTableModel):
    """Rows of ``engine_core.packages.PackageRow`` (name, wanted, installed, state, detail)."""

    COLUMNS = COLUMNS

    def data(self, index, role=Qt.ItemDataRole.DisplayRole):
        row = self.row_at(index.row()) if index.isValid() else None
        if row is None:
            return None
        column = index.column()
        if role == Qt.ItemDataRole.DisplayRole:
            return (row.name, row.wanted or "any", row.installed or "—",
                    STATE_TEXT.get(row.state, row.state))[column]
        if role == Qt.ItemDataRole.ToolTipRole:
            return tooltip(row)
        if role == Qt.ItemDataRole.ForegroundRole and column == STATE_COLUMN:
            return _COLOURS.get(row.state)
        return None


def tooltip(row) -> str:
    """The engine's detail (pip's or the resolver's words) after a sentence saying what to do."""
    hint = STATE_HINT.get(row.state, "")
    detail = (row.detail or "").strip()
    if detail and detail.lower().rstrip(".") in hint.lower():
        detail = ""  # the engine's short words for what the hint says already
    return "\n".join(part for part in (hint, detail) if part)
