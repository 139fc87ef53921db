"""Seeing flows in the IDE: the dependency graph, the current flow's flowchart and the live
execution timeline, as dock widgets. ``install(window)`` wires them to a MainWindow through
its public attributes only, so the window's own code needs one call and nothing else."""

from __future__ import annotations

from dataclasses import dataclass, field

from PySide6.QtCore import Qt
from PySide6.QtWidgets import QDockWidget, QMainWindow, QMenu, QWidget

from engine_core import events as ev
from engine_core.graph import build_graph, observed_edges
from engine_core.graph.flowchart import build_flowchart

from ..analysis_service import analysis
from .export import export_dialog
from .flowchart_view import FlowchartView
from .graph_view import GraphView
from .timeline_view import TimelineView

__all__ = ["install", "Visuals", "GraphView", "FlowchartView", "TimelineView"]


@dataclass
class Visuals:
    window: QMainWindow
    graph: GraphView = field(default_factory=GraphView)
    flowchart: FlowchartView = field(default_factory=FlowchartView)
    timeline: TimelineView = field(default_factory=TimelineView)
    docks: dict[str, QDockWidget] = field(default_factory=dict)
    _child_flows: dict[int, tuple[int | None, str]] = field(default_factory=dict)  # id -> (parent, flow)
    _editors: set[int] = field(default_factory=set)

    # -- the graph ----------------------------------------------------------------------------
    def refresh_graph(self) -> None:
        """Re-extract off the GUI thread (500 flows take a few hundred ms), with the calls seen
        in past executions when the engine is open."""
        workspace = self.window.workspace
        if workspace is None:
            return
        if self.window.bridge.is_open:
            self.window.bridge.read(observed_edges, on_done=lambda seen: self._build_graph(workspace, seen))
        else:
            self._build_graph(workspace, [])

    def _build_graph(self, workspace, observed) -> None:
        def done(graph) -> None:
            if self.window.workspace == workspace:  # not a stale result after switching workspaces
                self.graph.set_graph(graph)
        # In the analysis process: parsing every flow holds the GIL for tens of milliseconds
        # (hundreds for a large workspace), which a thread of this process would steal from the GUI.
        analysis().submit(build_graph, workspace, observed, on_done=done, owner=self.graph)

    # -- the flowchart ------------------------------------------------------------------------
    def follow_editor(self, _flow=None) -> None:
        editor = self.window.tabs.current_editor()
        flow = self.window.tabs.current_flow()
        if editor is None or flow is None:
            return
        if id(editor) not in self._editors:  # connect each editor once, for its whole life
            self._editors.add(id(editor))
            editor.cursorLineChanged.connect(lambda line, e=editor: self._cursor_moved(e, line))
        source = editor.text()

        def show(chart) -> None:  # only if the user is still on that flow, unchanged
            if self.window.tabs.current_flow() == flow and editor.text() == source:
                self.flowchart.show_chart(flow, chart)
                self.flowchart.highlight_line(editor.current_line())
        analysis().submit(build_flowchart, source, on_done=show, owner=editor)  # nothing to show once its tab closed

    def _cursor_moved(self, editor, line: int) -> None:
        if editor is self.window.tabs.current_editor():
            self.flowchart.highlight_line(line)

    def select_lines(self, flow: str, first: int, last: int) -> None:
        editor = self.window.tabs.open_flow(flow)
        if editor is not None:
            editor.select_lines(first, last)

    def saved(self, flow: str) -> None:
        self.refresh_graph()
        if flow == self.flowchart.flow:
            self.follow_editor()

    # -- runs ---------------------------------------------------------------------------------
    def on_events(self, events: list) -> None:
        self.timeline.on_events(events)
        for event in events:
            if isinstance(event, ev.ExecutionCreated):
                self._child_flows[event.id] = (event.parent_id, event.flow)
                if event.parent_id is None and event.flow == self.flowchart.flow:
                    self.flowchart.reset_status()  # a new run of the shown flow starts clean
            elif isinstance(event, ev.StatusChanged) and event.id in self._child_flows:
                parent, flow = self._child_flows[event.id]
                if parent in self._child_flows and self._child_flows[parent][1] == self.flowchart.flow:
                    self.flowchart.set_child_status(flow, event.status)

    def engine_opened(self) -> None:
        self.timeline.load_tree(None)  # a tree of the previous workspace is none of this one's
        if self.docks["timeline"].isVisible():
            self.show_latest_tree()

    def show_latest_tree(self) -> None:
        """Opened with nothing to show (no run since the IDE started, or only runs of another
        engine): the newest tree in the store."""
        if self.timeline.model.root_id is None and self.window.bridge.is_open:
            self.window.bridge.read(_latest_tree, on_done=self._latest_read)

    def _latest_read(self, tree: dict | None) -> None:
        if tree is not None and self.timeline.model.root_id is None:  # no live run came first
            self.timeline.load_tree(tree)

    def export_current(self) -> None:
        """Export whichever visual is on top (the last one the user raised)."""
        for name, view in (("timeline", self.timeline), ("flowchart", self.flowchart), ("graph", self.graph)):
            if self.docks[name].isVisible() and not self.docks[name].visibleRegion().isEmpty():
                export_dialog(self.window, view.scene, f"{name}.png")
                return
        export_dialog(self.window, self.graph.scene, "graph.png")


