"""The storage of durable executions (issue 13, design §1 and §6), on SQLite and on a real
PostgreSQL server: journal rows written and answered in executemany batches and read back
(Writer.journal_entries as journal_keys.Entry, Store.journal decoded with secret references
shown by name); two engines claiming a dead engine's executions at once get disjoint sets;
locks follow the executions they belong to; prune deletes whole terminal trees (with their
replays and journals) and keeps any tree with an active execution."""

from __future__ import annotations

import json
import threading
import time

import sqlalchemy as sa

from engine_core import Store
from engine_core.journal_keys import Entry
from engine_core.store.schema import engine_sessions, executions, journal, locks, logs, messages, scripts, status_changes
from engine_core.store.durable_writes import SUSPENDED_LOCK_SESSION
from engine_core.store.writer import Writer

SECRET_REF = {"$flowdesk_secret": {"keyring_service": "flowdesk", "key": "work space/db_password"}}
DAY = 86400.0


def new_execution(writer: Writer, session: int, flow: str = "Flow", *, parent: int | None = None,
                  root: int | None = None, durable: bool = True, status: str | None = None,
                  ended_at: float | None = None, **extra) -> int:
    execution_id = writer.create_execution(flow=flow, name=flow, kind="flow", mode="productive", inputs="{}",
                                           parent_id=parent, root_id=root, session_id=session, at=time.time(),
                                           durable=durable, **extra)
    if status is not None:
        writer.set_status(execution_id, status, ended_at or time.time(), started=True,
                          ended=status not in ("queued", "running", "paused"), message=f"{status}!")
        if ended_at is not None:
            writer._exec(executions.update().where(executions.c.id == execution_id).values(ended_at=ended_at))
    return execution_id


def row(execution_id: int, seq: int, op: str = "setting_get", target: str = "x", **extra) -> dict:
    return {"execution_id": execution_id, "seq": seq, "op": op, "target": target, "args_hash": f"{seq:032x}",
            "args": json.dumps({"name": target}), "line": 10 + seq, "called_at": 1000.0 + seq, **extra}


def count(store: Store, table, where=None) -> int:
    query = sa.select(sa.func.count()).select_from(table)
    with store.engine.connect() as conn:
        return conn.execute(query.where(where) if where is not None else query).scalar()


# -- journal rows ------------------------------------------------------------------------------

def test_journal_insert_answer_and_entries_round_trip(store, writer):
    session = writer.open_session(1, "h")
    a = new_execution(writer, session, "A")
    b = new_execution(writer, session, "B")
    writer.journal_insert([
        row(a, 1, "setting_get", "db_password", state="done", ok=True, result=json.dumps(SECRET_REF),
            answered_at=1001.5),
        row(a, 2, "start_flow", "Child", ref=json.dumps({"child": 99})),
        row(b, 1, "sleep", "", ref=json.dumps({"until": 1.7e9})),
    ])
    writer.commit()
    writer.journal_answer([
        {"execution_id": a, "seq": 2, "ok": False, "result": json.dumps(["DependencyFailedError", "boom"]),
         "answered_at": 1010.0},
    ])
    writer.journal_insert([row(a, 3, "file_read", "data.bin", state="done", ok=True,
                               result=json.dumps({"$b64": "AAE="}), answered_at=1011.0)])
    writer.commit()

    entries = writer.journal_entries([a, b, 12345])
    assert entries[12345] == []
    assert all(isinstance(e, Entry) for e in entries[a] + entries[b])
    assert [(e.seq, e.op, e.target, e.state, e.ok) for e in entries[a]] == [
        (1, "setting_get", "db_password", "done", True),
        (2, "start_flow", "Child", "done", False),
        (3, "file_read", "data.bin", "done", True)]
    second = entries[a][1]
    assert (second.args_hash, second.line, second.ref, second.called_at, second.answered_at) == \
        (f"{2:032x}", 12, '{"child": 99}', 1002.0, 1010.0)
    assert json.loads(entries[a][0].result) == SECRET_REF, "the writer hands back references unresolved"
    assert [(e.op, e.state, e.ok, e.result, e.answered_at) for e in entries[b]] == [("sleep", "pending", None, None, None)]

    shown = store.journal(a)
    assert [e["seq"] for e in shown] == [1, 2, 3]
    assert shown[0]["result"] == "<secret setting 'db_password'>"
    assert shown[0]["args"] == {"name": "db_password"} and shown[0]["ok"] is True
    assert shown[1]["ref"] == {"child": 99} and shown[1]["ok"] is False
    assert shown[1]["result"] == ["DependencyFailedError", "boom"]
    assert shown[2]["result"] == {"$b64": "AAE="}
    assert store.journal(a, references=True)[0]["result"] == SECRET_REF

    assert writer.journal_delete(a, from_seq=2) == 2
    writer.commit()
    assert [e.seq for e in writer.journal_entries([a])[a]] == [1]


