"""One flow's handler as a flowchart. Clicking a box selects its lines in the editor; moving
the cursor marks the box under it; during a run, boxes calling a child take its status colour."""

from __future__ import annotations

from PySide6.QtCore import QPointF, QRectF, Qt, Signal
from PySide6.QtGui import QMouseEvent
from PySide6.QtWidgets import QGraphicsScene, QHBoxLayout, QLabel, QPushButton, QVBoxLayout, QWidget

from engine_core.graph import Flowchart, build_flowchart, layered_layout

from .canvas import Canvas
from .export import export_dialog
from .items import ArrowItem, BoxItem

# kind -> (fill, stroke, shape); the call kinds are what a flow author scans for
BOX_STYLES = {
    "start": ("#e0e0e0", "#616161", "pill"), "end": ("#e0e0e0", "#616161", "pill"),
    "block": ("#ffffff", "#9e9e9e", "rect"), "if": ("#fff8e1", "#f9a825", "diamond"),
    "loop": ("#fff3e0", "#ef6c00", "diamond"), "try": ("#f3e5f5", "#8e24aa", "rect"),
    "except": ("#f3e5f5", "#8e24aa", "rect"), "with": ("#ffffff", "#9e9e9e", "rect"),
    "flow": ("#dbe8fb", "#3b6fb6", "rect"), "connect": ("#eadff5", "#6a3d9a", "rect"),
    "log": ("#eceff1", "#546e7a", "rect"), "message": ("#e0f7fa", "#00838f", "rect"),
    "output": ("#e8f5e9", "#558b2f", "rect"), "success": ("#c8e6c9", "#2e7d32", "pill"),
    "error": ("#ffcdd2", "#c62828", "pill"), "return": ("#e0e0e0", "#616161", "pill"),
    "raise": ("#ffcdd2", "#c62828", "pill"),
}
STATUS_FILLS = {"queued": "#eeeeee", "running": "#fff59d", "paused": "#ffe0b2", "success": "#a5d6a7",
                "error": "#ef9a9a", "cancelled": "#bdbdbd"}
_CHAR_WIDTH, _BOX_HEIGHT = 6.6, 28.0


class _ChartCanvas(Canvas):
    boxClicked = Signal(int)
    boxDoubleClicked = Signal(int)

    def mousePressEvent(self, event: QMouseEvent) -> None:
        item = self.itemAt(event.position().toPoint())
        if isinstance(item, BoxItem) and event.button() == Qt.MouseButton.LeftButton:
            self.boxClicked.emit(item.key)
        super().mousePressEvent(event)

    def mouseDoubleClickEvent(self, event: QMouseEvent) -> None:
        item = self.itemAt(event.position().toPoint())
        if isinstance(item, BoxItem):
            self.boxDoubleClicked.emit(item.key)
        super().mouseDoubleClickEvent(event)


