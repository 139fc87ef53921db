"""How the CLI shows executions to a person: a live event printer and tables."""

from __future__ import annotations

import sys
import threading
import time
from typing import TextIO

from . import events as ev

_MARK = {"success": "✔", "error": "✖", "cancelled": "⊘", "running": "▶", "queued": "…", "paused": "Ⅱ"}


class LivePrinter:
    """Prints events of one execution tree as they are committed."""

    def __init__(self, out: TextIO = sys.stdout):
        self._out = out
        self._depth: dict[int, int] = {}
        self._names: dict[int, str] = {}
        self._root: int | None = None
        self._lock = threading.Lock()
        self._early: list[ev.Event] = []

    def follow(self, root_id: int) -> None:
        with self._lock:
            self._root = root_id
            early, self._early = self._early, []
        for event in early:
            self(event)

    def __call__(self, event: ev.Event) -> None:
        with self._lock:
            if self._root is None:  # events can arrive before submit() returns the root's id
                self._early.append(event)
                return
            if isinstance(event, ev.ExecutionCreated):
                if event.id == self._root:
                    self._depth[event.id] = 0
                elif event.parent_id in self._depth:
                    self._depth[event.id] = self._depth[event.parent_id] + 1
                else:
                    return
                label = event.name if event.name == event.flow else f"{event.name} ({event.flow})"
                self._names[event.id] = label
                return
            depth = self._depth.get(event.id)
            if depth is None:
                return
            prefix = f"{'  ' * depth}#{event.id} {self._names[event.id]}"
            if isinstance(event, ev.StatusChanged):
                line = f"{_MARK.get(event.status, '?')} {prefix}: {event.status}"
                if event.message:
                    line += f" — {event.message}"
            elif isinstance(event, ev.LogAppended):
                line = f"  {prefix} | {event.text}"
            elif isinstance(event, ev.MessageAdded) and event.form is not None:
                line = (f"? {prefix} asks: {event.subject} (form #{event.message_id}); answer with "
                        f"'flowdesk respond {event.message_id} JSON', see 'flowdesk forms'")
            elif isinstance(event, ev.MessageAdded):
                line = f"✉ {prefix}: {event.subject}: {event.message}"
            else:
                return
            print(line, file=self._out, flush=True)


def format_time(ts: float | None) -> str:
    return time.strftime("%Y-%m-%d %H:%M:%S", time.localtime(ts)) if ts else "-"


def format_duration(start: float | None, end: float | None) -> str:
    if not start:
        return "-"
    seconds = (end or time.time()) - start
    return f"{seconds * 1000:.0f} ms" if seconds < 1 else f"{seconds:.2f} s"


def executions_table(rows: list[dict]) -> str:
    header = ("ID", "STATUS", "FLOW", "NAME", "STARTED", "DURATION", "MESSAGE")
    body = [(str(r["id"]), r["status"], r["flow"], r["name"], format_time(r["started_at"]),
             format_duration(r["started_at"], r["ended_at"]), (r["message"] or "")[:60]) for r in rows]
    widths = [max(len(row[i]) for row in [header, *body]) for i in range(len(header))]
    lines = ["  ".join(cell.ljust(widths[i]) for i, cell in enumerate(row)).rstrip() for row in [header, *body]]
    return "\n".join(lines)


def execution_details(record: dict, logs: list[dict], messages: list[dict], children: list[dict]) -> str:
    lines = [
        f"Execution #{record['id']}: {record['name']} (flow {record['flow']}, {record['kind']})",
        f"  status:   {record['status']}" + (f" — {record['message']}" if record["message"] else ""),
        f"  parent:   {('#' + str(record['parent_id'])) if record['parent_id'] else '-'}",
        f"  started:  {format_time(record['started_at'])}   duration: {format_duration(record['started_at'], record['ended_at'])}",
        f"  inputs:   {record['inputs']}",
        f"  outputs:  {record['outputs']}",
    ]
    if children:
        lines.append("  children:")
        lines += [f"    #{c['id']} {c['name']} ({c['flow']}): {c['status']}" for c in children]
    if messages:
        lines.append("  messages:")
        lines += [f"    {format_time(m['at'])} {m['subject']}: {m['message']}" for m in messages]
    lines.append("  logs:" if logs else "  logs: none")
    lines += [f"    {format_time(entry['at'])} [{entry['level']}] {entry['text']}" for entry in logs]
    if record.get("traceback"):
        lines.append("  traceback:")
        lines += ["    " + line for line in record["traceback"].rstrip().splitlines()]
    return "\n".join(lines)