def test_a_rolled_back_round_loses_its_journal_rows_and_scripts(store, writer):
    session = writer.open_session(1, "h")
    a = new_execution(writer, session)
    writer.commit()
    writer.journal_insert([row(a, 1)])
    writer.script_put("f" * 64, "def handler(system, this, inputs): pass\n")
    writer.rollback()
    assert writer.journal_entries([a])[a] == [] and store.script("f" * 64) is None
    writer.script_put("f" * 64, "def handler(system, this, inputs): pass\n")  # not cached: stored now
    writer.script_put("f" * 64, "ignored: same sha")
    writer.commit()
    assert store.script("f" * 64) == "def handler(system, this, inputs): pass\n"
    assert count(store, scripts) == 1


def test_execution_columns_logs_after_seq_resumed_and_tree(store, writer):
    session = writer.open_session(1, "h")
    writer.script_put("a" * 64, "code")
    root = new_execution(writer, session, "Root", script_sha="a" * 64)
    child = new_execution(writer, session, "Child", parent=root, root=root, durable=False)
    replay = new_execution(writer, session, "Root", durable=False, replay_of=root)
    writer.append_log(root, 1.0, "info", "before any call", None)
    writer.append_log(root, 2.0, "info", "after call 3", None, after_seq=3)
    writer.mark_resumed(root, 50.0, 12.5)
    writer.mark_resumed(root, 90.0, 0.5)
    writer.commit()

    record = store.execution(root)
    assert (record["durable"], record["replay_of"], record["resumed_at"], record["lost_s"], record["script_sha"]) == \
        (True, None, 90.0, 13.0, "a" * 64)
    assert store.execution(child)["durable"] is False
    assert store.replays(root) == [replay] and store.replays(child) == []
    with store.engine.connect() as conn:
        assert conn.execute(sa.select(logs.c.text, logs.c.after_seq).where(logs.c.execution_id == root)
                            .order_by(logs.c.id)).all() == [("before any call", None), ("after call 3", 3)]
    writer.append_log(child, 3.0, "info", "before any call", None)
    writer.append_log(root, 4.0, "info", "after call 3 too", None, after_seq=3)
    writer.append_log(root, 5.0, "info", "after call 2?", None, after_seq=2)
    assert writer.notes_after({root: 3, child: 0, replay: 5}) == {root: 2, child: 1, replay: 0}
    writer.commit()
    tree = store.tree(root)
    assert (tree["durable"], tree["replay_of"], tree["resumed_at"], tree["lost_s"]) == (True, None, 90.0, 13.0)
    assert (tree["children"][0]["durable"], tree["children"][0]["lost_s"]) == (False, None)
    assert store.tree(replay)["replay_of"] == root


# -- orphans, sessions, locks ------------------------------------------------------------------

def orphan_world(store: Store, writer: Writer) -> dict:
    """A dead session with active and ended executions, a lock held by an active one and one
    by an ended one; a live session with its own; rows of no registered session."""
    dead = writer.open_session(999_999, "h")
    live = writer.open_session(1, "h")
    active = [new_execution(writer, dead, f"D{i}", status=("running", "paused", "queued")[i % 3]) for i in range(60)]
    ended = new_execution(writer, dead, "Ended", status="success")
    mine = new_execution(writer, live, "Live", status="running")
    writer.lock_insert("held", active[0], dead, 1.0)
    writer.lock_insert("stale", ended, dead, 1.0)
    writer.lock_insert("live lock", mine, live, 1.0)
    # A clean shutdown's suspended executions: their session row is gone, a lock kept.
    closed = writer.open_session(2, "h")
    suspended = [new_execution(writer, closed, f"S{i}", status="running") for i in range(5)]
    writer.lock_insert("suspended lock", suspended[0], closed, 1.0)
    writer.commit()
    writer.close_session(closed, keep_locks_of=[suspended[0]])
    writer.commit()
    with store.engine.begin() as conn:  # a row whose session was never committed
        nobody = conn.execute(executions.insert().values(flow="N", name="N", status="running", created_at=1.0,
                                                         engine_session_id=None, durable=True)
                              .returning(executions.c.id)).scalar()
    return dict(dead=dead, live=live, active=active, ended=ended, mine=mine, suspended=suspended, nobody=nobody)