class FlowchartView(QWidget):
    selectLines = Signal(str, int, int)  # flow, first line, last line (1-based)
    openFlow = Signal(str)  # double-click on a this.flow('X') box

    def __init__(self, parent: QWidget | None = None):
        super().__init__(parent)
        self.setObjectName("flowchartView")
        self.flow: str | None = None
        self.chart = Flowchart()
        self.boxes: dict[int, BoxItem] = {}
        self.marked: int | None = None
        self.scene = QGraphicsScene(self)
        self.canvas = _ChartCanvas(self.scene, self)
        self.canvas.boxClicked.connect(self._box_clicked)
        self.canvas.boxDoubleClicked.connect(self._box_double_clicked)
        self.title = QLabel("No flow")
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        bar = QHBoxLayout()
        for text, slot in (("Fit", self.canvas.fit), ("Export…", self.export)):
            button = QPushButton(text)
            button.clicked.connect(lambda _=False, s=slot: s())
            bar.addWidget(button)
        bar.addWidget(self.title, 1)
        layout.addLayout(bar)
        layout.addWidget(self.canvas, 1)

    def show_flow(self, flow: str, source: str) -> None:
        self.show_chart(flow, build_flowchart(source))

    def show_chart(self, flow: str, chart: Flowchart) -> None:
        """Show a chart built elsewhere (the IDE builds it in its analysis process)."""
        self.flow = flow
        self.set_chart(chart)
        self.title.setText(f"{flow}: {chart.error}" if chart.error else flow)

    def set_chart(self, chart: Flowchart) -> None:
        self.chart = chart
        self.scene.clear()
        self.boxes, self.marked = {}, None
        sizes = {b.id: (max(90.0, len(b.label) * _CHAR_WIDTH + 30), _BOX_HEIGHT) for b in chart.boxes}
        layout = layered_layout([b.id for b in chart.boxes], [(l.source, l.target) for l in chart.links],
                                sizes, gap_x=30, gap_y=34)
        for box in chart.boxes:
            (x, y), (w, h) = layout.positions[box.id], sizes[box.id]
            fill, stroke, shape = BOX_STYLES[box.kind]
            item = BoxItem(box.id, box.label, QRectF(x, y, w, h), fill, stroke, shape_kind=shape)
            item.setToolTip(f"lines {box.first_line}–{box.last_line}" if box.last_line > box.first_line
                            else f"line {box.first_line}")
            self.scene.addItem(item)
            self.boxes[box.id] = item
        for link in chart.links:
            self.scene.addItem(self._arrow(layout, link.source, link.target, link.label))
        self.scene.setSceneRect(self.scene.itemsBoundingRect().adjusted(-40, -40, 40, 40))

    def _arrow(self, layout, source: int, target: int, label: str) -> ArrowItem:
        (sx, sy), (tx, ty) = layout.center(source), layout.center(target)
        half = _BOX_HEIGHT / 2
        if ty > sy:
            start, end = QPointF(sx, sy + half), QPointF(tx, ty - half)
        else:  # back to a loop header (or continue): leave and enter on the right side
            start = QPointF(layout.positions[source][0] + layout.sizes[source][0], sy)
            end = QPointF(layout.positions[target][0] + layout.sizes[target][0], ty)
        colour = "#ef6c00" if ty <= sy else "#757575"
        return ArrowItem(start, end, colour, label=label, self_loop=ty <= sy)

    # -- the editor and the run ------------------------------------------------------------------
    def highlight_line(self, line: int) -> None:
        """Mark the box holding ``line`` (the editor's cursor, later the debugger's line)."""
        box = self.chart.box_at_line(line)
        new = box.id if box is not None else None
        if new == self.marked:
            return
        if self.marked in self.boxes:
            self.boxes[self.marked].set_marked(False)
        self.marked = new
        if new is not None:
            self.boxes[new].set_marked(True)
            self.canvas.ensureVisible(self.boxes[new], 40, 40)

    def set_child_status(self, child_flow: str, status: str) -> None:
        """Colour the boxes that call ``child_flow`` by that child's status."""
        for box in self.chart.boxes:
            if box.kind in ("flow", "connect") and box.target == child_flow:
                self.boxes[box.id].set_colours(STATUS_FILLS.get(status, BOX_STYLES[box.kind][0]))

    def reset_status(self) -> None:
        for box in self.chart.boxes:
            self.boxes[box.id].set_colours(BOX_STYLES[box.kind][0])

    def box_fill(self, box_id: int) -> str:
        return self.boxes[box_id].fill.name()

    def box_scene_center(self, box_id: int) -> QPointF:
        return self.boxes[box_id].rect.center()

    def _box_clicked(self, box_id: int) -> None:
        box = self.chart.box(box_id)
        if self.flow is not None and box.kind != "end":  # "end" has no line of its own
            self.selectLines.emit(self.flow, box.first_line, box.last_line)

    def _box_double_clicked(self, box_id: int) -> None:
        box = self.chart.box(box_id)
        if box.kind == "flow" and box.target:
            self.openFlow.emit(box.target)

    def export(self) -> None:
        export_dialog(self, self.scene, f"{self.flow or 'flow'}-flowchart.png")
