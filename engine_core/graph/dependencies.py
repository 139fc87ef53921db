"""The workspace as a graph: a node per flow, an edge A -> B where A calls ``this.flow('B')``;
settings and connectors as nodes of their own kinds; calls seen only in past executions
added as *observed*. Node ids carry their kind (``flow:Main``, ``setting:x``) so a flow and a
setting of the same name never merge."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Iterable

from ..workspace import Workspace
from .scan import FlowRefs, scan_source

DYNAMIC_ID = "dynamic:"  # the one node every run-time-built flow name points to


@dataclass
class GraphNode:
    id: str
    kind: str  # "flow" | "unknown" (called, no such file) | "dynamic" | "setting" | "connector"
    label: str
    error: str | None = None  # the flow does not parse
    in_cycle: bool = False

    @property
    def flow(self) -> str | None:
        """The flow name to open, for nodes that are flows of the workspace."""
        return self.label if self.kind == "flow" else None


@dataclass
class GraphEdge:
    source: str
    target: str
    kind: str  # "call" | "dynamic" | "setting" | "connector"
    lines: list[int] = field(default_factory=list)  # where the source's script makes it
    static: bool = False  # found in the script
    observed: bool = False  # seen between a parent and child execution
    access: str = ""  # settings: "read", "write", "read/write" or ""
    in_cycle: bool = False


@dataclass
class DependencyGraph:
    nodes: dict[str, GraphNode] = field(default_factory=dict)
    edges: dict[tuple[str, str], GraphEdge] = field(default_factory=dict)
    cycles: list[list[str]] = field(default_factory=list)  # flow node ids, each a strongly connected set

    def successors(self, node_id: str) -> list[str]:
        return [t for (s, t) in self.edges if s == node_id]

    def reaches(self, node_id: str) -> set[str]:
        """Every node reachable from ``node_id`` along edges (itself excluded unless on a cycle)."""
        return _reach(node_id, self._adjacency(forward=True))

    def reached_by(self, node_id: str) -> set[str]:
        return _reach(node_id, self._adjacency(forward=False))

    def _adjacency(self, forward: bool) -> dict[str, list[str]]:
        adjacency: dict[str, list[str]] = {}
        for source, target in self.edges:
            a, b = (source, target) if forward else (target, source)
            adjacency.setdefault(a, []).append(b)
        return adjacency

    def to_dict(self) -> dict[str, Any]:
        return {
            "nodes": [{"id": n.id, "kind": n.kind, "label": n.label, "error": n.error, "in_cycle": n.in_cycle}
                      for n in self.nodes.values()],
            "edges": [{"source": e.source, "target": e.target, "kind": e.kind, "lines": e.lines,
                       "static": e.static, "observed": e.observed, "access": e.access, "in_cycle": e.in_cycle}
                      for e in self.edges.values()],
            "cycles": [[self.nodes[i].label for i in cycle] for cycle in self.cycles],
        }


def flow_id(name: str) -> str:
    return f"flow:{name}"


def build_graph(workspace: Workspace, observed: Iterable[tuple[str, str, str]] = ()) -> DependencyGraph:
    """The graph of ``workspace``'s flows as their files are now, plus ``observed`` edges:
    (parent flow, child flow or connector type, kind "flow"|"connection") from past runs."""
    graph = DependencyGraph()
    names = workspace.flow_names()
    for name in names:
        graph.nodes[flow_id(name)] = GraphNode(flow_id(name), "flow", name)
    for name in names:
        _add_refs(graph, name, _scan_flow(workspace, name))
    for parent, child, kind in observed:
        _add_observed(graph, parent, child, kind)
    _label_records(graph, workspace)
    _mark_cycles(graph)
    return graph


def _label_records(graph: DependencyGraph, workspace: Workspace) -> None:
    """A connector node named after a stored record (``this.connect('crm-api', ...)``) is
    labelled with the record's connector type: ``crm-api (REST)``."""
    from ..connectors import records

    try:
        kinds = records.types(workspace)
    except Exception:  # noqa: BLE001 - no records folder, an odd workspace: plain labels
        return
    for name, kind in kinds.items():
        node = graph.nodes.get(f"connector:{name}")
        if node is not None:
            node.label = f"{name} ({kind})"


def _scan_flow(workspace: Workspace, name: str) -> FlowRefs:
    try:
        source = workspace.flow_path(name).read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        return FlowRefs(error=f"unreadable: {exc}")
    return scan_source(source)


