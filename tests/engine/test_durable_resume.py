"""Resume of durable executions by the next engine (runtime/resume.py): what an engine killed
with SIGKILL, or closed cleanly, left running. The big three-level kill -9 test (REST, setting,
sleep, form; SQLite and PostgreSQL) is tests/engine/test_durable_kill9.py; here: a child that
ended is not run again, a flow edited since gives the "call differs" error, resume turned off
(workspace config, FLOWDESK_RESUME), interrupted connections, a clean stop suspends."""

from __future__ import annotations

import sys
import threading
import time
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent))

from durable_host import Host, wait_for  # noqa: E402
from support import QuietHandler, send_json  # noqa: E402

from engine_core import Engine, EngineOptions, Store, events as ev  # noqa: E402
from engine_core.runtime.engine import resolve_db_url  # noqa: E402
from engine_core.workspace import Workspace  # noqa: E402

OPTIONS = EngineOptions(warm_workers=1, memory_limit_mb=1024)


def _store(workspace, db_url: str | None = None) -> Store:
    return Store(db_url or resolve_db_url(Workspace.open(workspace.root), None))


@pytest.fixture(params=["sqlite", "postgres"])
def db_url(request):
    """None (the workspace's SQLite) or a new database on a real PostgreSQL server."""
    if request.param == "sqlite":
        return None
    from pg_server import new_database

    return new_database(request.getfixturevalue("postgres_server"))


def _rows(store: Store) -> dict[str, dict]:
    return {r["flow"]: r for r in sorted(store.executions(limit=100), key=lambda r: r["id"])}


def _journal(store: Store, execution_id: int) -> list[dict]:
    return store.journal(execution_id)


def _pending(store: Store, execution_id: int, op: str):
    return [e for e in _journal(store, execution_id) if e["op"] == op and e["state"] == "pending"]


def _write_tree(workspace, marker: Path) -> None:
    workspace.write_flow("Parent", """
        def handler(system, this, inputs):
            first = this.flow('Child', n=1)
            second = this.flow('Sleeper')
            this.set_output(first=first.get('output_value'), second=second.get('output_value'))
    """)
    workspace.write_flow("Child", f"""
        def handler(system, this, inputs):
            with open({str(marker)!r}, 'a') as f:
                f.write('child ran\\n')
            this.set_output(n=inputs['n'])
    """)
    workspace.write_flow("Sleeper", """
        def handler(system, this, inputs):
            this.sleep(2.0)
            this.set_output(slept=True)
    """)


def test_kill9_ended_child_not_run_again_sleep_continues(workspace, tmp_path, db_url):
    marker = tmp_path / "runs.txt"
    _write_tree(workspace, marker)
    with Host(workspace.root, db_url, [["Parent", {}]]) as host:
        (root_id,) = host.ids
        store = _store(workspace, db_url)
        try:
            sleeper = wait_for(lambda: _rows(store).get("Sleeper"), "Sleeper to start")
            wait_for(lambda: _pending(store, sleeper["id"], "sleep"), "the sleep to be journaled")
            host.kill9()
        finally:
            store.close()
    assert marker.read_text() == "child ran\n"
    events = []
    engine = Engine(workspace.root, db_url=db_url, options=OPTIONS)
    engine.subscribe(events.append)  # before start: the resume is its first round
    started = time.time()
    with engine:
        record = engine.wait(root_id, timeout=30)
        rows = _rows(engine.store)
    assert record["status"] == "success", record
    assert record["outputs"] == {"first": {"n": 1}, "second": {"slept": True}}
    assert marker.read_text() == "child ran\n", "the child that had ended ran again"
    assert rows["Child"]["resumed_at"] is None
    for flow in ("Parent", "Sleeper"):
        assert rows[flow]["resumed_at"] is not None and rows[flow]["lost_s"] >= 0
    resumed = {e.id for e in events if isinstance(e, ev.ExecutionResumed)}
    assert resumed == {rows["Parent"]["id"], rows["Sleeper"]["id"]}
    messages = [e.message for e in events if isinstance(e, ev.StatusChanged) and e.id == root_id]
    assert any(m and m.startswith("resumed after restart (") and m.endswith(" s lost)") for m in messages), messages
    assert time.time() - started < 2.5, "the sleep went on with the time it had left"


def test_clean_close_suspends_and_the_next_engine_resumes(workspace, tmp_path, db_url):
    marker = tmp_path / "runs.txt"
    _write_tree(workspace, marker)
    with Engine(workspace.root, db_url=db_url, options=OPTIONS) as engine:
        root_id = engine.submit("Parent")
        wait_for(lambda: _pending(engine.store, _rows(engine.store).get("Sleeper", {}).get("id", -1), "sleep"),
                 "the sleep to be journaled")
    store = _store(workspace, db_url)
    try:
        rows = _rows(store)
        assert {f: (r["status"], r["message"]) for f, r in rows.items()} == {
            "Parent": ("running", "suspended: the engine stopped; the next engine resumes it"),
            "Child": ("success", None),
            "Sleeper": ("running", "suspended: the engine stopped; the next engine resumes it"),
        }
    finally:
        store.close()
    with Engine(workspace.root, db_url=db_url, options=OPTIONS) as engine:
        record = engine.wait(root_id, timeout=30)
    assert record["status"] == "success", record
    assert record["outputs"] == {"first": {"n": 1}, "second": {"slept": True}}
    assert marker.read_text() == "child ran\n"


