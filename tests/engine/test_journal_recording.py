"""Recording durable executions (issue 13): every flow API call of a durable execution is
journaled with its answer, in the commit that makes its state change (runtime/journal.py).

The flows run in the real engine; the tests read the ``journal`` table as the next engine
(resume) and ``flowdesk show --journal`` would."""

from __future__ import annotations

import json
import time

import pytest
import sqlalchemy as sa
from api_support import WAIT_S, EventLog
from support import wait_until

from engine_core import Engine, EngineOptions
from engine_core.vcs import secrets as vcs_secrets


def journal_rows(engine, execution_id: int) -> list[dict]:
    with engine.store.engine.connect() as conn:
        rows = conn.execute(sa.text("SELECT * FROM journal WHERE execution_id = :e ORDER BY seq"), {"e": execution_id})
        return [dict(r._mapping) for r in rows]


def durable_flag(engine, execution_id: int) -> bool:
    with engine.store.engine.connect() as conn:
        return bool(conn.execute(sa.text("SELECT durable FROM executions WHERE id = :e"), {"e": execution_id}).scalar())


CHILD = """
def handler(system, this, inputs):
    this.set_output(doubled=inputs['n'] * 2)
    return this.success('doubled')
"""

CALLS = """
def handler(system, this, inputs):
    system.setting('stage').save(value='one')
    stage = system.setting('stage').get('value')
    system.file('notes.txt').save(b'hello')
    data = system.file('notes.txt').get()
    child = this.flow('Double', n=21)
    doubled = child.get('output_value')['doubled']
    this.log(f'{stage} {data!r} {doubled}')
    this.set_output(doubled=doubled)
    return this.success('all done')
"""


def test_each_call_is_journaled_in_order_with_its_result(engine, workspace):
    workspace.write_flow("Double", CHILD)
    workspace.write_flow("Calls", CALLS)
    record = engine.run("Calls", timeout=WAIT_S)
    assert record["status"] == "success", record["message"]
    assert durable_flag(engine, record["id"])
    rows = journal_rows(engine, record["id"])
    child = json.loads(rows[4]["result"])
    assert [(r["seq"], r["op"], r["target"]) for r in rows] == [
        (1, "setting_save", "stage"), (2, "setting_get", "stage"), (3, "file_write", "notes.txt"),
        (4, "file_read", "notes.txt"), (5, "start_flow", "Double"), (6, "get", f"{child['id']}:output_value"),
    ]
    assert all(r["state"] == "done" and r["ok"] for r in rows), rows
    assert [r["line"] for r in rows] == [2, 3, 4, 5, 6, 7]  # the lines that made the calls (the body starts at line 1)
    assert json.loads(rows[1]["result"]) == json.dumps("one")  # setting_get answers the value's JSON text
    assert json.loads(rows[3]["result"]) == {"$b64": "aGVsbG8="}
    assert child["status"] == "success" and child["message"] == "doubled"
    assert json.loads(rows[4]["ref"]) == {"child": child["id"]}
    assert json.loads(json.loads(rows[5]["result"])["output_value"]) == {"doubled": 42}
    assert all(r["called_at"] <= r["answered_at"] for r in rows)
    with engine.store.engine.connect() as conn:
        # The log line says after which call it was written (a resume skips lines it has).
        assert conn.execute(sa.text("SELECT after_seq FROM logs WHERE execution_id = :e"),
                            {"e": record["id"]}).scalar() == 6
        # The code it ran is stored once, by its sha.
        sha = conn.execute(sa.text("SELECT script_sha FROM executions WHERE id = :e"), {"e": record["id"]}).scalar()
        text = conn.execute(sa.text("SELECT text FROM scripts WHERE sha = :s"), {"s": sha}).scalar()
    assert text == (workspace.root / "flows" / "Calls.py").read_text(encoding="utf-8")


FAILING_CALL = """
def handler(system, this, inputs):
    try:
        system.setting('no such setting').get('value')
    except Exception as exc:
        this.log(type(exc).__name__)
    return this.success('went on')
"""


def test_an_error_answer_is_journaled_as_the_error(engine, workspace):
    workspace.write_flow("Failing", FAILING_CALL)
    record = engine.run("Failing", timeout=WAIT_S)
    assert record["status"] == "success", record["message"]
    (row,) = journal_rows(engine, record["id"])
    assert row["op"] == "setting_get" and row["state"] == "done" and not row["ok"]
    name, message = json.loads(row["result"])
    assert name == "ResourceNotFoundError" and "no setting 'no such setting'" in message


SLOW = """
def handler(system, this, inputs):
    while not system.setting('slow may end').exists():
        this.sleep(0.05)
    return this.success('slow done')
"""

