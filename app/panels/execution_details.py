"""The details of one execution as HTML: inputs, outputs, end message, the cluster worker it ran
on, logs, messages, and a traceback whose flow lines are links (``flow:<name>:<line>``) that
open the editor there."""

from __future__ import annotations

import html
import json
import re
import time
from urllib.parse import quote, unquote

from ..models.execution_tree import worker_text

_FLOW_FRAME = re.compile(r'File "(?P<path>[^"]*[/\\]flows[/\\](?P<flow>[^"/\\]+)\.py)", line (?P<line>\d+)')
_MESSAGE_LINE = re.compile(r"\(flow '(?P<flow>[^']+)', line (?P<line>\d+)\)")


def fetch_details(store, execution_id: int) -> dict | None:
    """Runs off the GUI thread: everything the details view shows, read from the store."""
    record = store.execution(execution_id)
    if record is None:
        return None
    tree = store.tree(execution_id)
    return {"record": record, "logs": store.logs(execution_id), "messages": store.messages(execution_id),
            "children": tree["children"] if tree else []}


def flow_link(flow: str, line: int) -> str:
    return f"flow:{quote(flow)}:{line}"


def parse_flow_link(url: str) -> tuple[str, int] | None:
    if not url.startswith("flow:"):
        return None
    flow, _, line = url[5:].rpartition(":")
    return unquote(flow), int(line)


def render(details: dict) -> str:
    record = details["record"]
    parts = [
        f"<h3>{html.escape(record['name'])} <small>#{record['id']} · flow {html.escape(record['flow'])}</small></h3>",
        f"<p><b>Status:</b> {html.escape(record['status'])}"
        + (f" — {_linked_message(record['message'])}" if record["message"] else "") + "</p>",
        f"<p><b>Started:</b> {_time(record['started_at'])} &nbsp; <b>Ended:</b> {_time(record['ended_at'])}</p>",
    ]
    if record.get("worker_host") or record.get("worker_address"):  # ran on a cluster worker
        where = worker_text(record.get("worker_host"), record.get("worker_address"), record.get("attempt"))
        parts.append(f"<p><b>Worker:</b> {html.escape(where)}</p>")
    parts += [
        "<p><b>Inputs</b></p>" + _json_block(record["inputs"]),
        "<p><b>Outputs</b></p>" + _json_block(record["outputs"]),
    ]
    if details["children"]:
        items = "".join(f"<li>#{c['id']} {html.escape(c['name'])} ({html.escape(c['flow'])}): {c['status']}</li>"
                        for c in details["children"])
        parts.append(f"<p><b>Children</b></p><ul>{items}</ul>")
    if details["messages"]:
        items = "".join(f"<li>{_time(m['at'])} <b>{html.escape(m['subject'])}</b>: {html.escape(m['message'])}</li>"
                        for m in details["messages"])
        parts.append(f"<p><b>Messages</b></p><ul>{items}</ul>")
    if details["logs"]:
        lines = "\n".join(f"{_time(e['at'], short=True)} [{e['level']}] {e['text']}" for e in details["logs"])
        parts.append(f"<p><b>Logs</b></p><pre>{html.escape(lines)}</pre>")
    if record.get("traceback"):
        parts.append(f"<p><b>Traceback</b></p><pre>{_linked_traceback(record['traceback'])}</pre>")
    return "\n".join(parts)


def _linked_traceback(text: str) -> str:
    out, last = [], 0
    for match in _FLOW_FRAME.finditer(text):
        out.append(html.escape(text[last:match.start()]))
        link = flow_link(match["flow"], int(match["line"]))
        out.append(f'<a href="{link}">{html.escape(match.group(0))}</a>')
        last = match.end()
    out.append(html.escape(text[last:]))
    return "".join(out)


def _linked_message(message: str) -> str:
    match = _MESSAGE_LINE.search(message)
    if not match:
        return html.escape(message)
    link = flow_link(match["flow"], int(match["line"]))
    return (html.escape(message[:match.start()]) + f'<a href="{link}">{html.escape(match.group(0))}</a>'
            + html.escape(message[match.end():]))


def _json_block(value) -> str:
    return f"<pre>{html.escape(json.dumps(value, indent=2, ensure_ascii=False))}</pre>"


def _time(ts: float | None, short: bool = False) -> str:
    if not ts:
        return "-"
    return time.strftime("%H:%M:%S" if short else "%Y-%m-%d %H:%M:%S", time.localtime(ts))