def test_close_session_keeps_the_locks_of_suspended_executions(store, writer):
    world = orphan_world(store, writer)
    with store.engine.connect() as conn:
        held = dict(conn.execute(sa.select(locks.c.name, locks.c.session_id)).all())
    assert held["suspended lock"] == SUSPENDED_LOCK_SESSION
    assert held["held"] == world["dead"] and held["live lock"] == world["live"]


def test_claim_adopt_and_end_orphans(store, writer):
    world = orphan_world(store, writer)
    new = writer.open_session(3, "h")
    writer.commit()
    claimed = writer.claim_orphans(new, [world["dead"]])
    writer.commit()
    expected = sorted(world["active"] + world["suspended"] + [world["nobody"]])
    assert [r["id"] for r in claimed] == expected
    assert {r["engine_session_id"] for r in claimed} == {new}
    by_id = {r["id"]: r for r in claimed}
    assert by_id[world["active"][1]]["status"] == "paused" and by_id[world["active"][0]]["durable"] in (True, 1)
    # The dead session is gone with its stale lock; the live one is untouched.
    with store.engine.connect() as conn:
        assert sorted(conn.execute(sa.select(engine_sessions.c.id)).scalars()) == [world["live"], new]
        assert conn.execute(sa.select(executions.c.engine_session_id).where(executions.c.id == world["mine"])).scalar() \
            == world["live"]
        assert sorted(conn.execute(sa.select(locks.c.name)).scalars()) == ["held", "live lock", "suspended lock"]

    adopted = writer.adopt_locks(new, expected)
    writer.commit()
    assert adopted == [("held", world["active"][0]), ("suspended lock", world["suspended"][0])]
    assert writer.adopt_locks(new + 1, expected) == [], "a live session's locks are not taken"
    assert writer.claim_orphans(new + 1, []) == [], "nothing left to claim"

    ended = writer.end_orphans(world["suspended"] + [world["ended"]], "error", "engine stopped while running (x)")
    writer.commit()
    assert ended == sorted(world["suspended"])
    record = store.execution(world["suspended"][0])
    assert (record["status"], record["message"]) == ("error", "engine stopped while running (x)")
    assert record["ended_at"] is not None
    assert store.execution(world["ended"])["message"] == "success!", "an ended execution is not ended again"
    with store.engine.connect() as conn:
        assert sorted(conn.execute(sa.select(locks.c.name)).scalars()) == ["held", "live lock"]
        assert conn.execute(sa.select(sa.func.count()).where(status_changes.c.execution_id == world["suspended"][1],
                                                             status_changes.c.status == "error")).scalar() == 1


