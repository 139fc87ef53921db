"""Helpers of the cluster tests: reading the shared database as a user's tools do, waiting on
conditions with deadlines, and comparing an execution tree run here with one run on a cluster."""

from __future__ import annotations

import os
import subprocess
import threading
import time
from typing import Any, Callable

import sqlalchemy as sa

WAIT_S = 60
"""Upper bound for anything a test waits for; a healthy cluster needs a fraction of it."""

TERMINAL = ("success", "error", "cancelled")


def rows(engine, root_id: int) -> list[dict]:
    """Every execution row of the tree ``root_id`` (id order), as the database has it."""
    query = sa.text("SELECT id, parent_id, root_id, flow, name, status, message, attempt, worker_host, "
                    "worker_address, engine_session_id, started_at, ended_at, resumed_at, durable "
                    "FROM executions WHERE root_id = :root ORDER BY id")
    with engine.store.engine.connect() as conn:
        return [dict(r) for r in conn.execute(query, {"root": root_id}).mappings()]


def shape(node: dict) -> dict:
    """What a user compares between two runs of one tree: flows, names, statuses, messages,
    inputs, outputs, log lines and messages, children in order; not ids, times or workers."""
    return {
        "flow": node["flow"], "name": node["name"], "kind": node["kind"], "status": node["status"],
        "message": node["message"], "inputs": node["inputs"], "outputs": node["outputs"],
        "logs": [entry["text"] for entry in node["logs"]],
        "messages": [(m["subject"], m["message"]) for m in node["messages"]],
        "children": [shape(child) for child in node["children"]],
    }


def pgrep(marker: str) -> list[int]:
    """Pids of processes whose command line holds ``marker`` (not pgrep's own)."""
    found = subprocess.run(["pgrep", "-f", marker], capture_output=True, text=True)
    return [int(p) for p in found.stdout.split() if int(p) != os.getpid()]


class Recorder:
    """Every event an engine publishes from the moment it is made, each with the wall-clock
    time it arrived; ``wait`` blocks on a condition (no sleeps) up to a deadline."""

    def __init__(self, engine):
        self._cond = threading.Condition()
        self.events: list[tuple[float, Any]] = []
        self._unsubscribe = engine.subscribe(self._on_event)

    def _on_event(self, event) -> None:
        with self._cond:
            self.events.append((time.time(), event))
            self._cond.notify_all()

    def of(self, kind: str, **match) -> list[tuple[float, Any]]:
        with self._cond:
            return [(t, e) for t, e in self.events if type(e).__name__ == kind
                    and all(getattr(e, k) == v for k, v in match.items())]

    def by_execution(self, ids) -> dict[int, list]:
        """The events of executions ``ids``, per execution, in arrival order."""
        ids = set(ids)
        found: dict[int, list] = {i: [] for i in ids}
        with self._cond:
            for _, event in self.events:
                if getattr(event, "id", None) in ids:
                    found[event.id].append(event)
        return found

    def wait(self, predicate: Callable[[Any], bool], timeout: float = WAIT_S, what: str = "an event"):
        with self._cond:
            if not self._cond.wait_for(lambda: any(predicate(e) for _, e in self.events), timeout):
                seen = "\n  ".join(repr(e) for _, e in self.events[-20:])
                raise AssertionError(f"no {what} within {timeout} s; last events:\n  {seen}")
            return next(e for _, e in self.events if predicate(e))

    def close(self) -> None:
        self._unsubscribe()
