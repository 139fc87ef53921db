"""Status icons drawn at run time (no image files to ship or theme)."""

from __future__ import annotations

from functools import lru_cache

from PySide6.QtCore import QPointF, Qt
from PySide6.QtGui import QColor, QIcon, QPainter, QPixmap, QPolygonF

STATUS_COLOURS = {
    "queued": "#9e9e9e",
    "running": "#1e88e5",
    "paused": "#fb8c00",
    "success": "#43a047",
    "error": "#e53935",
    "cancelled": "#757575",
}


@lru_cache(maxsize=None)
def status_icon(status: str) -> QIcon:
    pixmap = QPixmap(14, 14)
    pixmap.fill(Qt.GlobalColor.transparent)
    painter = QPainter(pixmap)
    painter.setRenderHint(QPainter.RenderHint.Antialiasing)
    colour = QColor(STATUS_COLOURS.get(status, "#9e9e9e"))
    painter.setPen(Qt.PenStyle.NoPen)
    painter.setBrush(colour)
    if status == "running":
        painter.drawPolygon(QPolygonF([QPointF(3, 2), QPointF(12, 7), QPointF(3, 12)]))
    elif status == "paused":
        painter.drawRect(3, 2, 3, 10)
        painter.drawRect(8, 2, 3, 10)
    else:
        painter.drawEllipse(2, 2, 10, 10)
    painter.end()
    return QIcon(pixmap)
