"""Issue 13's acceptance test: kill -9 a real engine process in the middle of a three-level tree
(a REST call to a local server, a setting write, a ``this.sleep`` and a form waiting for an
answer), start a new engine on the same database: the tree finishes with the outputs of an
uninterrupted run, the REST server saw exactly one request, no execution is left running and
the resumed executions are marked. On SQLite and on a real PostgreSQL server.

The engine that is killed runs in a process of its own (tests/engine/durable_host.py: an Engine
that submits the roots it is given, prints their ids and serves until it is killed);
``os.killpg(SIGKILL)`` takes its whole process group. The database is watched
with plain SQL (the ``journal`` and ``messages`` tables), as another process would.
tests/engine/test_journal_secrets.py and tests/bench/bench_durable.py use the same host."""

from __future__ import annotations

import json
import sys
import time
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # support, pg_server (also from the bench)

from durable_host import Host  # noqa: E402  (also for test_journal_secrets, the bench)
from support import QuietHandler, send_json  # noqa: E402

HOST_OPTIONS = {"warm_workers": 2, "memory_limit_mb": 1024}
ACTIVE_STATUSES = ("queued", "running", "paused")

FORM = {
    "type": "object",
    "properties": {
        "comment": {"label": "Comment", "element": "string", "type": "string", "order": 1},
        "Approve": {"label": "Approve", "element": "submit", "type": "boolean", "order": 2},
    },
    "required": ["comment"],
}
ANSWER = {"comment": "ship it", "Approve": True}

ROOT = """
def handler(system, this, inputs):
    rest = this.connect('REST', url=inputs['url'], method='POST', json={'ping': 1})
    body = rest.get('output_value')['json']
    system.setting('stage').save(value='one')
    mid = this.flow('Mid', sleep=inputs['sleep'])
    this.set_output(rest=body, stage=system.setting('stage').get('value'), mid=mid.get('output_value'))
    return this.success('root done')
"""

MID = """
def handler(system, this, inputs):
    leaf = this.flow('Leaf', wait=False)
    this.sleep(inputs['sleep'])
    leaf.wait()
    this.set_output(leaf=leaf.get('output_value'), slept=inputs['sleep'] > 0)
    return this.success('mid done')
"""

LEAF = f"""
FORM = {FORM!r}

def handler(system, this, inputs):
    message = this.message('Approve the release', body=FORM)
    this.set_output(answer=message.get('response'), subject=message.get('subject'))
    return this.success('leaf done')
"""


# -- the engine host (a separate process, killed with SIGKILL) -------------------------------------
# durable_host.Host: an Engine in a process of its own that submits the roots it is given and
# serves until killed; given HOST_OPTIONS and a log_dir here (its stderr in a file, shown when a
# wait times out); host.dead() tells a host that died by itself.


# -- the database, read as another process would ---------------------------------------------------

class Db:
    """Plain SQL on the engine's database (SQLite or PostgreSQL)."""

    def __init__(self, url: str):
        from engine_core.store.database import create_engine

        self.url = url
        self.engine = create_engine(url)

    def rows(self, sql: str, **params) -> list[dict]:
        import sqlalchemy as sa

        with self.engine.connect() as conn:
            return [dict(r._mapping) for r in conn.execute(sa.text(sql), params)]

    def executions(self) -> dict[str, dict]:
        """flow/connection name -> row (each appears once in these trees: checked)."""
        rows = self.rows("SELECT * FROM executions ORDER BY id")
        by_name = {r["flow"]: r for r in rows}
        assert len(by_name) == len(rows), f"an execution was made twice: {[(r['id'], r['flow']) for r in rows]}"
        return by_name

    def journal(self, execution_id: int | None = None) -> list[dict]:
        if execution_id is None:
            return self.rows("SELECT * FROM journal ORDER BY execution_id, seq")
        return self.rows("SELECT * FROM journal WHERE execution_id = :e ORDER BY seq", e=execution_id)

    def dump(self) -> dict[str, list[dict]]:
        """Every row of every table."""
        import sqlalchemy as sa

        tables = sa.inspect(self.engine).get_table_names()
        assert tables, f"no tables in {self.url}"
        return {t: self.rows(f'SELECT * FROM "{t}"') for t in tables}

    def close(self) -> None:
        self.engine.dispose()


