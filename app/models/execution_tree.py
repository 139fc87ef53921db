"""The live execution tree: parent → children, newest root first, fed by engine events.

Events are applied in slices of a few milliseconds each, so that 10,000 executions arriving
at once never freeze the GUI; rows are inserted in blocks per parent, not one by one."""

from __future__ import annotations

import collections
import time
from typing import Any

from PySide6.QtCore import QAbstractItemModel, QModelIndex, QPersistentModelIndex, Qt, QTimer, Signal

from engine_core import events as ev

from ..icons import status_icon
from .headers import ColumnHeaders

_TERMINAL = ("success", "error", "cancelled")
_CHUNK = 500


class Node:
    __slots__ = ("id", "parent", "flow", "name", "kind", "status", "message", "started", "ended",
                 "children", "pos", "stopped")

    def __init__(self, id: int, parent: "Node | None", flow: str, name: str, kind: str, status: str):
        self.id = id
        self.parent = parent
        self.flow = flow
        self.name = name
        self.kind = kind
        self.status = status
        self.message: str | None = None
        self.started: float | None = None
        self.ended: float | None = None
        self.children: list[Node] = []
        self.pos = 0  # index in the parent's children (or in the roots list)
        self.stopped = False  # stopped at a breakpoint (debugging)


class ExecutionTreeModel(ColumnHeaders, QAbstractItemModel):
    COLUMNS = ("Name", "Flow", "Status", "Duration")
    IdRole = Qt.ItemDataRole.UserRole + 1
    StatusRole = Qt.ItemDataRole.UserRole + 2

    rootAdded = Signal(int)  # a new root execution row exists (its id)
    statusChanged = Signal(int, str)  # after the row shows it

    def __init__(self, parent=None, *, budget_ms: float = 8.0):
        super().__init__(parent)
        self._nodes: dict[int, Node] = {}
        self._roots: list[Node] = []  # in arrival order; shown newest first
        self._queue: collections.deque[ev.Event] = collections.deque()
        self._budget_s = budget_ms / 1000
        self._apply_timer = QTimer(self)
        self._apply_timer.setSingleShot(True)
        self._apply_timer.timeout.connect(self._apply_some)
        self._running: set[Node] = set()
        # Executions with an open form: kept by id, since a form's event may come before the
        # row of its execution does (rows are applied in slices).
        self._waiting: set[int] = set()
        self._tick = QTimer(self)
        self._tick.setInterval(1000)
        self._tick.timeout.connect(self._refresh_durations)
        self._tick.start()

    # -- feeding --------------------------------------------------------------------------
    def enqueue(self, events: list[ev.Event]) -> None:
        self._queue.extend(e for e in events if isinstance(e, (ev.ExecutionCreated, ev.StatusChanged, ev.ExecutionSaved)))
        if self._queue and not self._apply_timer.isActive():
            self._apply_timer.start(0)

    def pending(self) -> int:
        return len(self._queue)

    def load_history(self, rows: list[dict]) -> None:
        """Replace the tree with stored executions (oldest first), e.g. at start-up."""
        self.beginResetModel()
        self._nodes.clear()
        self._roots.clear()
        self._running.clear()
        for row in sorted(rows, key=lambda r: r["id"]):
            parent = self._nodes.get(row["parent_id"])
            node = Node(row["id"], parent, row["flow"], row["name"], row["kind"], row["status"])
            node.message, node.started, node.ended = row["message"], row["started_at"], row["ended_at"]
            self._attach(node)
            if node.status not in _TERMINAL:
                self._running.add(node)
        self.endResetModel()

    def _attach(self, node: Node) -> None:
        siblings = node.parent.children if node.parent else self._roots
        node.pos = len(siblings)
        siblings.append(node)
        self._nodes[node.id] = node

    def _apply_some(self) -> None:
        deadline = time.perf_counter() + self._budget_s
        while self._queue and time.perf_counter() < deadline:
            chunk = [self._queue.popleft() for _ in range(min(_CHUNK, len(self._queue)))]
            self._apply(chunk)
        if self._queue:
            self._apply_timer.start(0)

    def _apply(self, events: list[ev.Event]) -> None:
        groups: dict[int | None, list[Node]] = {}
        changed: set[Node] = set()
        fresh: set[Node] = set()
        for event in events:
            if isinstance(event, ev.ExecutionCreated):
                parent = self._nodes.get(event.parent_id) if event.parent_id is not None else None
                node = Node(event.id, parent, event.flow, event.name, event.kind, event.status)
                groups.setdefault(parent.id if parent else None, []).append(node)
                self._nodes[node.id] = node
                fresh.add(node)
            elif isinstance(event, ev.ExecutionSaved):  # this.save(name=..., message=...)
                node = self._nodes.get(event.id)
                if node is None:
                    continue
                node.name = event.name
                if event.message is not None:
                    node.message = event.message
                if node not in fresh:
                    changed.add(node)
            else:
                node = self._nodes.get(event.id)
                if node is None:
                    continue
                node.status = event.status
                if event.status == "running" and node.started is None:
                    node.started = event.at
                    self._running.add(node)
                elif event.status in _TERMINAL:
                    node.ended, node.message = event.at, event.message
                    node.stopped = False
                    self._running.discard(node)
                if node not in fresh:
                    changed.add(node)
        for parent_id, nodes in groups.items():
            self._insert(self._nodes.get(parent_id) if parent_id is not None else None, nodes)
        self._emit_changed(changed)
        for node in changed | fresh:
            self.statusChanged.emit(node.id, node.status)

    def _insert(self, parent: Node | None, nodes: list[Node]) -> None:
        siblings = parent.children if parent else self._roots
        if parent is None:
            first, last = 0, len(nodes) - 1  # roots show newest first: new rows on top
        else:
            first, last = len(siblings), len(siblings) + len(nodes) - 1
        self.beginInsertRows(self._index_of(parent), first, last)
        for node in nodes:
            node.pos = len(siblings)
            siblings.append(node)
        self.endInsertRows()
        if parent is None:
            for node in nodes:
                self.rootAdded.emit(node.id)

    def _emit_changed(self, nodes: set[Node]) -> None:
        by_parent: dict[Node | None, list[int]] = collections.defaultdict(list)
        for node in nodes:
            by_parent[node.parent].append(self._row(node))
        last_column = len(self.COLUMNS) - 1
        for parent, rows in by_parent.items():
            parent_index = self._index_of(parent)
            self.dataChanged.emit(self.index(min(rows), 0, parent_index), self.index(max(rows), last_column, parent_index))

    def _refresh_durations(self) -> None:
        if self._running and len(self._running) <= 500:
            self._emit_changed_column(self._running, 3)

    def _emit_changed_column(self, nodes, column: int) -> None:
        for node in list(nodes):
            index = self.createIndex(self._row(node), column, node)
            self.dataChanged.emit(index, index, [Qt.ItemDataRole.DisplayRole])

    # -- lookups --------------------------------------------------------------------------
    def node(self, execution_id: int) -> Node | None:
        return self._nodes.get(execution_id)

    def index_for(self, execution_id: int) -> QModelIndex:
        node = self._nodes.get(execution_id)
        return self._index_of(node) if node and self._is_shown(node) else QModelIndex()

    def set_stopped(self, execution_id: int, stopped: bool) -> None:
        node = self._nodes.get(execution_id)
        if node is not None and node.stopped != stopped:
            node.stopped = stopped
            self._emit_changed({node})

    def set_waiting(self, execution_id: int, waiting: bool) -> None:
        """The execution has a form open (it shows "waiting for answer" while paused)."""
        if waiting == (execution_id in self._waiting):
            return
        (self._waiting.add if waiting else self._waiting.discard)(execution_id)
        node = self._nodes.get(execution_id)
        if node is not None and self._is_shown(node):
            self._emit_changed({node})

    def is_waiting(self, execution_id: int) -> bool:
        node = self._nodes.get(execution_id)
        return node is not None and node.status == "paused" and execution_id in self._waiting

    def _is_shown(self, node: Node) -> bool:
        siblings = node.parent.children if node.parent else self._roots
        return node.pos < len(siblings) and siblings[node.pos] is node

    def _row(self, node: Node) -> int:
        return len(self._roots) - 1 - node.pos if node.parent is None else node.pos

    def _index_of(self, node: Node | None) -> QModelIndex:
        return QModelIndex() if node is None else self.createIndex(self._row(node), 0, node)

    # -- QAbstractItemModel ---------------------------------------------------------------
    def index(self, row: int, column: int, parent: QModelIndex | QPersistentModelIndex = QModelIndex()) -> QModelIndex:
        if parent.isValid():
            siblings = parent.internalPointer().children
            if 0 <= row < len(siblings):
                return self.createIndex(row, column, siblings[row])
            return QModelIndex()
        if 0 <= row < len(self._roots):
            return self.createIndex(row, column, self._roots[len(self._roots) - 1 - row])
        return QModelIndex()

    def parent(self, index: QModelIndex | QPersistentModelIndex = QModelIndex()) -> QModelIndex:  # type: ignore[override]
        if not index.isValid():
            return QModelIndex()
        return self._index_of(index.internalPointer().parent)

    def rowCount(self, parent: QModelIndex | QPersistentModelIndex = QModelIndex()) -> int:
        if parent.column() > 0:
            return 0
        return len(parent.internalPointer().children) if parent.isValid() else len(self._roots)


    def data(self, index: QModelIndex | QPersistentModelIndex, role: int = Qt.ItemDataRole.DisplayRole) -> Any:
        if not index.isValid():
            return None
        node: Node = index.internalPointer()
        column = index.column()
        if role == Qt.ItemDataRole.DisplayRole:
            if column == 0:
                return f"{node.name}  #{node.id}"
            if column == 1:
                return node.flow
            if column == 2:
                if node.stopped:
                    return "stopped (debugger)"
                return "waiting for answer" if node.status == "paused" and node.id in self._waiting else node.status
            if column == 3:
                return _duration(node)
        elif role == Qt.ItemDataRole.DecorationRole and column == 0:
            return status_icon("paused" if node.stopped else node.status)
        elif role == Qt.ItemDataRole.ToolTipRole:
            return node.message or node.status
        elif role == self.IdRole:
            return node.id
        elif role == self.StatusRole:
            return node.status
        return None


def _duration(node: Node) -> str:
    if node.started is None:
        return ""
    seconds = (node.ended or time.time()) - node.started
    if seconds < 1:
        return f"{seconds * 1000:.0f} ms"
    if seconds < 120:
        return f"{seconds:.1f} s"
    return f"{int(seconds // 60)} min {int(seconds % 60)} s"
