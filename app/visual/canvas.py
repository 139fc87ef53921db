"""The QGraphicsView every visual shares: wheel zoom around the mouse, drag to pan, fit."""

from __future__ import annotations

from PySide6.QtCore import Qt
from PySide6.QtGui import QPainter, QWheelEvent
from PySide6.QtWidgets import QGraphicsScene, QGraphicsView, QWidget

_MIN_SCALE, _MAX_SCALE = 0.05, 6.0


class Canvas(QGraphicsView):
    def __init__(self, scene: QGraphicsScene, parent: QWidget | None = None):
        super().__init__(scene, parent)
        self.setRenderHints(QPainter.RenderHint.Antialiasing | QPainter.RenderHint.TextAntialiasing)
        self.setDragMode(QGraphicsView.DragMode.ScrollHandDrag)
        self.setTransformationAnchor(QGraphicsView.ViewportAnchor.AnchorUnderMouse)
        # Items repaint their own small rects; a full redraw per change would stall big graphs.
        self.setViewportUpdateMode(QGraphicsView.ViewportUpdateMode.SmartViewportUpdate)

    def zoom(self, factor: float) -> None:
        current = self.transform().m11()
        factor = max(_MIN_SCALE / current, min(_MAX_SCALE / current, factor))
        self.scale(factor, factor)

    def wheelEvent(self, event: QWheelEvent) -> None:
        if event.modifiers() & Qt.KeyboardModifier.ShiftModifier:
            return super().wheelEvent(event)  # Shift+wheel scrolls, as elsewhere in the IDE
        self.zoom(1.15 ** (event.angleDelta().y() / 120))

    def fit(self) -> None:
        """Show everything; never magnify a small scene beyond 1:1, which only blurs it."""
        rect = self.scene().itemsBoundingRect().adjusted(-20, -20, 20, 20)
        if rect.isEmpty():
            return
        self.fitInView(rect, Qt.AspectRatioMode.KeepAspectRatio)
        if self.transform().m11() > 1.0:
            self.resetTransform()
            self.centerOn(rect.center())
