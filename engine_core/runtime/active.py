"""What the dispatcher keeps in memory about executions that have not ended yet."""

from __future__ import annotations

import collections
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:  # pragma: no cover
    from .backends import Handle
    from .waits import Parked, Waiter


def execution_label(execution_id: int, name: str, flow: str) -> str:
    """How messages name an execution: 'calc' (Calculator, #2), or 'Calculator' (#2)."""
    if name == flow:
        return f"'{name}' (#{execution_id})"
    return f"'{name}' ({flow}, #{execution_id})"


@dataclass(eq=False)
class Active:
    id: int
    parent_id: int | None
    root_id: int
    flow: str
    name: str
    kind: str  # "flow" | "connection"
    mode: str
    inputs: str  # JSON text, as stored and shown (a connection's secrets masked)
    path: str | None
    source: str | None
    depth: int
    status: str = "queued"
    worker: "Handle | None" = None  # its process: a local worker, or a Dask task's (backends/)
    outputs: dict[str, Any] = field(default_factory=dict)
    children: set[int] = field(default_factory=set)
    waiters: list["Waiter"] = field(default_factory=list)
    inline: bool = False  # runs inside its parent's worker (development mode)
    debug_address: tuple[str, int] | None = None
    started: bool = False
    held: bool = False  # made with run=False: waits for child.run() / run_async()
    cancelling: str | None = None  # the cancel message, while the flow runs its cleanup
    cleaned_up: bool = False  # cancelled and done with its cleanup; ends when its children have
    paused_by_signal: bool = False  # child.pause(): its process group is stopped
    self_pause: "Parked | None" = None  # this.pause(): the parked request
    # A connection's real inputs, kept in memory only and handed to the worker that runs it;
    # None when they equal ``inputs``.
    run_inputs: str | None = None
    # Secret values to mask in what this execution reports (its message, logs, outputs).
    secrets: tuple[str, ...] = ()
    # Durable executions (runtime/journal.py): each flow API call is journaled, and an engine
    # that finds it left running by a dead engine resumes it from its journal.
    durable: bool = False
    next_seq: int = 1  # the seq the execution's next flow API call must have
    plan: Any = None  # journal_keys.JournalPlan sent with RUN (resume), then dropped
    pending_entry: Any = None  # journal_keys.Entry: a resumed execution's call still waiting
    repause: bool = False  # resumed while paused by a signal: pause again once caught up

    @property
    def worker_inputs(self) -> str:
        return self.run_inputs if self.run_inputs is not None else self.inputs

    @property
    def label(self) -> str:
        return execution_label(self.id, self.name, self.flow)

    def summary(self, message: str | None = None) -> dict:
        return {"id": self.id, "status": self.status, "message": message, "label": self.label}


class RecentSummaries:
    """Summaries of executions that ended lately, so waits and ``get`` on them need no query."""

    LIMIT = 10_000

    def __init__(self) -> None:
        self._items: collections.OrderedDict[int, dict] = collections.OrderedDict()

    def remember(self, summary: dict) -> None:
        self._items[summary["id"]] = summary
        while len(self._items) > self.LIMIT:
            self._items.popitem(last=False)

    def summary(self, execution_id: int, writer) -> dict:
        """From memory, else from the database; LookupError when there is no such execution."""
        if execution_id in self._items:
            return self._items[execution_id]
        row = writer.execution_fields(execution_id)
        if row is None:
            raise LookupError(execution_id)
        return {"id": row["id"], "status": row["status"], "message": row["message"],
                "label": execution_label(row["id"], row["name"], row["flow"])}
