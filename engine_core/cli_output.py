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
    if record.get("worker_host") or record.get("worker_address"):  # it ran on a Dask cluster
        lines.append(f"  worker:   {record.get('worker_host') or '?'} ({record.get('worker_address') or '?'}), "
                     f"attempt {record.get('attempt') or 1}")
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


def _secret_label(value):
    """A secret reference as the journal stores it, shown by name (``--json`` keeps the object)."""
    if isinstance(value, dict) and set(value) == {"$flowdesk_secret"}:
        ref = value["$flowdesk_secret"] or {}
        return f"<secret setting {ref.get('setting') or ref.get('key', '?')!r}>"
    if isinstance(value, dict):
        return {k: _secret_label(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_secret_label(v) for v in value]
    return value


def _short(value, width: int = 60, *, as_json: bool = True) -> str:
    import json

    text = value if not as_json or isinstance(value, str) and value.startswith("<secret") else \
        json.dumps(_secret_label(value), ensure_ascii=False, default=str)
    return text if len(text) <= width else text[:width - 1] + "…"


def _recorded(result):
    """A result as recorded: the store decodes the column; a value still in
    ``journal_keys.encode_result``'s text form is decoded here."""
    if isinstance(result, str) and not result.startswith("<secret"):
        try:
            from .journal_keys import decode_result

            return decode_result(result)
        except Exception:  # noqa: BLE001 - plain text: shown as it is
            return result
    if isinstance(result, dict) and result.keys() & _JSON_TEXT_FIELDS:
        # `get('output_value')` answers with the outputs as the JSON text the worker decodes;
        # shown as the values the flow saw, not as an escaped string.
        return {k: _json_or_text(v) if k in _JSON_TEXT_FIELDS else v for k, v in result.items()}
    return result


_JSON_TEXT_FIELDS = frozenset({"output_value", "input_value", "outputs", "inputs"})


def _json_or_text(value):
    import json

    if isinstance(value, str) and value[:1] in "{[":
        try:
            return json.loads(value)
        except ValueError:
            pass
    return value


def journal_call(entry: dict) -> str:
    """What a journal entry's call was, as the flow wrote it when ``journal_keys.describe`` can
    say (``this.flow('Build', inputs={...})``), else its op and target."""
    import json

    args = entry.get("args")
    if isinstance(args, str):
        try:
            args = json.loads(args)
        except ValueError:
            args = None
    try:
        from .journal_keys import describe

        text = describe(entry["op"], args or {}, None)
        if text:
            return text.removesuffix(" at line None")
    except Exception:  # noqa: BLE001 - an op describe does not know: the plain form below
        pass
    return f"{entry['op']}({entry['target']!r})" if entry.get("target") else f"{entry['op']}()"


def journal_answer(entry: dict) -> str:
    """The recorded answer: the value, the error raised, or what a pending call waits on."""
    if entry.get("state") != "done":
        ref = entry.get("ref")
        return f"pending {_short(ref, 40)}" if ref else "pending"
    result = entry.get("result")
    if entry.get("ok") is False:
        if isinstance(result, (list, tuple)) and len(result) == 2:
            return _short(f"raised {result[0]}: {result[1]}", as_json=False)
        return _short(f"raised {result}", as_json=False)
    return _short(_recorded(result))


def journal_took(entry: dict) -> str:
    if entry.get("answered_at") is None or entry.get("called_at") is None:
        return "-"
    return format_duration(entry["called_at"], entry["answered_at"])


def journal_table(record: dict, entries: list[dict]) -> str:
    """``flowdesk show ID --journal``: one line per flow API call the execution made, in order."""
    title = f"Journal of execution #{record['id']}: {record['name']} (flow {record['flow']}, {record['status']})"
    if not entries:
        why = ("it was not journaled (a connection, a debug run, or resume is off for it)"
               if not record.get("durable") else "it has made no flow API call yet")
        return f"{title}\n  no journal entries: {why}"
    header = ("SEQ", "LINE", "CALL", "ANSWER", "CALLED", "TOOK")
    body = [(str(e["seq"]), str(e["line"]) if e.get("line") else "-", _short(journal_call(e), 70, as_json=False),
             journal_answer(e), time.strftime("%H:%M:%S", time.localtime(e["called_at"])) if e.get("called_at") else "-",
             journal_took(e)) for e in entries]
    widths = [max(len(row[i]) for row in [header, *body]) for i in range(len(header))]
    lines = ["  " + "  ".join(cell.ljust(widths[i]) for i, cell in enumerate(row)).rstrip() for row in [header, *body]]
    pending = sum(1 for e in entries if e.get("state") != "done")
    summary = f"  {len(entries)} call{'s' if len(entries) != 1 else ''}" + (f", {pending} pending" if pending else "")
    return "\n".join([title, *lines, summary])