def wait_for(condition, what: str, timeout: float = 30, poll: float = 0.02, detail=lambda: "", give_up=None):
    """Poll ``condition`` until it is true (returned) or ``timeout``; ``give_up()`` returning
    a text stops early (the state the test waits for can no longer come)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = condition()
        if value:
            return value
        reason = give_up() if give_up else None
        if reason:
            raise AssertionError(f"gave up waiting for {what}: {reason}; {detail()}")
        time.sleep(poll)
    raise AssertionError(f"timed out after {timeout} s waiting for {what}; {detail()}")


def _now_sleeping(db: Db, execution_id: int) -> dict | None:
    rows = db.rows("SELECT * FROM journal WHERE execution_id = :e AND op = 'sleep' AND state = 'pending'",
                   e=execution_id)
    return rows[0] if rows else None


def _open_form(db: Db, execution_id: int) -> dict | None:
    rows = db.rows("SELECT * FROM messages WHERE execution_id = :e AND state = 'open'", e=execution_id)
    return rows[0] if rows else None


def ended(db: Db, execution_id: int):
    """give_up for wait_for: the root ended (or its engine host died) before the awaited state."""
    rows = db.rows("SELECT status FROM executions WHERE id = :e", e=execution_id)
    return f"#{execution_id} ended {rows[0]['status']}" if rows and rows[0]["status"] not in ACTIVE_STATUSES else None


def _ref(row: dict) -> dict:
    return json.loads(row["ref"]) if row.get("ref") else {}


# -- fixtures: the same test on SQLite and on PostgreSQL --------------------------------------------


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def database(request):
    """database(workspace_root) -> a URL of an empty database for that workspace."""
    def make(root) -> str:
        if request.param == "sqlite":
            from engine_core.runtime.engine import resolve_db_url
            from engine_core.workspace import Workspace

            return resolve_db_url(Workspace.open(root), None)
        from pg_server import new_database

        return new_database(request.getfixturevalue("postgres_server"))
    make.kind = request.param
    return make


class Counter(QuietHandler):
    """Counts every request (the REST call must reach it exactly once across the crash)."""

    hits: list = []

    def _answer(self):
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length) if length else b""
        type(self).hits.append((self.command, self.path, body))
        data = json.dumps({"greeting": "hello", "got": json.loads(body or b"null")}).encode()
        send_json(self, 200, data)

    do_GET = do_POST = _answer


def _counting_server():
    from support import serving_http

    handler = type("Hits", (Counter,), {"hits": []})
    return handler, serving_http(handler)


def _write_tree(workspace) -> None:
    workspace.write_flow("Root", ROOT)
    workspace.write_flow("Mid", MID)
    workspace.write_flow("Leaf", LEAF)


def _baseline(tmp_path, database, sleep: float) -> dict:
    """The same tree run without interruption, in a workspace and database of its own."""
    import shutil

    from engine_core import Engine, EngineOptions
    from support import EXAMPLES, FlowWorkspace

    root = tmp_path / "baseline"
    shutil.copytree(EXAMPLES, root, ignore=shutil.ignore_patterns(".flowdesk"))
    workspace = FlowWorkspace(root)
    _write_tree(workspace)
    handler, serving = _counting_server()
    with serving as server, Engine(root, db_url=database(root), options=EngineOptions(**HOST_OPTIONS)) as engine:
        url = f"http://127.0.0.1:{server.server_address[1]}/api"
        root_id = engine.submit("Root", {"url": url, "sleep": sleep})
        form = wait_for(lambda: [f for f in engine.store.forms(open_only=True)], "the baseline's form")
        engine.respond(form[0]["id"], ANSWER)
        record = engine.wait(root_id, timeout=60)
    assert record["status"] == "success", record
    assert len(handler.hits) == 1
    return record["outputs"]


def _crash_and_resume(workspace, tmp_path, database, *, sleep: float, kill_into_sleep: float | None,
                      answer_while_down: bool = False):
    """Run the tree in a host, kill -9 it while Leaf's form is open and Mid's sleep pending
    (``kill_into_sleep`` seconds after the sleep began, or at once), start a new engine in this
    process, answer the form (or, ``answer_while_down``, answer it with ``flowdesk respond``
    while no engine runs). Returns what the checks need."""
    from engine_core import Engine, EngineOptions

    _write_tree(workspace)
    url = database(workspace.root)
    handler, serving = _counting_server()
    with serving as server:
        api = f"http://127.0.0.1:{server.server_address[1]}/api"
        host = Host(workspace.root, url, [("Root", {"url": api, "sleep": sleep})], options=HOST_OPTIONS,
                    log_dir=tmp_path)
        db = Db(url)
        try:
            (root_id,) = host.ids

            def ids():
                return {name: row["id"] for name, row in db.executions().items()}

            def state():
                return f"executions: {db.rows('SELECT id, flow, status, message FROM executions')}; " \
                       f"journal: {_safe_journal(db)}; host stderr: {host.stderr()}"

            wait_for(lambda: {"Mid", "Leaf"} <= set(ids()), "Mid and Leaf to be created", detail=state)
            mid_id, leaf_id = ids()["Mid"], ids()["Leaf"]
            sleeping = wait_for(lambda: _now_sleeping(db, mid_id), "Mid's sleep to be journaled pending",
                                detail=state, give_up=lambda: ended(db, mid_id) or host.dead())
            # The form is open (message_create) and Leaf waits for its answer (message_wait: paused).
            form = wait_for(lambda: _open_form(db, leaf_id), "Leaf's form to be open", detail=state)
            wait_for(lambda: db.rows("SELECT id FROM executions WHERE id = :e AND status = 'paused'", e=leaf_id),
                     "Leaf to wait for the form's answer (paused)", detail=state)
            if kill_into_sleep is not None:
                time.sleep(max(0.0, sleeping["called_at"] + kill_into_sleep - time.time()))
            killed_at = time.time()
            host.kill9()
        finally:
            host.ensure_dead()

        before = db.executions()
        stage_before = db.rows("SELECT * FROM settings WHERE name = 'stage'")
        assert len(handler.hits) == 1, "the REST call happened before the kill"
        assert {n: r["status"] for n, r in before.items() if n != "REST"} == {
            "Root": "running", "Mid": "running", "Leaf": "paused"}, "the dead engine marked nothing"

        if answer_while_down:
            from support import run_cli

            answered = run_cli("respond", str(form["id"]), json.dumps(ANSWER), "-w", str(workspace), "--db", url)
            assert answered.returncode == 0, answered.stdout + answered.stderr
        events = []
        engine = Engine(workspace.root, db_url=url, options=EngineOptions(**HOST_OPTIONS))
        engine.subscribe(events.append)
        started_at = time.time()
        try:
            engine.start()
            if not answer_while_down:
                engine.respond(form["id"], ANSWER)
            record = engine.wait(root_id, timeout=60)
            after = db.executions()
            journal = db.journal()
        finally:
            engine.close()
            db.close()
    return {
        "record": record, "hits": list(handler.hits), "before": before, "after": after, "journal": journal,
        "events": events, "sleeping": sleeping, "killed_at": killed_at, "started_at": started_at,
        "stage_before": stage_before, "form": form, "url": url,
        "ids": {"Root": root_id, "Mid": mid_id, "Leaf": leaf_id},
    }


def _safe_journal(db: Db):
    try:
        return [(r["execution_id"], r["seq"], r["op"], r["target"], r["state"]) for r in db.journal()]
    except Exception as exc:  # the table may not exist yet: say so in the failure
        return f"cannot read the journal: {exc}"


# -- the tests --------------------------------------------------------------------------------------

def test_kill9_mid_tree_resumes_to_the_uninterrupted_outputs(workspace, tmp_path, database):
    expected = _baseline(tmp_path, database, sleep=1.0)
    run = _crash_and_resume(workspace, tmp_path, database, sleep=3.0, kill_into_sleep=None)
    record, after, ids = run["record"], run["after"], run["ids"]

    assert (record["status"], record["message"]) == ("success", "root done"), record
    assert record["outputs"] == expected
    assert record["outputs"]["mid"]["leaf"]["answer"]["comment"] == "ship it"

    # The REST server saw one request in all: the connection that ended before the kill was
    # answered from Root's journal, not run again.
    assert len(run["hits"]) == 1, run["hits"]
    assert [r["flow"] for r in run["before"].values()] == [r["flow"] for r in after.values()], \
        "no execution was created again"

    # Nothing is left running; every execution ended as in the uninterrupted run.
    leftover = [(r["id"], r["flow"], r["status"]) for r in after.values() if r["status"] in ACTIVE_STATUSES]
    assert not leftover, f"left active: {leftover}"
    assert {n: r["status"] for n, r in after.items()} == {
        "Root": "success", "REST": "success", "Mid": "success", "Leaf": "success"}

    # The setting write was not made again: one journal entry, the row untouched since the kill.
    root_journal = [e for e in run["journal"] if e["execution_id"] == ids["Root"]]
    assert [e["op"] for e in root_journal].count("setting_save") == 1, root_journal
    assert run["stage_before"] and run["stage_before"][0]["value"] is not None
    db = Db(run["url"])
    try:
        assert db.rows("SELECT * FROM settings WHERE name = 'stage'") == run["stage_before"]
    finally:
        db.close()
    assert all(e["state"] == "done" for e in run["journal"]), \
        [(e["execution_id"], e["seq"], e["op"], e["state"]) for e in run["journal"] if e["state"] != "done"]

    # The resumed executions are marked: resumed_at and the time lost, an ExecutionResumed event
    # and the "resumed after restart" status message; the connection that had ended is not.
    from engine_core import events as ev

    resumed = {e.id: e for e in run["events"] if isinstance(e, ev.ExecutionResumed)}
    for name in ("Root", "Mid", "Leaf"):
        row = after[name]
        assert row["resumed_at"] is not None and row["resumed_at"] >= run["started_at"], (name, row)
        assert row["lost_s"] is not None and row["lost_s"] >= 0, (name, row)
        assert row["id"] in resumed, (name, sorted(resumed))
        texts = [e.message or "" for e in run["events"] if isinstance(e, ev.StatusChanged) and e.id == row["id"]]
        assert any("resumed after restart" in t for t in texts), (name, texts)
    assert after["REST"]["resumed_at"] is None

    # The sleep went on with the time it had left (wall clock), not 3 s from the restart.
    sleep_entry = [e for e in run["journal"] if e["execution_id"] == ids["Mid"] and e["op"] == "sleep"]
    assert len(sleep_entry) == 1, sleep_entry
    deadline = run["sleeping"]["called_at"] + 3.0
    assert abs(sleep_entry[0]["answered_at"] - deadline) <= 0.5, (sleep_entry[0], deadline)


def test_kill9_one_second_into_a_three_second_sleep_ends_at_the_original_deadline(workspace, tmp_path, database):
    run = _crash_and_resume(workspace, tmp_path, database, sleep=3.0, kill_into_sleep=1.0)
    record, ids = run["record"], run["ids"]
    assert record["status"] == "success", record
    assert len(run["hits"]) == 1, run["hits"]

    (sleep_entry,) = [e for e in run["journal"] if e["execution_id"] == ids["Mid"] and e["op"] == "sleep"]
    called_at = run["sleeping"]["called_at"]
    deadline = called_at + 3.0
    assert run["killed_at"] - called_at >= 1.0
    until = _ref(sleep_entry).get("until")
    assert until is not None and abs(until - deadline) <= 0.05, sleep_entry
    answered = sleep_entry["answered_at"]
    assert abs(answered - deadline) <= 0.5, (
        f"the sleep ended {answered - called_at:.2f} s after it began and {answered - run['started_at']:.2f} s "
        f"after the restart; it should end at its original deadline (3 s after it began, ±0.5 s)")
    assert answered - run["started_at"] < 2.5, "not 3 s again after the restart"


def test_kill9_form_answered_with_the_cli_while_no_engine_runs(workspace, tmp_path, database):
    """The form stayed open through the crash; `flowdesk respond` answers it with no engine
    running, and the next engine's resumed Leaf gets that answer at once."""
    run = _crash_and_resume(workspace, tmp_path, database, sleep=3.0, kill_into_sleep=None, answer_while_down=True)
    record, after = run["record"], run["after"]
    assert record["status"] == "success", record
    assert record["outputs"]["mid"]["leaf"]["answer"]["comment"] == "ship it"
    assert len(run["hits"]) == 1, run["hits"]
    assert not [r for r in after.values() if r["status"] in ACTIVE_STATUSES]
    assert after["Leaf"]["resumed_at"] is not None
