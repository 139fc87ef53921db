"""The workspace's dependency graph: flows, settings and connectors as boxes, calls as arrows.
Double-click a flow to open it; select one to light up what it reaches and what reaches it."""

from __future__ import annotations

from PySide6.QtCore import QPointF, QRectF, Qt, Signal
from PySide6.QtGui import QMouseEvent
from PySide6.QtWidgets import QGraphicsScene, QHBoxLayout, QLabel, QPushButton, QVBoxLayout, QWidget

from engine_core.graph import DependencyGraph, Layout, build_graph
from engine_core.graph.export import CYCLE_COLOUR, NODE_COLOURS, OBSERVED_COLOUR, edge_points, graph_layout
from engine_core.workspace import Workspace

from .canvas import Canvas
from .export import export_dialog
from .items import ArrowItem, BoxItem

_SHAPES = {"flow": "rect", "unknown": "rect", "dynamic": "diamond", "setting": "pill", "connector": "pill"}
_DIMMED = 0.15


class GraphCanvas(Canvas):
    nodeDoubleClicked = Signal(str)

    def mouseDoubleClickEvent(self, event: QMouseEvent) -> None:
        item = self.itemAt(event.position().toPoint())
        if isinstance(item, BoxItem):
            self.nodeDoubleClicked.emit(item.key)
        else:
            super().mouseDoubleClickEvent(event)


