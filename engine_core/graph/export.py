"""The dependency graph as text: Graphviz dot, JSON, and a self-contained SVG (drawn from
our own layout, so the command line needs neither Qt nor Graphviz)."""

from __future__ import annotations

import json
from xml.sax.saxutils import escape

from .dependencies import DependencyGraph, GraphEdge, GraphNode
from .layout import Layout, layered_layout

# fill, stroke per node kind; unknown flows are red so they stand out
NODE_COLOURS = {"flow": ("#dbe8fb", "#3b6fb6"), "unknown": ("#f9d0d0", "#c62828"),
                "dynamic": ("#eeeeee", "#777777"), "setting": ("#dff2df", "#2e7d32"),
                "connector": ("#eadff5", "#6a3d9a")}
CYCLE_COLOUR = "#e65100"
OBSERVED_COLOUR = "#00897b"
_CHAR_WIDTH, _NODE_HEIGHT = 7.2, 30.0


def to_json(graph: DependencyGraph) -> str:
    return json.dumps(graph.to_dict(), indent=2, ensure_ascii=False)


def to_dot(graph: DependencyGraph) -> str:
    lines = ["digraph flows {", "  rankdir=TB;", '  node [fontname="Helvetica", style=filled];']
    shapes = {"flow": "box", "unknown": "box", "dynamic": "diamond", "setting": "ellipse", "connector": "hexagon"}
    for node in graph.nodes.values():
        fill, stroke = NODE_COLOURS[node.kind]
        colour = CYCLE_COLOUR if node.in_cycle else stroke
        lines.append(f"  {_dot_id(node.id)} [label={_dot_id(node.label)}, shape={shapes[node.kind]}, "
                     f'fillcolor="{fill}", color="{colour}"];')
    for edge in graph.edges.values():
        attributes = [f'style={"dashed" if edge.kind == "dynamic" else "dotted" if not edge.static else "solid"}']
        if edge.in_cycle:
            attributes.append(f'color="{CYCLE_COLOUR}"')
        elif edge.observed and not edge.static:
            attributes.append(f'color="{OBSERVED_COLOUR}"')
        label = " ".join(t for t in (edge.access, "observed" if edge.observed and not edge.static else "") if t)
        if label:
            attributes.append(f'label="{label}"')
        lines.append(f"  {_dot_id(edge.source)} -> {_dot_id(edge.target)} [{', '.join(attributes)}];")
    lines.append("}")
    return "\n".join(lines) + "\n"


def _dot_id(text: str) -> str:
    return '"' + text.replace("\\", "\\\\").replace('"', '\\"') + '"'


def node_size(node: GraphNode) -> tuple[float, float]:
    return max(80.0, len(node.label) * _CHAR_WIDTH + 24), _NODE_HEIGHT


def graph_layout(graph: DependencyGraph) -> Layout:
    """The layout the IDE and the SVG export share: flows first in name order, then the rest."""
    order = sorted(graph.nodes, key=lambda i: (graph.nodes[i].kind not in ("flow", "unknown"), i))
    sizes = {i: node_size(graph.nodes[i]) for i in order}
    return layered_layout(order, graph.edges.keys(), sizes, gap_x=24, gap_y=56)


def to_svg(graph: DependencyGraph, layout: Layout | None = None) -> str:
    layout = layout or graph_layout(graph)
    left, top, right, bottom = layout.bounds()
    margin = 20
    parts = [f'<svg xmlns="http://www.w3.org/2000/svg" viewBox="{left - margin:.0f} {top - margin:.0f} '
             f'{right - left + 2 * margin:.0f} {bottom - top + 2 * margin:.0f}" '
             f'width="{right - left + 2 * margin:.0f}" height="{bottom - top + 2 * margin:.0f}" '
             'font-family="Helvetica, Arial, sans-serif" font-size="12">',
             '<defs><marker id="arrow" viewBox="0 0 10 10" refX="10" refY="5" markerWidth="8" markerHeight="8" '
             'orient="auto-start-reverse"><path d="M0,0 L10,5 L0,10 z" fill="#555"/></marker></defs>']
    parts += [_svg_edge(edge, layout) for edge in graph.edges.values() if edge.source != edge.target]
    parts += [_svg_node(node, layout) for node in graph.nodes.values()]
    parts.append("</svg>")
    return "\n".join(parts) + "\n"


def _svg_edge(edge: GraphEdge, layout: Layout) -> str:
    (x1, y1), (x2, y2) = edge_points(layout, edge.source, edge.target)
    colour = CYCLE_COLOUR if edge.in_cycle else OBSERVED_COLOUR if not edge.static else "#555"
    dash = ' stroke-dasharray="6,4"' if edge.kind == "dynamic" else ' stroke-dasharray="2,3"' if not edge.static else ""
    bend = (y2 - y1) / 2
    return (f'<path d="M{x1:.1f},{y1:.1f} C{x1:.1f},{y1 + bend:.1f} {x2:.1f},{y2 - bend:.1f} {x2:.1f},{y2:.1f}" '
            f'fill="none" stroke="{colour}"{dash} marker-end="url(#arrow)"/>')


def edge_points(layout: Layout, source: str, target: str) -> tuple[tuple[float, float], tuple[float, float]]:
    """From the bottom of the source to the top of the target, or top to bottom when the
    edge points back up (a cycle)."""
    (sx, sy), (tx, ty) = layout.center(source), layout.center(target)
    sh, th = layout.sizes[source][1] / 2, layout.sizes[target][1] / 2
    if ty >= sy:
        return (sx, sy + sh), (tx, ty - th)
    return (sx, sy - sh), (tx, ty + th)


def _svg_node(node: GraphNode, layout: Layout) -> str:
    (x, y), (w, h) = layout.positions[node.id], layout.sizes[node.id]
    fill, stroke = NODE_COLOURS[node.kind]
    if node.in_cycle:
        stroke = CYCLE_COLOUR
    rx = h / 2 if node.kind in ("setting", "connector") else 4
    label = escape(node.label + (" ↻" if node.in_cycle else ""))
    return (f'<g><rect x="{x:.1f}" y="{y:.1f}" width="{w:.1f}" height="{h:.1f}" rx="{rx:.0f}" fill="{fill}" '
            f'stroke="{stroke}" stroke-width="{2 if node.in_cycle else 1}"/>'
            f'<text x="{x + w / 2:.1f}" y="{y + h / 2 + 4:.1f}" text-anchor="middle">{label}</text></g>')
