"""The store side of cluster runs (issue 12, design §5–§6), on SQLite and on a real PostgreSQL
server: migration 0004 adds each execution's attempt and worker and each engine session's
``seen_at`` (to a new database, and to one made at revision 0003 without losing a row); a run
claims its execution once (a second claim with the same attempt is refused, also when two
engines race on PostgreSQL); an engine on another machine whose session was not seen for 30 s
counts as gone, so the next engine takes over what it left running; a running engine keeps its
own session fresh; execution records show where each execution ran."""

from __future__ import annotations

import os
import socket
import threading
import time

import pytest
import sqlalchemy as sa

from engine_core import Engine, EngineOptions, Store
from engine_core.store import STOPPED_MESSAGE, migrate
from engine_core.store.database import create_engine
from engine_core.store.schema import engine_sessions, executions
from engine_core.store.store import SESSION_STALE_S
from engine_core.store.writer import Writer

OTHER_HOST = socket.gethostname() + "-elsewhere"


def _alembic(engine: sa.Engine, action: str, revision: str) -> None:
    from alembic import command

    config = migrate._config()
    with engine.begin() as conn:
        config.attributes["connection"] = conn
        getattr(command, action)(config, revision)


def _columns(engine: sa.Engine, table: str) -> dict[str, dict]:
    return {c["name"]: c for c in sa.inspect(engine).get_columns(table)}


def new_execution(writer: Writer, session: int, flow: str = "Flow") -> int:
    return writer.create_execution(flow=flow, name=flow, kind="flow", mode="productive", inputs="{}",
                                   parent_id=None, root_id=None, session_id=session, at=time.time())


# -- migration 0004 ----------------------------------------------------------------------------

def test_a_new_database_has_the_cluster_columns(store):
    assert migrate.current_revision(store.engine) == migrate.HEAD_REVISION == "0004"
    columns = _columns(store.engine, "executions")
    assert not columns["attempt"]["nullable"]
    assert columns["worker_host"]["nullable"] and columns["worker_address"]["nullable"]
    assert _columns(store.engine, "engine_sessions")["seen_at"]["nullable"]


def test_a_database_at_0003_upgrades_with_every_row_and_back(db_url):
    engine = create_engine(db_url)
    _alembic(engine, "upgrade", "0003")
    with engine.begin() as conn:
        conn.execute(sa.text("INSERT INTO engine_sessions (pid, host, started_at) VALUES (1, 'old-host', 5.0)"))
        conn.execute(sa.text(
            "INSERT INTO executions (flow, name, status, created_at, root_id, engine_session_id, cancel_requested,"
            " durable, outputs) VALUES ('Old', 'Old run', 'success', 1.0, 1, 1, false, true, '{\"n\": 1}')"))
        conn.execute(sa.text(
            "INSERT INTO executions (flow, name, status, created_at, root_id, engine_session_id, cancel_requested,"
            " durable) VALUES ('Old', 'Still running', 'running', 2.0, 2, 1, false, false)"))
        conn.execute(sa.text("INSERT INTO logs (execution_id, at, level, text) VALUES (1, 1.5, 'info', 'hi')"))
    engine.dispose()

    store = Store(db_url)  # opening it migrates it
    try:
        assert migrate.current_revision(store.engine) == "0004"
        old = store.execution(1)
        assert (old["flow"], old["name"], old["status"], old["outputs"], old["durable"]) == \
            ("Old", "Old run", "success", {"n": 1}, True)
        assert (old["attempt"], old["worker_host"], old["worker_address"]) == (0, None, None)
        assert store.logs(1)[0]["text"] == "hi"
        node = store.tree(2)
        assert (node["status"], node["attempt"], node["worker_host"], node["worker_address"]) == ("running", 0, None, None)
        with store.engine.connect() as conn:
            assert conn.execute(sa.select(engine_sessions.c.host, engine_sessions.c.seen_at)).all() == [("old-host", None)]
        # A session from before 0004 has no seen_at: judged by when it started (long ago here).
        assert store.dead_sessions() == [1]

        _alembic(store.engine, "downgrade", "0003")
        assert migrate.current_revision(store.engine) == "0003"
        assert "attempt" not in _columns(store.engine, "executions")
        assert "seen_at" not in _columns(store.engine, "engine_sessions")
        migrate.upgrade(store.engine)
        assert migrate.current_revision(store.engine) == "0004"
        assert store.execution(2)["name"] == "Still running"
    finally:
        store.close()


# -- claims ------------------------------------------------------------------------------------

def test_a_run_claims_its_execution_once(store, writer):
    session = writer.open_session(os.getpid(), socket.gethostname())
    execution_id = new_execution(writer, session)
    writer.commit()
    assert writer.execution_attempt(execution_id) == 0

    assert writer.claim_run(execution_id, 0, "node-a", "tcp://10.0.0.5:40123") is True
    writer.commit()
    # A second run handed the same attempt (Dask ran the task twice) is refused.
    assert writer.claim_run(execution_id, 0, "node-b", "tcp://10.0.0.6:40123") is False
    writer.commit()
    record = store.execution(execution_id)
    assert (record["attempt"], record["worker_host"], record["worker_address"]) == \
        (1, "node-a", "tcp://10.0.0.5:40123")
    assert writer.execution_attempt(execution_id) == 1

    # The next run (after the worker was lost) claims with the new attempt and moves it.
    assert writer.claim_run(execution_id, 1, "node-b", "tcp://10.0.0.6:40123") is True
    writer.commit()
    node = store.tree(execution_id)
    assert (node["attempt"], node["worker_host"], node["worker_address"]) == (2, "node-b", "tcp://10.0.0.6:40123")

    # An execution that has ended is never claimed again.
    writer.set_status(execution_id, "success", time.time(), ended=True, message="all done")
    writer.commit()
    assert writer.claim_run(execution_id, 2, "node-c", "tcp://10.0.0.7:1") is False
    writer.commit()
    assert store.execution(execution_id)["worker_host"] == "node-b"
    assert writer.execution_attempt(999_999) == 0


