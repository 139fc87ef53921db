"""A database made at schema revision 0002 (before durable executions) opens in this Flowdesk:
migration 0003 adds the journal, scripts, the executions' durable/replay columns and logs'
after_seq without losing anything, on SQLite and on PostgreSQL, and can be downgraded again.

``fixtures/schema_0002.db`` is a real database written by Flowdesk at commit faf509b (schema
revision 0002), made with ``fixtures/make_schema_0002.py``::

    git -C /work/durable worktree add --detach /tmp/fd-0002 faf509b
    PYTHONPATH=/tmp/fd-0002 .venv/bin/python tests/engine/fixtures/make_schema_0002.py /tmp/schema_0002.db
    git -C /work/durable worktree remove --force /tmp/fd-0002

It holds: the setting ``my-setting``; ``Main Process`` (#1, children #2, #3 with a message),
``Pass a Setting`` (#4, #5), ``Quick Form`` (#6, a form answered), and what an engine killed
with kill -9 left behind: ``Approve Tree`` (#7, running) whose child ``Ask`` (#8, paused) holds
the lock ``deploy lock`` and waits on an open form, their engine session (#1) still registered.
Never regenerate it with newer code: its point is to be old."""

from __future__ import annotations

import shutil
import sqlite3
from pathlib import Path

import pytest
import sqlalchemy as sa

from engine_core import Engine, EngineOptions, Store
from engine_core.store import STOPPED_MESSAGE, migrate
from engine_core.store.writer import Writer

FIXTURE = Path(__file__).with_name("fixtures") / "schema_0002.db"
OLD = {  # id -> (parent_id, flow, status)
    1: (None, "Main Process", "success"), 2: (1, "Calculator", "success"), 3: (1, "Messenger", "success"),
    4: (None, "Pass a Setting", "success"), 5: (4, "Setting Writer", "success"), 6: (None, "Quick Form", "success"),
    7: (None, "Approve Tree", "running"), 8: (7, "Ask", "paused"),
}


@pytest.fixture
def old_db(tmp_path) -> Path:
    copy = tmp_path / "schema_0002.db"
    shutil.copyfile(FIXTURE, copy)
    return copy


def _alembic(engine: sa.Engine, action: str, revision: str) -> None:
    from alembic import command

    config = migrate._config()
    with engine.begin() as conn:
        config.attributes["connection"] = conn
        getattr(command, action)(config, revision)


def test_fixture_is_small_and_at_revision_0002():
    assert FIXTURE.stat().st_size < 200 * 1024
    with sqlite3.connect(f"file:{FIXTURE}?immutable=1", uri=True) as conn:
        assert conn.execute("SELECT version_num FROM alembic_version").fetchall() == [("0002",)]
        # Not WAL: opening it would leave -wal/-shm files beside it in the source tree.
        assert conn.execute("PRAGMA journal_mode").fetchone() == ("delete",)
        assert conn.execute("SELECT name, execution_id, session_id FROM locks").fetchall() == [("deploy lock", 8, 1)]


def test_upgrade_to_0003_keeps_every_row_and_adds_the_durable_columns(old_db):
    with sqlite3.connect(f"file:{FIXTURE}?immutable=1", uri=True) as conn:
        before = {t: conn.execute(f"SELECT * FROM {t} ORDER BY 1").fetchall()
                  for t in ("executions", "logs", "messages", "status_changes", "settings", "locks", "engine_sessions")}
    store = Store(f"sqlite:///{old_db}")
    try:
        assert migrate.current_revision(store.engine) == migrate.HEAD_REVISION
        records = {r["id"]: r for r in store.executions(limit=100)}
        assert {i: (r["parent_id"], r["flow"], r["status"]) for i, r in records.items()} == OLD
        assert all((r["durable"], r["replay_of"], r["resumed_at"], r["lost_s"], r["script_sha"]) ==
                   (False, None, None, None, None) for r in records.values()), "old executions are not durable"
        assert store.journal(7) == [] and store.replays(1) == []
        assert store.tree(7)["children"][0]["durable"] is False
        assert [f["state"] for f in store.forms(open_only=False)] == ["answered", "open"]
        assert store.settings() == {"my-setting": "my value"}
    finally:
        store.close()
    with sqlite3.connect(old_db) as conn:
        for table, rows in before.items():
            width = len(rows[0]) if rows else 0
            # New columns come last: the old ones read back exactly.
            assert [r[:width] for r in conn.execute(f"SELECT * FROM {table} ORDER BY 1").fetchall()] == rows, table
        assert conn.execute("SELECT count(*) FROM logs WHERE after_seq IS NOT NULL").fetchone() == (0,)
        assert conn.execute("SELECT count(*) FROM journal").fetchone() == (0,)
        assert {r[1] for r in conn.execute("PRAGMA index_list(executions)")} >= {"ix_executions_replay_of",
                                                                                 "ix_executions_ended_at"}


