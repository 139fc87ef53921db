"""Scene items shared by the graph and the flowchart: a labelled box and a curved arrow.
Each paints itself (no child text items), which keeps a 500-node scene cheap to build."""

from __future__ import annotations

import math

from PySide6.QtCore import QPointF, QRectF, Qt
from PySide6.QtGui import QBrush, QColor, QFont, QPainter, QPainterPath, QPen, QPolygonF
from PySide6.QtWidgets import QGraphicsItem, QGraphicsPathItem, QStyle, QStyleOptionGraphicsItem, QWidget

SELECTED_COLOUR = QColor("#1565c0")


class BoxItem(QGraphicsItem):
    """A box with a centred label; ``shape_kind`` picks rectangle, pill or diamond."""

    def __init__(self, key: object, label: str, rect: QRectF, fill: str, stroke: str, *,
                 shape_kind: str = "rect", bold_border: bool = False, dashed: bool = False):
        super().__init__()
        self.key = key
        self.label = label
        self.rect = rect
        self.fill, self.stroke = QColor(fill), QColor(stroke)
        self.shape_kind = shape_kind
        self.bold_border = bold_border
        self.dashed = dashed
        self.marked = False  # a "current" box (cursor, debug line): thick blue border
        self.setFlag(QGraphicsItem.GraphicsItemFlag.ItemIsSelectable)
        self.setAcceptHoverEvents(True)

    def boundingRect(self) -> QRectF:
        return self.rect.adjusted(-3, -3, 3, 3)

    def outline(self) -> QPainterPath:
        path = QPainterPath()
        r = self.rect
        if self.shape_kind == "diamond":
            path.addPolygon(QPolygonF([QPointF(r.center().x(), r.top()), QPointF(r.right(), r.center().y()),
                                       QPointF(r.center().x(), r.bottom()), QPointF(r.left(), r.center().y())]))
            path.closeSubpath()
        elif self.shape_kind == "pill":
            path.addRoundedRect(r, r.height() / 2, r.height() / 2)
        else:
            path.addRoundedRect(r, 4, 4)
        return path

    def shape(self) -> QPainterPath:
        return self.outline()

    def set_colours(self, fill: str, stroke: str | None = None) -> None:
        self.fill = QColor(fill)
        if stroke:
            self.stroke = QColor(stroke)
        self.update()

    def set_marked(self, marked: bool) -> None:
        if marked != self.marked:
            self.marked = marked
            self.update()

    def paint(self, painter: QPainter, option: QStyleOptionGraphicsItem, widget: QWidget | None = None) -> None:
        selected = bool(option.state & QStyle.StateFlag.State_Selected)
        colour = SELECTED_COLOUR if selected or self.marked else self.stroke
        pen = QPen(colour, 3 if selected or self.marked else 2 if self.bold_border else 1)
        if self.dashed:
            pen.setStyle(Qt.PenStyle.DashLine)
        painter.setPen(pen)
        painter.setBrush(QBrush(self.fill))
        painter.drawPath(self.outline())
        painter.setPen(QColor("#202020"))
        painter.setFont(_FONT)
        painter.drawText(self.rect.adjusted(6, 0, -6, 0), Qt.AlignmentFlag.AlignCenter, self.label)


_FONT = QFont("Sans Serif", 9)


class ArrowItem(QGraphicsPathItem):
    """A cubic curve from ``start`` to ``end`` with an arrowhead, optional dash and label."""

    def __init__(self, start: QPointF, end: QPointF, colour: str, *, dash: Qt.PenStyle = Qt.PenStyle.SolidLine,
                 label: str = "", width: float = 1.2, self_loop: bool = False):
        super().__init__()
        self.colour = QColor(colour)
        self.label = label
        path = QPainterPath(start)
        if self_loop:  # out of the right side and back in, above
            path.cubicTo(start + QPointF(60, -10), end + QPointF(60, -40), end)
        else:
            bend = (end.y() - start.y()) / 2 or 30.0
            path.cubicTo(QPointF(start.x(), start.y() + bend), QPointF(end.x(), end.y() - bend), end)
        self.setPath(path)
        pen = QPen(self.colour, width)
        pen.setStyle(dash)
        self.setPen(pen)
        self.setZValue(-1)  # under the boxes
        self._head = _arrowhead(path)

    def boundingRect(self) -> QRectF:
        return super().boundingRect().united(self._head.boundingRect()).adjusted(-40, -10, 40, 10)

    def paint(self, painter: QPainter, option: QStyleOptionGraphicsItem, widget: QWidget | None = None) -> None:
        super().paint(painter, option, widget)
        painter.setPen(Qt.PenStyle.NoPen)
        painter.setBrush(self.colour)
        painter.drawPolygon(self._head)
        if self.label:
            painter.setPen(self.colour.darker(130))
            painter.setFont(_SMALL_FONT)
            middle = self.path().pointAtPercent(0.5)
            painter.drawText(middle + QPointF(4, -2), self.label)


_SMALL_FONT = QFont("Sans Serif", 8)


def _arrowhead(path: QPainterPath, size: float = 8.0) -> QPolygonF:
    tip = path.pointAtPercent(1.0)
    angle = math.radians(-path.angleAtPercent(0.98))  # Qt's angles are counter-clockwise degrees
    back = QPointF(math.cos(angle), math.sin(angle)) * size
    side = QPointF(-back.y(), back.x()) * 0.45
    return QPolygonF([tip, tip - back + side, tip - back - side])