def test_cancel_before_close_still_cancels(workspace, tmp_path):
    _write_tree(workspace, tmp_path / "runs.txt")
    with Engine(workspace.root, options=OPTIONS) as engine:
        root_id = engine.submit("Parent")
        wait_for(lambda: _rows(engine.store).get("Sleeper"), "Sleeper to start")
        engine.cancel(root_id)
        assert engine.wait(root_id, timeout=10)["status"] == "cancelled"


def test_edited_flow_gives_call_differs(workspace, tmp_path):
    _write_tree(workspace, tmp_path / "runs.txt")
    with Host(workspace.root, None, [["Parent", {}]]) as host:
        (root_id,) = host.ids
        store = _store(workspace)
        try:
            sleeper = wait_for(lambda: _rows(store).get("Sleeper"), "Sleeper to start")
            wait_for(lambda: _pending(store, sleeper["id"], "sleep"), "the sleep to be journaled")
            host.kill9()
        finally:
            store.close()
    workspace.write_flow("Parent", """
        def handler(system, this, inputs):
            system.setting('edited').save(value=1)
            first = this.flow('Child', n=1)
    """)
    with Engine(workspace.root, options=OPTIONS) as engine:
        record = engine.wait(root_id, timeout=30)
        settings = engine.store.settings()
    assert record["status"] == "error", record
    message = record["message"]
    assert message.startswith(f"call differs: 'Parent' (#{root_id}) no longer makes the flow API calls it made "
                              "before the engine stopped. Call 1 was this.flow("), message
    assert "now it is system.setting('edited').save(value=...) at line 2" in message, message
    assert "nothing from call 1 on was done" in message, message
    assert "edited" not in settings, "a call after the divergence acted"


def _resume_off_case(workspace, tmp_path, *, config: bool):
    marker = tmp_path / "runs.txt"
    _write_tree(workspace, marker)
    if config:
        (workspace.root / ".flowdesk").mkdir(exist_ok=True)
        (workspace.root / ".flowdesk" / "config.toml").write_text("[executions]\nresume = false\n")
    else:
        source = (workspace.root / "flows" / "Parent.py").read_text()
        (workspace.root / "flows" / "Parent.py").write_text("FLOWDESK_RESUME = False\n" + source)
    with Host(workspace.root, None, [["Parent", {}]]) as host:
        (root_id,) = host.ids
        store = _store(workspace)
        try:
            wait_for(lambda: _rows(store).get("Sleeper", {}).get("status") == "running", "Sleeper to run")
            time.sleep(0.3)
            host.kill9()
        finally:
            store.close()
    with Engine(workspace.root, options=OPTIONS) as engine:
        rows = _rows(engine.store)
        assert {f: (r["status"], r["message"]) for f, r in rows.items()} == {
            "Parent": ("error", "engine stopped while running"),
            "Child": ("success", None),
            "Sleeper": ("error", "engine stopped while running"),
        }
        assert engine.store.journal(root_id) == []


def test_resume_off_in_workspace_config(workspace, tmp_path):
    _resume_off_case(workspace, tmp_path, config=True)


def test_resume_off_in_the_flow(workspace, tmp_path):
    _resume_off_case(workspace, tmp_path, config=False)


class _Held(QuietHandler):
    """Answers GET at once after the first, holds the first request of each method open."""

    hits: list = []
    release = threading.Event()

    def _answer(self):
        length = int(self.headers.get("Content-Length") or 0)
        if length:
            self.rfile.read(length)
        type(self).hits.append(self.command)
        if type(self).hits.count(self.command) == 1:
            type(self).release.wait(30)  # the engine is killed meanwhile
        data = b'{"ok": true}'
        try:
            send_json(self, 200, data)
        except OSError:
            pass

    do_GET = do_POST = _answer


@pytest.mark.parametrize("method", ["POST", "GET"])
def test_connection_interrupted(workspace, method):
    from support import serving_http

    handler = type("Held", (_Held,), {"hits": [], "release": threading.Event()})
    workspace.write_flow("Caller", """
        def handler(system, this, inputs):
            result = this.connect('REST', url=inputs['url'], method=inputs['method'])
            this.set_output(status=result.get('output_value')['status_code'])
    """)
    with serving_http(handler) as server:
        url = f"http://127.0.0.1:{server.server_address[1]}/x"
        with Host(workspace.root, None, [["Caller", {"url": url, "method": method}]]) as host:
            (root_id,) = host.ids
            wait_for(lambda: handler.hits, "the request to arrive")
            host.kill9()
        try:
            with Engine(workspace.root, options=OPTIONS) as engine:
                record = engine.wait(root_id, timeout=30)
                rest = _rows(engine.store)["REST"]
        finally:
            handler.release.set()
    if method == "POST":
        assert handler.hits == ["POST"], "a POST is not sent again"
        assert rest["status"] == "error"
        assert rest["message"] == ("interrupted: the engine stopped while this connection ran; it is not repeated "
                                   "because it may have acted (REST POST). Wrap it in this.using('retry') if "
                                   "repeating is safe")
        assert record["status"] == "error", record
    else:
        assert handler.hits == ["GET", "GET"], "a GET is sent again once"
        assert rest["status"] == "success", rest
        assert record["status"] == "success", record
        assert record["outputs"] == {"status": 200}


