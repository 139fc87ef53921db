"""The live monitor: one execution tree as a timeline, a bar per execution nested under its
parent, coloured by status, growing while it runs. One item paints only the rows in view, so
10,000 executions cost what a screenful does.

Like a profiler's timeline, only the time axis zooms (the wheel, around the cursor); rows keep
their height and the labels stay in a column pinned to the left edge. Until the user zooms or
pans, the view keeps fitting the newest tree into its width."""

from __future__ import annotations

import time

from PySide6.QtCore import QPointF, QRectF, Qt, QTimer, Signal
from PySide6.QtGui import QColor, QFont, QKeyEvent, QMouseEvent, QPainter, QPen, QResizeEvent, QShowEvent, QWheelEvent
from PySide6.QtWidgets import (QComboBox, QGraphicsItem, QGraphicsScene, QGraphicsView, QHBoxLayout, QLabel,
                               QLineEdit, QPushButton, QStyleOptionGraphicsItem, QVBoxLayout, QWidget)

from engine_core import events as ev

from .canvas import Canvas
from .export import export_dialog
from .timeline_model import Row, TimelineModel

ROW_HEIGHT = 18.0
NAME_WIDTH = 260.0
MIN_BAR_WIDTH = 3.0  # a 5 ms child beside a 10 s root is still something to see and click
RIGHT_MARGIN = 8.0
DEFAULT_SCALE = 100.0  # px per second before the first fit
MAX_SCALE = 200_000.0  # 1 px = 5 µs: finer than the times the engine records are worth
ZOOM_STEP = 1.25  # per wheel notch (120 units) or + / - key
STATUS_COLOURS = {"queued": "#b0bec5", "running": "#fbc02d", "paused": "#ffb74d", "success": "#43a047",
                  "error": "#e53935", "cancelled": "#757575"}
_FONT = QFont("Sans Serif", 8)


