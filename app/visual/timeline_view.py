"""The live monitor: one execution tree as a timeline, a bar per execution nested under its
parent, coloured by status, growing while it runs. One item paints only the rows in view, so
10,000 executions cost what a screenful does."""

from __future__ import annotations

import time

from PySide6.QtCore import QPointF, QRectF, Qt, QTimer, Signal
from PySide6.QtGui import QColor, QFont, QMouseEvent, QPainter, QPen
from PySide6.QtWidgets import (QComboBox, QGraphicsItem, QGraphicsScene, QHBoxLayout, QLabel, QLineEdit,
                               QPushButton, QStyleOptionGraphicsItem, QVBoxLayout, QWidget)

from engine_core import events as ev

from .canvas import Canvas
from .export import export_dialog
from .timeline_model import Row, TimelineModel

ROW_HEIGHT = 18.0
NAME_WIDTH = 260.0
BARS_WIDTH = 900.0
STATUS_COLOURS = {"queued": "#b0bec5", "running": "#fbc02d", "paused": "#ffb74d", "success": "#43a047",
                  "error": "#e53935", "cancelled": "#757575"}
_FONT = QFont("Sans Serif", 8)


class TimelineItem(QGraphicsItem):
    def __init__(self, model: TimelineModel):
        super().__init__()
        self.model = model
        self.now = time.time  # replaced in tests for a fixed clock
        self._rows = 0
        # exposedRect tells paint() which rows are on screen
        self.setFlag(QGraphicsItem.GraphicsItemFlag.ItemUsesExtendedStyleOption)

    def boundingRect(self) -> QRectF:
        return QRectF(0, 0, NAME_WIDTH + BARS_WIDTH + 10, max(self._rows, 1) * ROW_HEIGHT)

    def refresh(self) -> None:
        rows = len(self.model.visible())
        if rows != self._rows:
            self.prepareGeometryChange()
            self._rows = rows
        self.update()

    def bar_rect(self, index: int, row: Row, start: float, span: float) -> QRectF:
        end = row.end if row.end is not None else self.now()
        x = NAME_WIDTH + (row.start - start) / span * BARS_WIDTH
        width = max(2.0, (end - row.start) / span * BARS_WIDTH)
        return QRectF(x, index * ROW_HEIGHT + 3, width, ROW_HEIGHT - 6)

    def paint(self, painter: QPainter, option: QStyleOptionGraphicsItem, widget: QWidget | None = None) -> None:
        rows = self.model.visible()
        exposed = option.exposedRect if not option.exposedRect.isEmpty() else self.boundingRect()
        first = max(0, int(exposed.top() // ROW_HEIGHT))
        last = min(len(rows), int(exposed.bottom() // ROW_HEIGHT) + 1)
        start, end = self.model.span(self.now())
        span = end - start
        painter.setFont(_FONT)
        for index in range(first, last):
            row = rows[index]
            if index % 2:
                painter.fillRect(QRectF(0, index * ROW_HEIGHT, NAME_WIDTH + BARS_WIDTH, ROW_HEIGHT), QColor("#f5f5f5"))
            painter.setPen(QColor("#202020"))
            painter.drawText(QRectF(4 + row.depth * 12, index * ROW_HEIGHT, NAME_WIDTH - 8 - row.depth * 12, ROW_HEIGHT),
                             Qt.AlignmentFlag.AlignVCenter, f"#{row.id} {row.name}")
            colour = QColor(STATUS_COLOURS.get(row.status, "#9e9e9e"))
            painter.setPen(QPen(colour.darker(130), 1))
            painter.setBrush(colour)
            painter.drawRect(self.bar_rect(index, row, start, span))


class _TimelineCanvas(Canvas):
    rowClicked = Signal(float)  # scene y

    def __init__(self, scene: QGraphicsScene, parent: QWidget | None = None):
        super().__init__(scene, parent)
        self.setDragMode(Canvas.DragMode.NoDrag)  # rows are clicked, the scrollbars pan
        self.setAlignment(Qt.AlignmentFlag.AlignLeft | Qt.AlignmentFlag.AlignTop)
        self.setViewportUpdateMode(Canvas.ViewportUpdateMode.MinimalViewportUpdate)

    def mousePressEvent(self, event: QMouseEvent) -> None:
        if event.button() == Qt.MouseButton.LeftButton:
            self.rowClicked.emit(self.mapToScene(event.position().toPoint()).y())
        super().mousePressEvent(event)


class TimelineView(QWidget):
    showExecution = Signal(int)

    def __init__(self, parent: QWidget | None = None):
        super().__init__(parent)
        self.setObjectName("timelineView")
        self.model = TimelineModel(self)
        self.item = TimelineItem(self.model)
        self.scene = QGraphicsScene(self)
        self.scene.addItem(self.item)
        self.canvas = _TimelineCanvas(self.scene, self)
        self.canvas.rowClicked.connect(self._row_clicked)
        self.counter = QLabel("no executions")
        self.counter.setObjectName("timelineCounter")
        self.status_box = QComboBox()
        self.status_box.addItems(["all", "running", "queued", "success", "error", "cancelled"])
        self.flow_edit = QLineEdit(placeholderText="filter by flow")
        self._build()
        self.model.changed.connect(self._changed)
        self.model.countsChanged.connect(self._show_counts)
        self.status_box.currentTextChanged.connect(self._filter_changed)
        self.flow_edit.textChanged.connect(self._filter_changed)
        # While something runs its bar grows: repaint what is visible a few times a second.
        self._tick = QTimer(self, interval=200)
        self._tick.timeout.connect(self._grow)

    def _build(self) -> None:
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        bar = QHBoxLayout()
        bar.addWidget(self.counter, 1)
        bar.addWidget(self.status_box)
        bar.addWidget(self.flow_edit)
        export = QPushButton("Export…")
        export.clicked.connect(lambda: export_dialog(self, self.scene, "timeline.png"))
        bar.addWidget(export)
        layout.addLayout(bar)
        layout.addWidget(self.canvas, 1)

    # -- feeding ----------------------------------------------------------------------------
    def on_events(self, events: list[ev.Event]) -> None:
        self.model.enqueue(events)

    def load_tree(self, tree: dict | None) -> None:
        self.model.load_tree(tree)

    def _changed(self) -> None:
        self.item.refresh()
        self.scene.setSceneRect(self.item.boundingRect())
        if self.model.any_running():
            if not self._tick.isActive():
                self._tick.start()

    def _grow(self) -> None:
        if self.model.any_running():
            self.item.update()
        else:
            self._tick.stop()
            self.item.update()

    def _show_counts(self, counts: dict) -> None:
        self.counter.setText(f"{counts['running']} running · {counts['success']} succeeded · "
                             f"{counts['error']} failed · {counts['cancelled']} cancelled")

    def _filter_changed(self, _text: str = "") -> None:
        status = self.status_box.currentText()
        self.model.set_filter(None if status == "all" else status, self.flow_edit.text())

    # -- reading ----------------------------------------------------------------------------
    def visible_ids(self) -> list[int]:
        return [row.id for row in self.model.visible()]

    def row_scene_point(self, execution_id: int) -> QPointF:
        index = self.visible_ids().index(execution_id)
        return QPointF(NAME_WIDTH / 2, index * ROW_HEIGHT + ROW_HEIGHT / 2)

    def _row_clicked(self, y: float) -> None:
        rows = self.model.visible()
        index = int(y // ROW_HEIGHT)
        if 0 <= index < len(rows) and y >= 0:
            self.showExecution.emit(rows[index].id)
