"""The executions of one tree, for the timeline: rows in tree order with start/end times and
status, fed by engine events in time-budgeted slices so a burst never stalls the window."""

from __future__ import annotations

import collections
import time
from dataclasses import dataclass, field

from PySide6.QtCore import QObject, QTimer, Signal

from engine_core import events as ev

ACTIVE = ("queued", "running", "paused")


@dataclass
class Row:
    id: int
    parent_id: int | None
    flow: str
    name: str
    status: str
    start: float
    end: float | None = None
    depth: int = 0
    children: list[int] = field(default_factory=list)


class TimelineModel(QObject):
    changed = Signal()  # rows or times changed; the view repaints what is visible
    countsChanged = Signal(dict)  # {"running": n, "success": n, "error": n, ...}

    def __init__(self, parent: QObject | None = None, *, budget_ms: float = 8.0):
        super().__init__(parent)
        self.rows: dict[int, Row] = {}
        self.root_id: int | None = None
        self.follow_latest = True  # a new root execution replaces the one shown
        self.status_filter: str | None = None
        self.flow_filter = ""
        self._order: list[Row] | None = None  # visible rows in tree order; None = recompute
        # Kept as rows come and end, so the span is no walk over 10,000 rows at each repaint.
        self._open: set[int] = set()  # rows without an end yet
        self._last_end = 0.0
        self._queue: collections.deque[ev.Event] = collections.deque()
        self._budget = budget_ms / 1000
        self._timer = QTimer(self, interval=0)
        self._timer.timeout.connect(self._apply_some)

    # -- feeding ----------------------------------------------------------------------------
    def enqueue(self, events: list[ev.Event]) -> None:
        self._queue.extend(events)
        if not self._timer.isActive():
            self._timer.start()

    @property
    def pending(self) -> int:
        return len(self._queue)

    def _apply_some(self) -> None:
        deadline = time.perf_counter() + self._budget
        applied = 0
        while self._queue and (applied % 64 or time.perf_counter() < deadline):
            self._apply(self._queue.popleft())
            applied += 1
        if not self._queue:
            self._timer.stop()
        if applied:
            self._order = None
            self.changed.emit()
            self.countsChanged.emit(self.counts())

    def _apply(self, event: ev.Event) -> None:
        if isinstance(event, ev.ExecutionCreated):
            if event.parent_id is None and (self.follow_latest or self.root_id is None):
                self.clear(event.id)
            if event.root_id != self.root_id or event.id in self.rows:
                return
            parent = self.rows.get(event.parent_id) if event.parent_id is not None else None
            self.rows[event.id] = Row(event.id, event.parent_id, event.flow, event.name, event.status, event.at,
                                      depth=parent.depth + 1 if parent else 0)
            self._open.add(event.id)
            if parent is not None:
                parent.children.append(event.id)
        elif isinstance(event, ev.StatusChanged) and event.id in self.rows:
            row = self.rows[event.id]
            row.status = event.status
            if event.status not in ACTIVE:
                row.end = event.at
                self._open.discard(event.id)
                self._last_end = max(self._last_end, event.at)

    def clear(self, root_id: int | None = None) -> None:
        self.rows = {}
        self.root_id = root_id
        self._order = None
        self._open = set()
        self._last_end = 0.0

    def load_tree(self, tree: dict | None) -> None:
        """Show a finished (or running) tree read from the store (``Store.tree``)."""
        self.clear(tree["id"] if tree else None)
        todo = [(tree, None, 0)] if tree else []
        while todo:
            node, parent_id, depth = todo.pop()
            start = node.get("started_at") or node.get("created_at") or time.time()
            self.rows[node["id"]] = Row(node["id"], parent_id, node["flow"], node["name"], node["status"],
                                        start, node.get("ended_at"), depth)
            if parent_id is not None:
                self.rows[parent_id].children.append(node["id"])
            todo.extend((child, node["id"], depth + 1) for child in reversed(node.get("children", [])))
        for row in self.rows.values():
            row.children.sort()
            if row.end is None:
                self._open.add(row.id)
            else:
                self._last_end = max(self._last_end, row.end)
        self.changed.emit()
        self.countsChanged.emit(self.counts())

    # -- reading ----------------------------------------------------------------------------
    def set_filter(self, status: str | None = None, flow: str = "") -> None:
        self.status_filter, self.flow_filter = status or None, flow.strip().lower()
        self._order = None
        self.changed.emit()

    def visible(self) -> list[Row]:
        """Rows that pass the filter, parents before their children (depth-first)."""
        if self._order is None:
            self._order = [row for row in self._tree_order() if self._passes(row)]
        return self._order

    def _tree_order(self) -> list[Row]:
        root = self.rows.get(self.root_id) if self.root_id is not None else None
        if root is None:
            return []
        order, todo = [], [root]
        while todo:
            row = todo.pop()
            order.append(row)
            todo.extend(self.rows[c] for c in reversed(row.children))
        return order

    def _passes(self, row: Row) -> bool:
        if self.status_filter and row.status != self.status_filter:
            return False
        return not self.flow_filter or self.flow_filter in row.flow.lower()

    def counts(self) -> dict[str, int]:
        counts = collections.Counter(row.status for row in self.rows.values())
        return {"running": counts["running"] + counts["queued"] + counts["paused"], "success": counts["success"],
                "error": counts["error"], "cancelled": counts["cancelled"], "total": len(self.rows)}

    def span(self, now: float) -> tuple[float, float]:
        """(first start, last end or now): the timeline's time range."""
        if not self.rows:
            return now, now + 1
        start = self.rows[self.root_id].start if self.root_id in self.rows else min(r.start for r in self.rows.values())
        return start, max(self._last_end, now if self._open else start, start + 1e-3)

    def any_running(self) -> bool:
        return bool(self._open)