WAITS_FOR_CHILD = """
def handler(system, this, inputs):
    child = this.flow('Slow', wait=False)
    this.log('started')
    child.wait(timeout=120)
    return this.success('waited')
"""

FORM = """
def handler(system, this, inputs):
    answer = this.message('Approve?', body={'type': 'object', 'properties': {'ok': {'type': 'boolean'}}})
    return this.success(f"answered {answer.get('response')['ok']}")
"""

LOCKER = """
def handler(system, this, inputs):
    system.setting('the lock').acquire(timeout=120)
    system.setting('the lock').release()
    return this.success('had it')
"""


def test_a_deferred_call_records_what_it_waits_on_then_its_answer(engine, workspace):
    events = EventLog(engine)
    workspace.write_flow("Slow", SLOW)
    workspace.write_flow("WaitsForChild", WAITS_FOR_CHILD)
    waiting = engine.submit("WaitsForChild")
    events.wait_log(waiting, "started")
    pending = wait_until(lambda: [r for r in journal_rows(engine, waiting) if r["op"] == "wait"],
                         what="journaled wait", interval=0.02)[0]
    assert pending["state"] == "pending" and pending["result"] is None
    ref = json.loads(pending["ref"])
    child_id = json.loads(journal_rows(engine, waiting)[0]["result"])["id"]
    assert ref["ids"] == [child_id] and ref["deadline"] == pytest.approx(time.time() + 120, abs=10)

    # A form: the pending call names the message it waits for.
    workspace.write_flow("Form", FORM)
    asking = engine.submit("Form")
    form = events.wait_form(asking)
    row = wait_until(lambda: [r for r in journal_rows(engine, asking) if r["op"] == "message_wait"],
                     what="form wait", interval=0.02)[0]
    assert row["state"] == "pending" and json.loads(row["ref"]) == {"message": form.message_id}

    # A lock held by another: the pending acquire names the lock.
    workspace.write_flow("Locker", LOCKER)
    engine.store.save_setting("the lock", 0)
    with engine.store.engine.begin() as conn:  # another (live) engine session holds it
        conn.execute(sa.text("INSERT INTO locks (name, execution_id, session_id, acquired_at) "
                             "VALUES ('the lock', :e, :s, 0)"), {"e": asking, "s": engine._dispatcher.session_id})
    locker = engine.submit("Locker")
    row = wait_until(lambda: journal_rows(engine, locker), what="lock row", interval=0.02)[0]
    assert (row["op"], row["state"], json.loads(row["ref"])) == ("lock_acquire", "pending", {"lock": "the lock"})

    # Answers: the child ends, the form is answered, the lock freed.
    engine.store.save_setting("slow may end", True)
    assert engine.wait(waiting, timeout=WAIT_S)["status"] == "success"
    done = [r for r in journal_rows(engine, waiting) if r["op"] == "wait"][0]
    assert done["state"] == "done" and done["ok"] and done["ref"] == pending["ref"]
    assert [s["status"] for s in json.loads(done["result"])] == ["success"]
    engine.respond(form.message_id, {"ok": True})
    assert engine.wait(asking, timeout=WAIT_S)["message"] == "answered True"
    answered = [r for r in journal_rows(engine, asking) if r["op"] == "message_wait"][0]
    assert answered["state"] == "done" and json.loads(answered["result"])["response"] == {"ok": True}
    with engine.store.engine.begin() as conn:
        conn.execute(sa.text("DELETE FROM locks WHERE name = 'the lock'"))
    assert engine.wait(locker, timeout=WAIT_S)["status"] == "success"
    assert [(r["op"], r["state"]) for r in journal_rows(engine, locker)] == [
        ("lock_acquire", "done"), ("lock_release", "done")]


def test_a_round_that_rolls_back_leaves_no_journal_row(engine, workspace):
    flow = """
def handler(system, this, inputs):
    system.setting('before').save(value=1)
    system.setting('boom').save(value=2)
    return this.success('never')
"""
    workspace.write_flow("Boom", flow)
    writer = engine._dispatcher.writer
    real_insert = writer.journal_insert
    failed = []

    def failing_insert(rows):
        if not failed and any(r["target"] == "boom" for r in rows):
            failed.append(rows)
            raise RuntimeError("the database went away")
        real_insert(rows)

    writer.journal_insert = failing_insert
    execution_id = engine.submit("Boom")
    wait_until(lambda: failed, what="the failing round", interval=0.02)
    time.sleep(0.3)
    rows = journal_rows(engine, execution_id)
    assert [(r["op"], r["target"]) for r in rows] == [("setting_save", "before")]
    assert "boom" not in engine.store.settings()  # its state change rolled back with it
    engine.cancel(execution_id)
    assert engine.wait(execution_id, timeout=WAIT_S)["status"] == "cancelled"
    assert [r["target"] for r in journal_rows(engine, execution_id)] == ["before"]