def test_two_engines_claiming_at_once_get_disjoint_sets(store):
    setup = Writer(store.engine)
    world = orphan_world(store, setup)
    setup.close()
    orphans = sorted(world["active"] + world["suspended"] + [world["nobody"]])
    writers = [Writer(store.engine) for _ in range(2)]
    sessions = []
    for w in writers:
        sessions.append(w.open_session(3, "h"))
        w.commit()
    barrier = threading.Barrier(2)
    results: dict[int, list[int]] = {}
    errors = []

    def claim(i: int) -> None:
        try:
            barrier.wait()
            rows = writers[i].claim_orphans(sessions[i], [world["dead"]])
            time.sleep(0.05)  # hold the transaction open while the other engine claims
            writers[i].commit()
            results[i] = [r["id"] for r in rows]
        except Exception as exc:  # pragma: no cover - shown by the assert below
            errors.append(exc)

    threads = [threading.Thread(target=claim, args=(i,)) for i in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(30)
    for w in writers:
        w.close()
    assert not errors, errors
    assert not set(results[0]) & set(results[1]), "an execution was claimed by both engines"
    assert sorted(results[0] + results[1]) == orphans
    with store.engine.connect() as conn:
        owners = dict(conn.execute(sa.select(executions.c.id, executions.c.engine_session_id)
                                   .where(executions.c.id.in_(orphans))).all())
    for i in range(2):
        assert {owners[e] for e in results[i]} <= {sessions[i]}


def test_dead_sessions_are_this_hosts_engines_that_are_gone(store, writer):
    import socket

    import os

    here = socket.gethostname()
    gone = writer.open_session(2 ** 22 + 12345, here)  # no such process
    alive = writer.open_session(os.getpid(), here)
    elsewhere = writer.open_session(2 ** 22 + 12345, here + "-other")
    writer.commit()
    assert store.dead_sessions() == [gone]
    assert {alive, elsewhere}.isdisjoint(store.dead_sessions())


# -- prune -------------------------------------------------------------------------------------

def prune_world(store: Store, writer: Writer) -> dict:
    now = time.time()
    old, new = now - 40 * DAY, now - 1 * DAY
    session = writer.open_session(1, "h")
    writer.script_put("0" * 64, "old code")
    writer.script_put("1" * 64, "still used")
    with_children = []
    for i in range(3):  # old, ended trees: pruned
        root = new_execution(writer, session, f"Old{i}", status="success", ended_at=old, script_sha="0" * 64)
        child = new_execution(writer, session, "Kid", parent=root, root=root, status="success", ended_at=old)
        grandchild = new_execution(writer, session, "Grandkid", parent=child, root=root, status="error", ended_at=old)
        with_children.append((root, child, grandchild))
        writer.journal_insert([row(root, 1, "start_flow", "Kid", state="done", ok=True, result='{"id": 1}',
                                   answered_at=2.0), row(child, 1), row(child, 2)])
        writer.append_log(grandchild, old, "info", "hello", '{"a": 1}')
        writer.append_message(child, old, "subject", "text")
    # An old tree with a descendant still running (a paused form, a long child): kept whole.
    busy = new_execution(writer, session, "Busy", status="success", ended_at=old)
    busy_child = new_execution(writer, session, "Busy child", parent=busy, root=busy, status="paused")
    writer.journal_insert([row(busy, 1), row(busy_child, 1)])
    # A recent tree: kept.
    recent = new_execution(writer, session, "Recent", status="success", ended_at=new, script_sha="1" * 64)
    writer.journal_insert([row(recent, 1)])
    # A recent replay of an old tree: pruned with it. A running root: kept.
    replay = new_execution(writer, session, "Old0", durable=False, replay_of=with_children[0][0], status="error",
                           ended_at=new)
    replay_child = new_execution(writer, session, "Kid", durable=False, parent=replay, root=replay,
                                 replay_of=with_children[0][1], status="success", ended_at=new)
    running = new_execution(writer, session, "Running", status="running")
    writer.commit()
    with store.engine.begin() as conn:  # the old script was stored long ago
        conn.execute(scripts.update().values(created_at=old))
    pruned = [e for tree in with_children for e in tree] + [replay, replay_child]
    return dict(pruned=pruned, kept=[busy, busy_child, recent, running], replay=replay)


def test_prune_dry_run_then_prune_deletes_old_trees_with_their_replays(store, writer):
    world = prune_world(store, writer)
    before = {t.name: count(store, t) for t in (executions, journal, logs, messages, status_changes, scripts)}
    dry = store.prune(30 * DAY, dry_run=True, batch=2)
    assert {t.name: count(store, t) for t in (executions, journal, logs, messages, status_changes, scripts)} == before
    report = store.prune(30 * DAY, batch=2)
    assert dry._replace(dry_run=False) == report
    assert (report.roots, report.replays, report.executions, report.journal_entries, report.logs, report.messages,
            report.scripts) == (4, 1, 11, 9, 3, 3, 1)
    assert report.bytes > 0
    remaining = sorted(r["id"] for r in store.executions(limit=1000))
    assert remaining == sorted(world["kept"])
    assert count(store, journal) == 3 and count(store, logs) == 0 and count(store, messages) == 0
    assert count(store, status_changes, status_changes.c.execution_id.in_(world["pruned"])) == 0
    with store.engine.connect() as conn:
        assert list(conn.execute(sa.select(scripts.c.sha)).scalars()) == ["1" * 64]
    assert store.prune(30 * DAY) == store.prune(30 * DAY, dry_run=True)._replace(dry_run=False)
    assert store.prune(30 * DAY).executions == 0


def test_prune_journals_only_keeps_the_executions(store, writer):
    world = prune_world(store, writer)
    report = store.prune(30 * DAY, journals_only=True)
    assert (report.roots, report.executions, report.journal_entries, report.logs, report.scripts) == (3, 6, 9, 0, 0)
    assert count(store, journal) == 3  # the busy tree's two and the recent one
    assert sorted(r["id"] for r in store.executions(limit=1000)) == sorted(world["pruned"] + world["kept"])
    assert count(store, logs) == 3
    assert store.prune(30 * DAY, journals_only=True).journal_entries == 0
    assert store.prune(0.0, journals_only=True, dry_run=True).journal_entries == 1  # the recent one


def test_vacuum_runs(store, writer):
    prune_world(store, writer)
    store.prune(30 * DAY)
    store.vacuum()
