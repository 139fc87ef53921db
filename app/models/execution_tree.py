"""The live execution tree: parent → children, newest root first, fed by engine events.
A replay of a stored execution is shown beside its original (a row under it), and an
execution an engine resumed after a restart is marked with the time lost. On a cluster, the
Worker column shows the host each execution was placed on (``ExecutionPlaced``, or the row's
``worker_host`` in history).

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
WORKER_COLUMN = 4


class Node:
    __slots__ = ("id", "parent", "flow", "name", "kind", "status", "message", "started", "ended",
                 "children", "pos", "stopped", "is_root", "replay_of", "lost_s", "worker_host",
                 "worker_address", "attempt")

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
        self.is_root = parent is None  # a root execution (a replay's row sits under its original)
        self.replay_of: int | None = None
        self.lost_s: float | None = None  # resumed after a restart: the time lost (summed)
        self.worker_host: str | None = None  # on a cluster: where it runs (ran), its Dask worker, which run
        self.worker_address: str | None = None
        self.attempt: int | None = None


class ExecutionTreeModel(ColumnHeaders, QAbstractItemModel):
    COLUMNS = ("Name", "Flow", "Status", "Duration", "Worker")
    IdRole = Qt.ItemDataRole.UserRole + 1
    StatusRole = Qt.ItemDataRole.UserRole + 2

    rootAdded = Signal(int)  # a new root execution row exists (its id)
    statusChanged = Signal(int, str)  # after the row shows it
    workerSeen = Signal()  # the first execution placed on a cluster worker: the Worker column matters

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
        self.has_workers = False  # some execution shown ran on a cluster worker
        self._tick = QTimer(self)
        self._tick.setInterval(1000)
        self._tick.timeout.connect(self._refresh_durations)
        self._tick.start()

    # -- feeding --------------------------------------------------------------------------
    def enqueue(self, events: list[ev.Event]) -> None:
        self._queue.extend(e for e in events if isinstance(e, _SHOWN_EVENTS))
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
            replay_of = row.get("replay_of")
            parent = self._nodes.get(_shown_under(row["parent_id"], replay_of))
            node = Node(row["id"], parent, row["flow"], row["name"], row["kind"], row["status"])
            node.message, node.started, node.ended = row["message"], row["started_at"], row["ended_at"]
            node.is_root, node.replay_of, node.lost_s = row["parent_id"] is None, replay_of, row.get("lost_s")
            if row.get("worker_host") or row.get("worker_address"):
                self._place(node, row.get("worker_host"), row.get("worker_address"), row.get("attempt"))
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
                replay_of = event.replay_of
                shown_under = _shown_under(event.parent_id, replay_of)
                parent = self._nodes.get(shown_under) if shown_under is not None else None
                node = Node(event.id, parent, event.flow, event.name, event.kind, event.status)
                node.is_root, node.replay_of = event.parent_id is None, replay_of
                groups.setdefault(parent.id if parent else None, []).append(node)
                self._nodes[node.id] = node
                fresh.add(node)
            elif isinstance(event, ev.ExecutionResumed):
                node = self._nodes.get(event.id)
                if node is not None:
                    node.lost_s = (node.lost_s or 0.0) + event.lost_s
                    if node not in fresh:
                        changed.add(node)
            elif isinstance(event, ev.ExecutionPlaced):  # a run claimed it on a cluster worker
                node = self._nodes.get(event.id)
                if node is None:
                    continue
                self._place(node, event.host, event.address, event.attempt)
                if node not in fresh:
                    changed.add(node)
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

    def _place(self, node: Node, host: str | None, address: str | None, attempt: int | None) -> None:
        node.worker_host, node.worker_address, node.attempt = host, address, attempt
        if not self.has_workers:
            self.has_workers = True
            self.workerSeen.emit()

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
        for node in nodes:
            if node.is_root:  # a replay too, though its row is under its original's
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
                return f"{node.name}  #{node.id}" + (f"  ↻ {resumed_text(node.lost_s)}" if node.lost_s is not None else "")
            if column == 1:
                return node.flow
            if column == 2:
                if node.stopped:
                    return "stopped (debugger)"
                return "waiting for answer" if node.status == "paused" and node.id in self._waiting else node.status
            if column == 3:
                return _duration(node)
            if column == WORKER_COLUMN:
                return node.worker_host or node.worker_address or ""
        elif role == Qt.ItemDataRole.DecorationRole and column == 0:
            return status_icon("paused" if node.stopped else node.status)
        elif role == Qt.ItemDataRole.ToolTipRole:
            if column == WORKER_COLUMN and (node.worker_host or node.worker_address):
                return worker_text(node.worker_host, node.worker_address, node.attempt)
            tip = node.message or node.status
            if node.replay_of is not None:
                tip = f"replay of #{node.replay_of}: {tip}"
            return f"{tip}\n{resumed_text(node.lost_s)}" if node.lost_s is not None else tip
        elif role == self.IdRole:
            return node.id
        elif role == self.StatusRole:
            return node.status
        return None


_SHOWN_EVENTS = (ev.ExecutionCreated, ev.StatusChanged, ev.ExecutionSaved, ev.ExecutionResumed, ev.ExecutionPlaced)


def worker_text(host: str | None, address: str | None, attempt: int | None) -> str:
    """"node-b (tcp://10.0.0.5:40123), attempt 2": where a cluster execution ran."""
    text = host or address or "?"
    if host and address:
        text += f" ({address})"
    return text + (f", attempt {attempt}" if attempt else "")


def resumed_text(lost_s: float) -> str:
    """The tree's mark of an execution an engine resumed: "resumed after restart, 12 s lost"."""
    lost = f"{lost_s:.0f} s" if lost_s < 120 else f"{int(lost_s // 60)} min {int(lost_s % 60)} s"
    return f"resumed after restart, {lost} lost"


def _shown_under(parent_id: int | None, replay_of: int | None) -> int | None:
    """The row an execution is shown under: its parent's; a root replay's, its original's (a
    replay's own children stay under the replay, though they replay children of the original)."""
    return replay_of if parent_id is None else parent_id


def _duration(node: Node) -> str:
    if node.started is None:
        return ""
    seconds = (node.ended or time.time()) - node.started
    if seconds < 1:
        return f"{seconds * 1000:.0f} ms"
    if seconds < 120:
        return f"{seconds:.1f} s"
    return f"{int(seconds // 60)} min {int(seconds % 60)} s"