SECRET = "s3cret-Value-9876"

USES_SECRET = """
def handler(system, this, inputs):
    password = system.setting('db_password').get('value')
    system.setting('copy').save(value={'dsn': 'postgres://app:' + password + '@db/app'})
    this.log('using ' + password)
    return this.success('ok')
"""


def test_a_secret_setting_is_journaled_as_its_reference_never_in_clear(engine, workspace):
    (workspace.root / "settings").mkdir(exist_ok=True)
    (workspace.root / "settings" / "db_password.json").write_text(vcs_secrets.reference_text("db_password"))
    engine.store.save_setting("db_password", SECRET)
    workspace.write_flow("UsesSecret", USES_SECRET)
    record = engine.run("UsesSecret", timeout=WAIT_S)
    assert record["status"] == "success", record["message"]
    rows = journal_rows(engine, record["id"])
    assert json.loads(rows[0]["result"]) == {vcs_secrets.REFERENCE_KEY: {"keyring_service": vcs_secrets.SERVICE,
                                                                          "key": "db_password"}}
    assert SECRET not in json.dumps(rows) and "********" in rows[1]["args"]
    with engine.store.engine.connect() as conn:
        logs = [r[0] for r in conn.execute(sa.text("SELECT text FROM logs WHERE execution_id = :e"),
                                           {"e": record["id"]})]
    assert logs and not any(SECRET in text for text in logs)


SLEEPER = """
def handler(system, this, inputs):
    this.log('sleeping')
    this.sleep(inputs['s'])
    return this.success('slept')
"""


def test_sleep_parks_in_the_engine_without_holding_a_worker_slot_and_is_cancellable(workspace):
    workspace.write_flow("Sleeper", SLEEPER)
    workspace.write_flow("Quick", "def handler(system, this, inputs):\n    return this.success('quick')\n")
    options = EngineOptions(warm_workers=0, max_workers=1, memory_limit_mb=1024, cancel_grace_s=5)
    with Engine(workspace.root, options=options) as engine:
        short = engine.run("Sleeper", {"s": 0.3}, timeout=WAIT_S)
        assert short["status"] == "success"
        (row,) = journal_rows(engine, short["id"])
        assert row["op"] == "sleep" and row["state"] == "done"
        until = json.loads(row["ref"])["until"]
        assert row["answered_at"] >= until - 0.01  # woken at its wall-clock deadline
        assert until - row["called_at"] == pytest.approx(0.3, abs=0.05)

        events = EventLog(engine)
        sleeper = engine.submit("Sleeper", {"s": 600})
        events.wait_log(sleeper, "sleeping")
        wait_until(lambda: journal_rows(engine, sleeper), what="the pending sleep", interval=0.02)
        # The only worker slot is free while it sleeps: another execution runs meanwhile.
        assert engine.run("Quick", timeout=WAIT_S)["status"] == "success"
        started = time.monotonic()
        engine.cancel(sleeper)
        record = engine.wait(sleeper, timeout=WAIT_S)
        assert record["status"] == "cancelled" and time.monotonic() - started < 4


def test_executions_are_not_durable_when_resume_is_off(workspace):
    workspace.write_flow("Reads", "def handler(system, this, inputs):\n    system.setting('x').exists()\n"
                                  "    return this.success('ok')\n")
    workspace.write_flow("OptsOut", "FLOWDESK_RESUME = False\n\ndef handler(system, this, inputs):\n"
                                    "    system.setting('x').exists()\n    return this.success('ok')\n")
    options = EngineOptions(warm_workers=1, memory_limit_mb=1024)
    with Engine(workspace.root, options=options) as engine:
        opted_out = engine.run("OptsOut", timeout=WAIT_S)
        assert not durable_flag(engine, opted_out["id"]) and journal_rows(engine, opted_out["id"]) == []
        assert durable_flag(engine, engine.run("Reads", timeout=WAIT_S)["id"])
    with Engine(workspace.root, options=EngineOptions(warm_workers=1, memory_limit_mb=1024, journal=False)) as engine:
        record = engine.run("Reads", timeout=WAIT_S)
        assert not durable_flag(engine, record["id"]) and journal_rows(engine, record["id"]) == []
    config = workspace.root / ".flowdesk" / "config.toml"
    config.parent.mkdir(exist_ok=True)
    config.write_text("[executions]\nresume = false\n")
    with Engine(workspace.root, options=options) as engine:
        record = engine.run("Reads", timeout=WAIT_S)
        assert not durable_flag(engine, record["id"]) and journal_rows(engine, record["id"]) == []