def test_session_ids_are_never_reused_after_the_upgrade(old_db):
    store = Store(f"sqlite:///{old_db}")
    writer = Writer(store.engine)
    try:
        first = writer.open_session(1, "h")
        writer.commit()
        writer.close_session(first)
        writer.commit()
        second = writer.open_session(1, "h")
        writer.commit()
        assert 1 < first < second, "the killed engine's session id (1) and a closed one are never handed out again"
    finally:
        writer.close()
        store.close()


def test_the_old_orphans_can_be_claimed_but_are_not_durable(old_db):
    store = Store(f"sqlite:///{old_db}")
    writer = Writer(store.engine)
    try:
        session = writer.open_session(1, "h")
        writer.commit()
        claimed = writer.claim_orphans(session, [1])
        assert [(r["id"], r["status"], bool(r["durable"])) for r in claimed] == [(7, "running", False), (8, "paused", False)]
        assert writer.adopt_locks(session, [7, 8]) == [("deploy lock", 8)]
        assert writer.end_orphans([7, 8], "error", STOPPED_MESSAGE + " (recorded before journaling)") == [7, 8]
        writer.commit()
        assert store.execution(8)["message"] == "engine stopped while running (recorded before journaling)"
        assert writer.claim_orphans(session, []) == []
    finally:
        writer.close()
        store.close()


def test_downgrade_to_0002_and_upgrade_again(old_db):
    store = Store(f"sqlite:///{old_db}")
    try:
        _alembic(store.engine, "downgrade", "0002")
        assert migrate.current_revision(store.engine) == "0002"
        assert not sa.inspect(store.engine).has_table("journal")
        assert "durable" not in {c["name"] for c in sa.inspect(store.engine).get_columns("executions")}
        migrate.upgrade(store.engine)
        assert migrate.current_revision(store.engine) == migrate.HEAD_REVISION
        assert store.execution(8)["flow"] == "Ask"
    finally:
        store.close()


def test_an_engine_opens_the_old_database_ends_its_orphans_and_runs(old_db, workspace):
    with Engine(workspace.root, db_url=f"sqlite:///{old_db}",
                options=EngineOptions(warm_workers=1, memory_limit_mb=1024)) as engine:
        record = engine.run("Calculator", {"initial_value": 3}, timeout=60)
        assert (record["id"], record["status"]) == (9, "success")
        for orphan in (7, 8):
            old = engine.store.execution(orphan)
            assert old["status"] == "error" and old["message"].startswith(STOPPED_MESSAGE), old["message"]
        with engine.store.engine.connect() as conn:
            assert conn.execute(sa.text("SELECT count(*) FROM locks")).scalar() == 0, "the dead engine's lock is freed"


@pytest.mark.postgres
def test_postgresql_database_at_0002_upgrades_to_0003_and_back():
    from pg_server import new_database, running_postgres

    with running_postgres() as port:
        url = new_database(f"postgresql://flowdesk@127.0.0.1:{port}")
        from engine_core.store.database import create_engine

        engine = create_engine(url)
        _alembic(engine, "upgrade", "0002")
        with engine.begin() as conn:
            conn.execute(sa.text("INSERT INTO engine_sessions (pid, host, started_at) VALUES (1, 'gone', 1.0)"))
            conn.execute(sa.text(
                "INSERT INTO executions (flow, name, status, created_at, root_id, engine_session_id, cancel_requested)"
                " VALUES ('Old', 'Old', 'running', 1.0, 1, 1, false)"))
            conn.execute(sa.text("INSERT INTO logs (execution_id, at, level, text) VALUES (1, 1.0, 'info', 'hi')"))
            conn.execute(sa.text("INSERT INTO locks VALUES ('l', 1, 1, 1.0)"))
        engine.dispose()

        store = Store(url)
        writer = Writer(store.engine)
        try:
            assert migrate.current_revision(store.engine) == migrate.HEAD_REVISION
            record = store.execution(1)
            assert (record["flow"], record["status"], record["durable"], record["replay_of"]) == ("Old", "running", False, None)
            assert store.logs(1)[0]["text"] == "hi"
            session = writer.open_session(2, "h")
            writer.commit()
            assert session == 2
            assert [r["id"] for r in writer.claim_orphans(session, [1])] == [1]
            assert writer.adopt_locks(session, [1]) == [("l", 1)]
            writer.commit()
            writer.close()
            _alembic(store.engine, "downgrade", "0002")
            assert migrate.current_revision(store.engine) == "0002"
            assert not sa.inspect(store.engine).has_table("journal")
            migrate.upgrade(store.engine)
            assert migrate.current_revision(store.engine) == migrate.HEAD_REVISION
        finally:
            store.close()