def install(window: QMainWindow) -> Visuals:
    """Add the Graph, Flowchart and Timeline docks, their View-menu entries and an export
    action to ``window``; returns the views (also kept as ``window.visuals``)."""
    visuals = Visuals(window)
    for name, title, view in (("graph", "Graph", visuals.graph), ("flowchart", "Flowchart", visuals.flowchart),
                              ("timeline", "Timeline", visuals.timeline)):
        visuals.docks[name] = _dock(window, title, view)
    window.tabifyDockWidget(visuals.docks["graph"], visuals.docks["flowchart"])
    window.tabifyDockWidget(visuals.docks["graph"], visuals.docks["timeline"])
    _connect(window, visuals)
    _add_menu_entries(window, visuals)
    # Closed until asked for (View menu): the editor keeps its width on a first start. A
    # saved window state reopens whatever the user left open.
    for dock in visuals.docks.values():
        dock.hide()
    window.visuals = visuals
    return visuals


def _latest_tree(store) -> dict | None:
    newest = store.executions(limit=1, roots_only=True)
    return store.tree(newest[0]["id"]) if newest else None


def _dock(window: QMainWindow, title: str, widget: QWidget) -> QDockWidget:
    dock = QDockWidget(title, window)
    dock.setObjectName(f"{title.lower()}Dock")  # restoreState finds docks by name
    dock.setWidget(widget)
    window.addDockWidget(Qt.DockWidgetArea.RightDockWidgetArea, dock)
    return dock


def _connect(window, visuals: Visuals) -> None:
    visuals.graph.openFlow.connect(lambda name: window.tabs.open_flow(name))
    visuals.flowchart.openFlow.connect(lambda name: window.tabs.open_flow(name))
    visuals.flowchart.selectLines.connect(visuals.select_lines)
    visuals.timeline.showExecution.connect(window.executions.select)
    window.bridge.eventsArrived.connect(visuals.on_events)
    window.bridge.opened.connect(visuals.refresh_graph)
    window.tabs.saved.connect(visuals.saved)
    window.tabs.currentFlowChanged.connect(visuals.follow_editor)
    visuals.docks["graph"].visibilityChanged.connect(lambda shown: shown and visuals.refresh_graph())
    visuals.docks["timeline"].visibilityChanged.connect(lambda shown: shown and visuals.show_latest_tree())
    window.bridge.opened.connect(visuals.engine_opened)


def _add_menu_entries(window: QMainWindow, visuals: Visuals) -> None:
    view_menu = next((a.menu() for a in window.menuBar().actions() if a.text().replace("&", "") == "View"), None)
    if not isinstance(view_menu, QMenu):
        view_menu = window.menuBar().addMenu("&View")
    view_menu.addSeparator()
    for dock in visuals.docks.values():
        view_menu.addAction(dock.toggleViewAction())
    export = view_menu.addAction("Export Visual as PNG/SVG…")
    export.setObjectName("exportVisualAction")
    export.triggered.connect(lambda _=False: visuals.export_current())
