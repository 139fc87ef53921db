"""Helpers shared by the flow API end-to-end tests (tests/engine/test_api_*.py).

Flows are written into the test's workspace and run by the real engine in worker processes;
the tests look at what a user sees: the stored tree, statuses, outputs, logs and messages."""

from __future__ import annotations

import json
import threading
from typing import Any, Callable, Iterator

import pytest
from support import QuietHandler, send_json, serving_http

WAIT_S = 60
"""Upper bound for anything a test waits for; a healthy engine needs a fraction of it."""


def run_flow(engine, workspace, name: str, body: str, inputs: dict | None = None, timeout: float = WAIT_S):
    """Write flow ``name``, run it to its end, return ``(record, tree)``."""
    workspace.write_flow(name, body)
    record = engine.run(name, inputs, timeout=timeout)
    return record, engine.tree(record["id"])


def nodes(tree: dict) -> Iterator[dict]:
    """Every node of an execution tree, depth first, the root first."""
    yield tree
    for child in tree["children"]:
        yield from nodes(child)


def find_nodes(tree: dict, **match: Any) -> list[dict]:
    """Nodes whose fields equal ``match`` (e.g. ``flow='Flaky'``), in id order."""
    found = [n for n in nodes(tree) if all(n.get(k) == v for k, v in match.items())]
    return sorted(found, key=lambda n: n["id"])


def log_texts(node: dict) -> list[str]:
    return [entry["text"] for entry in node["logs"]]


class EventLog:
    """Records the engine's events from the moment it is made; ``wait`` blocks on a condition
    (no polling, no sleeps) until an event matching a predicate has arrived."""

    def __init__(self, engine):
        self._cond = threading.Condition()
        self.events: list = []
        self._unsubscribe = engine.subscribe(self._on_event)

    def _on_event(self, event) -> None:
        with self._cond:
            self.events.append(event)
            self._cond.notify_all()

    def wait(self, predicate: Callable[[Any], bool], timeout: float = WAIT_S, what: str = "an event"):
        with self._cond:
            ok = self._cond.wait_for(lambda: any(predicate(e) for e in self.events), timeout)
            if not ok:
                seen = "\n  ".join(repr(e) for e in self.events[-30:])
                raise AssertionError(f"no {what} within {timeout} s; last events:\n  {seen}")
            return next(e for e in self.events if predicate(e))

    def wait_log(self, execution_id: int | None, text: str, timeout: float = WAIT_S):
        """The first log entry ``text`` of ``execution_id`` (any execution when None)."""
        return self.wait(lambda e: type(e).__name__ == "LogAppended" and e.text == text
                         and (execution_id is None or e.id == execution_id),
                         timeout, what=f"log {text!r} of execution {execution_id}")

    def wait_status(self, execution_id: int, status: str, timeout: float = WAIT_S):
        return self.wait(lambda e: type(e).__name__ == "StatusChanged" and e.id == execution_id
                         and e.status == status, timeout, what=f"status {status!r} of execution {execution_id}")

    def wait_form(self, execution_id: int | None = None, timeout: float = WAIT_S):
        """The MessageAdded event of the first form (of ``execution_id`` when given)."""
        return self.wait(lambda e: type(e).__name__ == "MessageAdded" and getattr(e, "form", None) is not None
                         and (execution_id is None or e.id == execution_id),
                         timeout, what=f"form message of execution {execution_id}")

    def of_type(self, name: str) -> list:
        with self._cond:
            return [e for e in self.events if type(e).__name__ == name]

    def close(self) -> None:
        self._unsubscribe()


@pytest.fixture
def events(engine):
    log = EventLog(engine)
    yield log
    log.close()


class _EchoHandler(QuietHandler):
    """Answers every request with JSON describing it: method, path, headers, body."""

    counts: dict[str, int] = {}
    lock = threading.Lock()

    def _answer(self) -> None:
        length = int(self.headers.get("Content-Length") or 0)
        raw = self.rfile.read(length) if length else b""
        try:
            body = json.loads(raw) if raw else None
        except ValueError:
            body = raw.decode("utf-8", "replace")
        if self.path.startswith("/status/"):
            code = int(self.path.split("/")[2])
        elif self.path.startswith("/flaky/"):
            # /flaky/KEY/N: HTTP 503 for the first N requests to KEY, then 200.
            _, _, key, failures = self.path.split("/")[:4]
            with _EchoHandler.lock:
                seen = _EchoHandler.counts[key] = _EchoHandler.counts.get(key, 0) + 1
            code = 503 if seen <= int(failures) else 200
        else:
            code = 200
        payload = json.dumps({"method": self.command, "path": self.path, "body": body,
                              "agent": self.headers.get("User-Agent")}).encode()
        send_json(self, code, payload)

    do_GET = do_POST = do_PUT = do_DELETE = do_PATCH = _answer


@pytest.fixture
def echo_server():
    """A real HTTP server on 127.0.0.1 (a free port) that echoes requests as JSON."""
    with serving_http(_EchoHandler) as server:
        yield f"http://127.0.0.1:{server.server_address[1]}"
