"""Seeing flows without Qt: the workspace dependency graph, one handler's flowchart, a
layered layout and text exports (dot, json, svg). The IDE's views in ``app/visual`` draw these."""

from .dependencies import DependencyGraph, GraphEdge, GraphNode, build_graph, observed_edges
from .flowchart import Box, Flowchart, Link, build_flowchart
from .layout import Layout, layered_layout

__all__ = ["DependencyGraph", "GraphEdge", "GraphNode", "build_graph", "observed_edges",
           "Box", "Flowchart", "Link", "build_flowchart", "Layout", "layered_layout"]