def _add_refs(graph: DependencyGraph, name: str, refs: FlowRefs) -> None:
    source = flow_id(name)
    graph.nodes[source].error = refs.error
    for ref in refs.refs:
        if ref.kind == "flow" and ref.name is None:
            target, kind = _node(graph, DYNAMIC_ID, "dynamic", "(dynamic)"), "dynamic"
        elif ref.kind == "flow":
            target, kind = _flow_node(graph, ref.name), "call"
        elif ref.kind == "setting":
            label = ref.name if ref.name is not None else "(dynamic setting)"
            target, kind = _node(graph, f"setting:{ref.name or ''}", "setting", label), "setting"
        else:
            label = ref.name if ref.name is not None else "(dynamic connector)"
            target, kind = _node(graph, f"connector:{ref.name or ''}", "connector", label), "connector"
        edge = _edge(graph, source, target, kind)
        edge.static = True
        edge.lines.append(ref.line)
        edge.access = _merge_access(edge.access, ref.access)


def _add_observed(graph: DependencyGraph, parent: str, child: str, kind: str) -> None:
    source = _flow_node(graph, parent)
    if kind == "connection":
        target = _node(graph, f"connector:{child}", "connector", child)
        _edge(graph, source, target, "connector").observed = True
    else:
        _edge(graph, source, _flow_node(graph, child), "call").observed = True


def _node(graph: DependencyGraph, node_id: str, kind: str, label: str) -> str:
    if node_id not in graph.nodes:
        graph.nodes[node_id] = GraphNode(node_id, kind, label)
    return node_id


def _flow_node(graph: DependencyGraph, name: str) -> str:
    """A called flow; one that has no file in the workspace is an "unknown" node (drawn red)."""
    return _node(graph, flow_id(name), "unknown", name)


def _edge(graph: DependencyGraph, source: str, target: str, kind: str) -> GraphEdge:
    key = (source, target)
    if key not in graph.edges:
        graph.edges[key] = GraphEdge(source, target, kind)
    return graph.edges[key]


def _merge_access(old: str, new: str) -> str:
    accesses = {a for a in (*old.split("/"), new) if a}
    return "/".join(a for a in ("read", "write") if a in accesses)


def _mark_cycles(graph: DependencyGraph) -> None:
    call_edges = [(s, t) for (s, t), e in graph.edges.items() if e.kind == "call"]
    for component in strongly_connected(call_edges):
        members = set(component)
        if len(component) == 1 and (component[0], component[0]) not in graph.edges:
            continue  # a single flow is a cycle only when it calls itself
        graph.cycles.append(sorted(component))
        for node_id in component:
            graph.nodes[node_id].in_cycle = True
        for source, target in call_edges:
            if source in members and target in members:
                graph.edges[(source, target)].in_cycle = True
    graph.cycles.sort()


def strongly_connected(edges: list[tuple[str, str]]) -> list[list[str]]:
    """Tarjan's algorithm, iterative so that a long call chain cannot hit the recursion limit."""
    adjacency: dict[str, list[str]] = {}
    for s, t in edges:
        adjacency.setdefault(s, []).append(t)
        adjacency.setdefault(t, [])
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    components: list[list[str]] = []
    for start in adjacency:
        if start in index:
            continue
        work = [(start, 0)]
        while work:
            node, i = work.pop()
            if i == 0:
                index[node] = low[node] = len(index)
                stack.append(node)
                on_stack.add(node)
            successors = adjacency[node]
            if i < len(successors):
                work.append((node, i + 1))
                nxt = successors[i]
                if nxt not in index:
                    work.append((nxt, 0))
                elif nxt in on_stack:
                    low[node] = min(low[node], index[nxt])
                continue
            if work:  # returning to the caller: pass the low link up
                parent = work[-1][0]
                low[parent] = min(low[parent], low[node])
            if low[node] == index[node]:
                component = []
                while True:
                    member = stack.pop()
                    on_stack.discard(member)
                    component.append(member)
                    if member == node:
                        break
                components.append(component)
    return components


def _reach(start: str, adjacency: dict[str, list[str]]) -> set[str]:
    seen: set[str] = set()
    todo = list(adjacency.get(start, []))
    while todo:
        node = todo.pop()
        if node not in seen:
            seen.add(node)
            todo.extend(adjacency.get(node, []))
    return seen


def observed_edges(store: Any, limit: int = 20000) -> list[tuple[str, str, str]]:
    """(parent flow, child flow, child kind) pairs from the last ``limit`` executions of
    ``store``; run it off the GUI thread (it reads the database)."""
    rows = store.executions(limit=limit)
    flow_of = {r["id"]: r["flow"] for r in rows}
    pairs = {(flow_of[r["parent_id"]], r["flow"], r["kind"]) for r in rows if r["parent_id"] in flow_of}
    return sorted(pairs)