class GraphView(QWidget):
    openFlow = Signal(str)
    flowSelected = Signal(str)  # "" when the selection is cleared

    def __init__(self, parent: QWidget | None = None):
        super().__init__(parent)
        self.setObjectName("graphView")
        self.graph = DependencyGraph()
        self.layout_: Layout | None = None
        self.nodes: dict[str, BoxItem] = {}
        self.edges: dict[tuple[str, str], ArrowItem] = {}
        self.scene = QGraphicsScene(self)
        self.scene.selectionChanged.connect(self._selection_changed)
        self.canvas = GraphCanvas(self.scene, self)
        self.canvas.nodeDoubleClicked.connect(self._double_clicked)
        self.summary = QLabel("")
        self._build(QVBoxLayout(self))

    def _build(self, layout: QVBoxLayout) -> None:
        layout.setContentsMargins(0, 0, 0, 0)
        bar = QHBoxLayout()
        for text, slot in (("Fit", self.canvas.fit), ("+", lambda: self.canvas.zoom(1.25)),
                           ("−", lambda: self.canvas.zoom(0.8)), ("Export…", self.export)):
            button = QPushButton(text)
            button.clicked.connect(lambda _=False, s=slot: s())
            bar.addWidget(button)
        bar.addWidget(self.summary, 1)
        layout.addLayout(bar)
        layout.addWidget(self.canvas, 1)

    # -- content ----------------------------------------------------------------------------
    def show_workspace(self, workspace: Workspace, observed=()) -> None:
        """Extract and draw now (on this thread); the IDE extracts in the background instead
        and calls ``set_graph``."""
        self.set_graph(build_graph(workspace, observed))

    def set_graph(self, graph: DependencyGraph, layout: Layout | None = None) -> None:
        selected = self.selected_node()
        self.graph = graph
        self.layout_ = layout or graph_layout(graph)
        self.scene.clear()
        self.nodes, self.edges = {}, {}
        for node_id in graph.nodes:
            self._add_node(node_id)
        for key in graph.edges:
            self._add_edge(key)
        self.scene.setSceneRect(self.scene.itemsBoundingRect().adjusted(-40, -40, 40, 40))
        self.summary.setText(self._summary())
        if selected in self.nodes:
            self.nodes[selected].setSelected(True)

    def _add_node(self, node_id: str) -> None:
        node = self.graph.nodes[node_id]
        (x, y), (w, h) = self.layout_.positions[node_id], self.layout_.sizes[node_id]
        fill, stroke = NODE_COLOURS[node.kind]
        label = node.label + (" ↻" if node.in_cycle else "") + (" ⚠" if node.error else "")
        item = BoxItem(node_id, label, QRectF(x, y, w, h), fill, CYCLE_COLOUR if node.in_cycle else stroke,
                       shape_kind=_SHAPES[node.kind], bold_border=node.in_cycle, dashed=node.kind == "dynamic")
        tips = {"unknown": "no such flow in this workspace", "dynamic": "flows named at run time"}
        item.setToolTip(node.error or tips.get(node.kind, f"{node.kind}: {node.label}") +
                        ("\npart of a cycle" if node.in_cycle else ""))
        self.scene.addItem(item)
        self.nodes[node_id] = item

    def _add_edge(self, key: tuple[str, str]) -> None:
        edge = self.graph.edges[key]
        source, target = key
        if source == target:
            (x, y), (w, h) = self.layout_.positions[source], self.layout_.sizes[source]
            start, end = QPointF(x + w, y + h / 2), QPointF(x + w - 10, y)
        else:
            (x1, y1), (x2, y2) = edge_points(self.layout_, source, target)
            start, end = QPointF(x1, y1), QPointF(x2, y2)
        colour = CYCLE_COLOUR if edge.in_cycle else OBSERVED_COLOUR if not edge.static else "#606060"
        dash = (Qt.PenStyle.DashLine if edge.kind == "dynamic" else
                Qt.PenStyle.DotLine if not edge.static else Qt.PenStyle.SolidLine)
        label = " ".join(t for t in (edge.access, "observed" if edge.observed and not edge.static else "") if t)
        item = ArrowItem(start, end, colour, dash=dash, label=label, self_loop=source == target,
                         width=2.0 if edge.in_cycle else 1.2)
        self.scene.addItem(item)
        self.edges[key] = item

    def _summary(self) -> str:
        kinds = [n.kind for n in self.graph.nodes.values()]
        text = f"{kinds.count('flow')} flows, {sum(e.kind == 'call' for e in self.graph.edges.values())} calls"
        if kinds.count("unknown"):
            text += f", {kinds.count('unknown')} unknown"
        if self.graph.cycles:
            text += f" — {len(self.graph.cycles)} cycle(s): " + "; ".join(
                " → ".join(self.graph.nodes[i].label for i in cycle) for cycle in self.graph.cycles[:3])
        return text

    # -- interaction ------------------------------------------------------------------------
    def selected_node(self) -> str | None:
        items = [i for i in self.scene.selectedItems() if isinstance(i, BoxItem)] if self.nodes else []
        return items[0].key if items else None

    def select_flow(self, name: str) -> None:
        self.scene.clearSelection()
        item = self.nodes.get(f"flow:{name}")
        if item is not None:
            item.setSelected(True)
            self.canvas.centerOn(item)

    def highlighted(self) -> set[str]:
        """Node ids drawn at full strength: everything, or the selection's neighbourhood."""
        return {key for key, item in self.nodes.items() if item.opacity() > _DIMMED}

    def _selection_changed(self) -> None:
        selected = self.selected_node()
        lit = None
        if selected is not None:
            lit = self.graph.reaches(selected) | self.graph.reached_by(selected) | {selected}
        for key, item in self.nodes.items():
            item.setOpacity(1.0 if lit is None or key in lit else _DIMMED)
        for (source, target), item in self.edges.items():
            item.setOpacity(1.0 if lit is None or (source in lit and target in lit) else _DIMMED)
        node = self.graph.nodes.get(selected) if selected else None
        self.flowSelected.emit(node.label if node is not None and node.kind in ("flow", "unknown") else "")

    def _double_clicked(self, node_id: str) -> None:
        node = self.graph.nodes.get(node_id)
        if node is not None and node.flow is not None:
            self.openFlow.emit(node.flow)

    def node_scene_center(self, name_or_id: str) -> QPointF:
        item = self.nodes.get(name_or_id) or self.nodes[f"flow:{name_or_id}"]
        return item.rect.center()

    def export(self) -> None:
        export_dialog(self, self.scene, "flow-graph.png")