class TimelineItem(QGraphicsItem):
    """Bars at ``NAME_WIDTH + (t - start) * scale`` (scene x, scale in px per second); the
    labels are painted over the bars at the viewport's left edge, so scrolling the time axis
    never takes them away. Exported images (no view) get the labels at x = 0."""

    def __init__(self, model: TimelineModel):
        super().__init__()
        self.model = model
        self.now = time.time  # replaced in tests for a fixed clock
        self.scale = DEFAULT_SCALE
        self._rows = 0
        self._width = NAME_WIDTH
        # exposedRect tells paint() which rows are on screen
        self.setFlag(QGraphicsItem.GraphicsItemFlag.ItemUsesExtendedStyleOption)

    def boundingRect(self) -> QRectF:
        return QRectF(0, 0, self._width, max(self._rows, 1) * ROW_HEIGHT)

    def span(self) -> tuple[float, float]:
        """(start, duration in seconds) of the tree shown."""
        start, end = self.model.span(self.now())
        return start, end - start

    def refresh(self) -> None:
        rows = len(self.model.visible())
        width = NAME_WIDTH + self.span()[1] * self.scale + MIN_BAR_WIDTH + RIGHT_MARGIN
        if rows != self._rows or abs(width - self._width) >= 0.5:
            self.prepareGeometryChange()
            self._rows, self._width = rows, width
        self.update()

    def x_of(self, at: float, start: float) -> float:
        return NAME_WIDTH + (at - start) * self.scale

    def bar_rect(self, index: int, row: Row, start: float) -> QRectF:
        """The bar in scene coordinates: its left edge at its true start; at least
        MIN_BAR_WIDTH wide (the axis stays honest, a short bar is only drawn wider)."""
        end = row.end if row.end is not None else self.now()
        width = max(MIN_BAR_WIDTH, (end - row.start) * self.scale)
        return QRectF(self.x_of(row.start, start), index * ROW_HEIGHT + 3, width, ROW_HEIGHT - 6)

    def label_rect(self, index: int, row: Row, left: float = 0.0) -> QRectF:
        """Where the label is written; ``left`` is the scene x of the label column."""
        indent = 4 + min(row.depth, 12) * 12  # deeper rows stop indenting: the name must fit
        return QRectF(left + indent, index * ROW_HEIGHT, NAME_WIDTH - 4 - indent, ROW_HEIGHT)

    def paint(self, painter: QPainter, option: QStyleOptionGraphicsItem, widget: QWidget | None = None) -> None:
        rows = self.model.visible()
        exposed = option.exposedRect if not option.exposedRect.isEmpty() else self.boundingRect()
        first = max(0, int(exposed.top() // ROW_HEIGHT))
        last = min(len(rows), int(exposed.bottom() // ROW_HEIGHT) + 1)
        view = widget.parentWidget() if widget is not None else None
        left = view.mapToScene(0, 0).x() if isinstance(view, QGraphicsView) else 0.0
        start = self.model.span(0.0)[0]  # where the axis starts needs no clock
        painter.setFont(_FONT)
        full_width = max(self._width, exposed.right())
        for index in range(first, last):
            if index % 2:
                painter.fillRect(QRectF(0, index * ROW_HEIGHT, full_width, ROW_HEIGHT), QColor("#f5f5f5"))
            row = rows[index]
            colour = QColor(STATUS_COLOURS.get(row.status, "#9e9e9e"))
            painter.setPen(QPen(colour.darker(130), 1))
            painter.setBrush(colour)
            painter.drawRect(self.bar_rect(index, row, start))
        # The label column, pinned: opaque so that bars scrolled under it do not show through.
        top, bottom = first * ROW_HEIGHT, last * ROW_HEIGHT
        painter.fillRect(QRectF(left, top, NAME_WIDTH, bottom - top), QColor("#ffffff"))
        painter.setPen(QColor("#202020"))
        for index in range(first, last):
            row = rows[index]
            if index % 2:
                painter.fillRect(QRectF(left, index * ROW_HEIGHT, NAME_WIDTH, ROW_HEIGHT), QColor("#f5f5f5"))
            painter.drawText(self.label_rect(index, row, left),
                             Qt.AlignmentFlag.AlignVCenter | Qt.AlignmentFlag.AlignLeft, f"#{row.id} {row.name}")
        painter.setPen(QColor("#c0c0c0"))
        painter.drawLine(QPointF(left + NAME_WIDTH - 1, top), QPointF(left + NAME_WIDTH - 1, bottom))


class _TimelineCanvas(Canvas):
    """Wheel over the bars: zoom the time axis around the cursor (Ctrl+wheel anywhere too);
    wheel over the labels or Shift+wheel: scroll the rows; F / 0 fit, + / - zoom."""

    rowClicked = Signal(float)  # scene y
    zoomAt = Signal(float, float)  # viewport x to keep in place, factor
    fitRequested = Signal()
    panned = Signal()  # the time axis was scrolled by the user
    resized = Signal()

    def __init__(self, scene: QGraphicsScene, parent: QWidget | None = None):
        super().__init__(scene, parent)
        self.setDragMode(Canvas.DragMode.NoDrag)  # rows are clicked, the scrollbars pan
        self.setAlignment(Qt.AlignmentFlag.AlignLeft | Qt.AlignmentFlag.AlignTop)
        self.setTransformationAnchor(QGraphicsView.ViewportAnchor.NoAnchor)
        # The label column is painted at the viewport's left edge: a horizontal scroll must
        # repaint it, not shift the old pixels (what the other update modes do).
        self.setViewportUpdateMode(Canvas.ViewportUpdateMode.FullViewportUpdate)
        self.setFocusPolicy(Qt.FocusPolicy.StrongFocus)

    def mousePressEvent(self, event: QMouseEvent) -> None:
        if event.button() == Qt.MouseButton.LeftButton:
            self.rowClicked.emit(self.mapToScene(event.position().toPoint()).y())
        super().mousePressEvent(event)

    def wheelEvent(self, event: QWheelEvent) -> None:
        steps = event.angleDelta().y() / 120
        modifiers = event.modifiers()
        over_labels = event.position().x() < NAME_WIDTH
        if steps and not modifiers & Qt.KeyboardModifier.ShiftModifier and (
                modifiers & Qt.KeyboardModifier.ControlModifier or not over_labels):
            self.zoomAt.emit(event.position().x(), ZOOM_STEP ** steps)
            event.accept()
        elif steps:  # three rows a notch, as lists scroll
            bar = self.verticalScrollBar()
            bar.setValue(round(bar.value() - steps * 3 * ROW_HEIGHT))
            event.accept()
        else:  # a trackpad's sideways swipe pans the time axis
            self.panned.emit()
            QGraphicsView.wheelEvent(self, event)

    def keyPressEvent(self, event: QKeyEvent) -> None:
        key = event.key()
        middle = NAME_WIDTH + (self.viewport().width() - NAME_WIDTH) / 2
        if key in (Qt.Key.Key_F, Qt.Key.Key_0, Qt.Key.Key_Home):
            self.fitRequested.emit()
        elif key in (Qt.Key.Key_Plus, Qt.Key.Key_Equal):
            self.zoomAt.emit(middle, ZOOM_STEP)
        elif key == Qt.Key.Key_Minus:
            self.zoomAt.emit(middle, 1 / ZOOM_STEP)
        else:
            super().keyPressEvent(event)

    def resizeEvent(self, event: QResizeEvent) -> None:
        super().resizeEvent(event)
        self.resized.emit()


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
        self.canvas.zoomAt.connect(self.zoom_at)
        self.canvas.fitRequested.connect(self.fit)
        self.canvas.resized.connect(self._follow_size)
        self.canvas.panned.connect(self._user_panned)
        self.canvas.horizontalScrollBar().actionTriggered.connect(self._user_panned)
        self.counter = QLabel("no executions")
        self.counter.setObjectName("timelineCounter")
        self.scale_label = QLabel()
        self.scale_label.setObjectName("timelineScale")
        self.status_box = QComboBox()
        self.status_box.addItems(["all", "running", "queued", "success", "error", "cancelled"])
        self.flow_edit = QLineEdit(placeholderText="filter by flow")
        self.fit_button = QPushButton("Fit")
        self.fit_button.setToolTip("Fit the whole tree into view (F)\nWheel: zoom time · Shift+wheel: scroll rows")
        self.fit_button.clicked.connect(self.fit)
        self.following = True  # fit every change until the user zooms or pans
        self._root_shown: int | None = None
        self._build()
        self.model.changed.connect(self._changed)
        self.model.countsChanged.connect(self._show_counts)
        self.status_box.currentTextChanged.connect(self._filter_changed)
        self.flow_edit.textChanged.connect(self._filter_changed)
        # While something runs its bar grows: repaint what is visible a few times a second.
        self._tick = QTimer(self, interval=200)
        self._tick.timeout.connect(self._grow)
        self._show_scale()

    def _build(self) -> None:
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        bar = QHBoxLayout()
        bar.addWidget(self.counter, 1)
        bar.addWidget(self.scale_label)
        bar.addWidget(self.fit_button)
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
        if self.model.root_id != self._root_shown:  # a new tree: show all of it, from the top
            self._root_shown = self.model.root_id
            self.following = True
            self.canvas.verticalScrollBar().setValue(0)
        self._relayout()
        if self.model.any_running():
            if not self._tick.isActive():
                self._tick.start()

    def _grow(self) -> None:
        if not self.model.any_running():
            self._tick.stop()
        self._relayout()

    def _relayout(self) -> None:
        if self.following:
            self.item.scale = self._fit_scale()
        self.item.refresh()
        self.scene.setSceneRect(self.item.boundingRect())
        if self.following:
            self.canvas.horizontalScrollBar().setValue(0)
        self._show_scale()

    def _show_counts(self, counts: dict) -> None:
        self.counter.setText(f"{counts['running']} running · {counts['success']} succeeded · "
                             f"{counts['error']} failed · {counts['cancelled']} cancelled")

    def _filter_changed(self, _text: str = "") -> None:
        status = self.status_box.currentText()
        self.model.set_filter(None if status == "all" else status, self.flow_edit.text())

    # -- zoom -------------------------------------------------------------------------------
    def _bars_width(self) -> float:
        return max(40.0, self.canvas.viewport().width() - NAME_WIDTH - MIN_BAR_WIDTH - RIGHT_MARGIN - 1)

    def _fit_scale(self) -> float:
        return min(MAX_SCALE, self._bars_width() / max(self.item.span()[1], 1e-3))

    def fit(self) -> None:
        """Show the whole tree: its time span across the width, labels at the left."""
        self.following = True
        self._relayout()

    def zoom_at(self, viewport_x: float, factor: float) -> None:
        """Scale the time axis by ``factor``, keeping the time under ``viewport_x`` in place."""
        start = self.item.span()[0]
        hbar = self.canvas.horizontalScrollBar()
        viewport_x = max(NAME_WIDTH, viewport_x)  # over the labels: anchor at the axis' left
        at = start + (hbar.value() + viewport_x - NAME_WIDTH) / self.item.scale
        lowest = min(self._fit_scale() / 4, self.item.scale)  # far smaller than the fit shows nothing more
        scale = max(lowest, min(MAX_SCALE, self.item.scale * factor))
        if scale == self.item.scale:
            return
        self.following = False
        self.item.scale = scale
        self.item.refresh()
        self.scene.setSceneRect(self.item.boundingRect())
        hbar.setValue(round(self.item.x_of(at, start) - viewport_x))
        self._show_scale()

    def time_at(self, viewport_x: float) -> float:
        """The time (seconds since the epoch) at a viewport x of the bars area."""
        scene_x = self.canvas.viewportTransform().inverted()[0].map(QPointF(viewport_x, 0)).x()
        return self.item.span()[0] + (scene_x - NAME_WIDTH) / self.item.scale

    def _user_panned(self, _action: int = 0) -> None:
        self.following = False

    def _follow_size(self) -> None:
        if self.following:
            self._relayout()

    def showEvent(self, event: QShowEvent) -> None:
        super().showEvent(event)
        self.fit()  # shown again: the newest tree, whole

    def _show_scale(self) -> None:
        self.scale_label.setText(f"100 px = {_duration(100 / self.item.scale)}")

    # -- reading ----------------------------------------------------------------------------
    def visible_ids(self) -> list[int]:
        return [row.id for row in self.model.visible()]

    def _index_row(self, execution_id: int) -> tuple[int, Row]:
        rows = self.model.visible()
        index = [row.id for row in rows].index(execution_id)
        return index, rows[index]

    def row_scene_point(self, execution_id: int) -> QPointF:
        index = self.visible_ids().index(execution_id)
        return QPointF(NAME_WIDTH / 2, index * ROW_HEIGHT + ROW_HEIGHT / 2)

    def bar_viewport_rect(self, execution_id: int) -> QRectF:
        """Where the execution's bar is on screen (viewport coordinates)."""
        index, row = self._index_row(execution_id)
        return self._to_viewport(self.item.bar_rect(index, row, self.item.span()[0]))

    def label_viewport_rect(self, execution_id: int) -> QRectF:
        """Where the execution's label is written on screen (viewport coordinates)."""
        index, row = self._index_row(execution_id)
        return self._to_viewport(self.item.label_rect(index, row, self.canvas.mapToScene(0, 0).x()))

    def _to_viewport(self, rect: QRectF) -> QRectF:
        return self.canvas.viewportTransform().mapRect(rect)

    def _row_clicked(self, y: float) -> None:
        rows = self.model.visible()
        index = int(y // ROW_HEIGHT)
        if 0 <= index < len(rows) and y >= 0:
            self.showExecution.emit(rows[index].id)


def _duration(seconds: float) -> str:
    if seconds >= 1:
        return f"{seconds:.3g} s"
    if seconds >= 1e-3:
        return f"{seconds * 1e3:.3g} ms"
    return f"{seconds * 1e6:.3g} µs"