def _kill_when(workspace, flow: str, ready, what: str) -> int:
    with Host(workspace.root, None, [[flow, {}]]) as host:
        (root_id,) = host.ids
        store = _store(workspace)
        try:
            wait_for(lambda: ready(store, root_id), what)
            host.kill9()
        finally:
            store.close()
    return root_id


def test_a_held_lock_is_adopted_by_the_resumed_execution(workspace):
    workspace.write_flow("Locker", """
        def handler(system, this, inputs):
            lock = system.setting('shared')
            lock.acquire(timeout=5)
            this.sleep(1.0)
            lock.release()
            this.set_output(released=True)
    """)
    root_id = _kill_when(workspace, "Locker", lambda s, i: _pending(s, i, "sleep"), "the sleep under the lock")
    with Engine(workspace.root, options=OPTIONS) as engine:
        record = engine.wait(root_id, timeout=30)
    assert record["status"] == "success", record  # release() refuses a lock the execution does not hold
    assert record["outputs"] == {"released": True}


def test_a_self_paused_execution_waits_to_be_resumed_again(workspace):
    workspace.write_flow("Pauser", """
        def handler(system, this, inputs):
            this.pause()
            this.set_output(went_on=True)
    """)
    root_id = _kill_when(workspace, "Pauser", lambda s, i: _pending(s, i, "control"), "this.pause()")
    with Engine(workspace.root, options=OPTIONS) as engine:
        wait_for(lambda: engine.store.execution(root_id)["status"] == "paused", "the resumed pause")
        time.sleep(0.3)
        assert engine.store.execution(root_id)["status"] == "paused"
        engine.resume(root_id)
        record = engine.wait(root_id, timeout=30)
    assert record["status"] == "success", record
    assert record["outputs"] == {"went_on": True}


def test_a_child_with_resume_off_in_a_resumed_tree_ends_and_its_parent_sees_it(workspace):
    workspace.write_flow("Outer", """
        import flow_api
        def handler(system, this, inputs):
            try:
                this.flow('Inner')
            except flow_api.DependencyFailedError as exc:
                this.set_output(inner_failed=str(exc))
    """)
    workspace.write_flow("Inner", """
        FLOWDESK_RESUME = False
        def handler(system, this, inputs):
            this.sleep(5)
    """)

    def inner_running(store, root_id):
        inner = _rows(store).get("Inner")
        return inner is not None and inner["status"] == "running" and _pending(store, root_id, "start_flow")

    root_id = _kill_when(workspace, "Outer", inner_running, "Inner to run")
    with Engine(workspace.root, options=OPTIONS) as engine:
        record = engine.wait(root_id, timeout=30)
        inner = _rows(engine.store)["Inner"]
    assert (inner["status"], inner["message"]) == ("error", "engine stopped while running (resume is off for this flow)")
    assert record["status"] == "success", record
    assert "engine stopped while running (resume is off for this flow)" in record["outputs"]["inner_failed"]


class _Slow(QuietHandler):
    hits: list = []

    def do_POST(self):
        length = int(self.headers.get("Content-Length") or 0)
        if length:
            self.rfile.read(length)
        type(self).hits.append(time.time())
        time.sleep(0.8)
        data = b'{"ok": true}'
        send_json(self, 200, data)


def test_close_lets_a_running_connection_end_before_suspending(workspace):
    from support import serving_http

    handler = type("Slow", (_Slow,), {"hits": []})
    workspace.write_flow("Poster", """
        def handler(system, this, inputs):
            result = this.connect('REST', url=inputs['url'], method='POST', json={'a': 1})
            this.set_output(ok=result.get('output_value')['json']['ok'])
    """)
    with serving_http(handler) as server:
        url = f"http://127.0.0.1:{server.server_address[1]}/x"
        with Engine(workspace.root, options=OPTIONS) as engine:
            root_id = engine.submit("Poster", {"url": url})
            wait_for(lambda: handler.hits, "the POST to arrive")
        store = _store(workspace)
        try:
            rows = _rows(store)
            assert rows["REST"]["status"] == "success", rows["REST"]
            assert (rows["Poster"]["status"], rows["Poster"]["message"]) == (
                "running", "suspended: the engine stopped; the next engine resumes it")
        finally:
            store.close()
        with Engine(workspace.root, options=OPTIONS) as engine:
            record = engine.wait(root_id, timeout=30)
    assert record["status"] == "success", record
    assert record["outputs"] == {"ok": True}
    assert len(handler.hits) == 1, "the POST that ended before the stop was not sent again"