@pytest.mark.postgres
def test_two_engines_racing_for_one_run_on_postgresql_one_wins(postgres_server):
    from pg_server import new_database

    store = Store(new_database(postgres_server))
    writers = [Writer(store.engine) for _ in range(2)]
    try:
        session = writers[0].open_session(os.getpid(), socket.gethostname())
        ids = [new_execution(writers[0], session) for _ in range(40)]
        writers[0].commit()
        won: dict[int, list[int]] = {0: [], 1: []}
        barrier = threading.Barrier(2)

        def claim_all(index: int) -> None:
            w = writers[index]
            barrier.wait()
            for execution_id in ids:
                if w.claim_run(execution_id, 0, f"node-{index}", f"tcp://10.0.0.{index}:1"):
                    won[index].append(execution_id)
                w.commit()

        threads = [threading.Thread(target=claim_all, args=(i,)) for i in range(2)]
        for t in threads:
            t.start()
        for t in threads:
            t.join(60)
        assert sorted(won[0] + won[1]) == ids, "every run claimed exactly once"
        with store.engine.connect() as conn:
            rows = conn.execute(sa.select(executions.c.id, executions.c.attempt, executions.c.worker_host)).all()
        assert {r.attempt for r in rows} == {1}
        assert all(r.worker_host == f"node-{0 if r.id in won[0] else 1}" for r in rows)
    finally:
        for w in writers:
            w.close()
        store.close()


# -- sessions across machines ------------------------------------------------------------------

def test_dead_sessions_across_hosts(store, writer):
    now = time.time()
    here = socket.gethostname()
    stale = writer.open_session(4242, OTHER_HOST)
    fresh = writer.open_session(4242, OTHER_HOST)
    never_touched_old = writer.open_session(4242, OTHER_HOST)
    never_touched_new = writer.open_session(4242, OTHER_HOST)
    gone_here = writer.open_session(2 ** 22 + 12345, here)  # no such process
    alive_here = writer.open_session(os.getpid(), here)
    writer.touch_session(stale, now - SESSION_STALE_S - 5)
    writer.touch_session(fresh, now - 3)
    writer.touch_session(alive_here, now - 3600)  # this host: its pid decides, not the time
    writer._exec(engine_sessions.update().where(engine_sessions.c.id == never_touched_old)
                 .values(started_at=now - 3600))
    writer.commit()
    assert store.dead_sessions() == sorted([stale, never_touched_old, gone_here])
    assert {fresh, never_touched_new, alive_here}.isdisjoint(store.dead_sessions())
    # A refresh brings it back: it is judged anew each time.
    writer.touch_session(stale, time.time())
    writer.commit()
    assert stale not in store.dead_sessions()


def test_an_engine_takes_over_what_a_gone_engine_on_another_machine_left(db_url, workspace):
    store = Store(db_url)
    writer = Writer(store.engine)
    try:
        gone = writer.open_session(4242, OTHER_HOST)
        left = new_execution(writer, gone, "Calculator")
        writer.set_status(left, "running", time.time(), started=True)
        writer.touch_session(gone, time.time() - 120)
        alive = writer.open_session(4243, OTHER_HOST)
        theirs = new_execution(writer, alive, "Calculator")
        writer.touch_session(alive, time.time())
        writer.commit()
    finally:
        writer.close()
        store.close()
    with Engine(workspace.root, db_url=db_url, options=EngineOptions(warm_workers=1, memory_limit_mb=1024)) as engine:
        record = engine.store.execution(left)
        assert record["status"] == "error" and record["message"].startswith(STOPPED_MESSAGE), record
        assert engine.store.execution(theirs)["status"] == "queued", "a live engine's executions stay its own"
        assert engine.run("Calculator", {"initial_value": 2}, timeout=60)["status"] == "success"


def test_a_running_engine_keeps_its_session_fresh(db_url, workspace):
    with Engine(workspace.root, db_url=db_url, options=EngineOptions(warm_workers=1, memory_limit_mb=1024)) as engine:
        session_id = engine._dispatcher.session_id
        deadline = time.monotonic() + 5
        seen_at = None
        while time.monotonic() < deadline:
            with engine.store.engine.connect() as conn:
                seen_at = conn.execute(sa.select(engine_sessions.c.seen_at)
                                       .where(engine_sessions.c.id == session_id)).scalar()
            if seen_at is not None:
                break
            time.sleep(0.05)
        assert seen_at is not None and abs(time.time() - seen_at) < 5
        assert session_id not in engine.store.dead_sessions(now=time.time() + SESSION_STALE_S - 10)
        assert engine.describe_backend()["runs_on"] == "this machine"


def test_cancel_of_an_execution_whose_engine_on_another_machine_is_gone(store, writer):
    """``flowdesk cancel`` cannot ask an engine that is gone: the execution is ended here, as for
    a gone engine on this machine; a live one on another machine is asked."""
    gone = writer.open_session(4242, OTHER_HOST)
    live = writer.open_session(4243, OTHER_HOST)
    left, running = new_execution(writer, gone), new_execution(writer, live)
    writer.touch_session(gone, time.time() - SESSION_STALE_S - 1)
    writer.touch_session(live, time.time())
    writer.commit()
    assert store.request_cancel(left) == "cancelled"
    assert (store.execution(left)["status"], store.execution(left)["message"]) == ("cancelled", "cancelled by user")
    assert store.request_cancel(running) == "requested"
    assert store.execution(running)["cancel_requested"]
