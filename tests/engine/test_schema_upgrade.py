"""A workspace database made by an older Flowdesk opens in this one, with nothing lost.

``fixtures/schema_0001.db`` is a real database written by Flowdesk at commit eed4de6 (schema
revision 0001, the only migration then). It was made with ``fixtures/make_schema_0001.py``::

    git -C /work/main worktree add /tmp/fd-head eed4de6
    PYTHONPATH=/tmp/fd-head .venv/bin/python tests/engine/fixtures/make_schema_0001.py /tmp/schema_0001.db
    git -C /work/main worktree remove /tmp/fd-head

The script copies ``resources/examples`` to a temp dir, adds a flow ``Log Fields``, opens an
``Engine`` (SQLite), saves the setting ``my-setting``, runs ``Main Process`` (a tree: Calculator and
Messenger children, a message), ``Handle Errors`` (a child, logs), ``my_other_flow_name`` with
``should_fail`` (an error with a traceback), ``Pass a Setting`` (a child that overwrites the
setting with ``'my value'``) and ``Log Fields`` (a log with fields, non-ASCII output), closes the
engine, then checkpoints the WAL, switches the file to journal_mode=DELETE and VACUUMs it (64 KiB).
Never regenerate it with newer code: its point is to be old. The script needs the
`if __name__ == "__main__"` guard because workers start through forkserver.

The expected values below are what that old code's ``Store`` read from the file."""

from __future__ import annotations

import json
import re
import shutil
import sqlite3
from pathlib import Path

import pytest

from engine_core import Engine, EngineOptions, Store
from engine_core.store import migrate
from support import run_cli

FIXTURE = Path(__file__).with_name("fixtures") / "schema_0001.db"
VERSIONS = Path(migrate.__file__).with_name("migrations") / "versions"

# id -> (parent_id, root_id, flow, name, status, inputs, outputs, message)
OLD_EXECUTIONS = {
    1: (None, 1, "Main Process", "Main Process", "success", {}, {}, "all done"),
    2: (1, 1, "Calculator", "calculate new value", "success", {"initial_value": 42}, {"result": 42}, "all done"),
    3: (1, 1, "Messenger", "create message with result", "success", {"message_value": 42}, {}, "all done"),
    4: (None, 4, "Handle Errors", "Handle Errors", "success", {}, {}, "all done"),
    5: (4, 4, "my_other_flow_name", "my_other_flow_name", "success", {}, {}, "all done"),
    6: (None, 6, "my_other_flow_name", "my_other_flow_name", "error", {"should_fail": True}, {},
        "RuntimeError: failing on purpose, as asked by the input should_fail (flow 'my_other_flow_name', line 6)"),
    7: (None, 7, "Pass a Setting", "Pass a Setting", "success", {}, {}, "all done"),
    8: (7, 7, "Setting Writer", "write setting", "success", "<setting input>", {}, "all done"),
    9: (None, 9, "Log Fields", "Log Fields", "success", {}, {"n": 3, "text": "é ✓"}, "logged"),
}
OLD_LOGS = {
    4: [("info", "my_other_flow_name succeeded", None)],
    5: [("info", "my_other_flow_name did its work", None)],
    9: [("info", "größe", {"unit": "mm", "values": [1, 2.5, None]})],
}
OLD_MESSAGES = {3: [("Message", " The value is: 42")]}


def newest_revision() -> str:
    """The head of the migration files, found from the files themselves (not from ``migrate``):
    the revision no other revision names as its ``down_revision``."""
    revisions, parents = set(), set()
    for path in VERSIONS.glob("*.py"):
        text = path.read_text(encoding="utf-8")
        revision = re.search(r'^revision\s*(?::[^=]*)?=\s*["\']([^"\']+)["\']', text, re.M)
        if not revision:
            continue
        revisions.add(revision.group(1))
        down = re.search(r'^down_revision\s*(?::[^=]*)?=\s*(.+)$', text, re.M)
        parents.update(re.findall(r'["\']([^"\']+)["\']', down.group(1)) if down else [])
    heads = revisions - parents
    assert len(heads) == 1, f"the migrations have {len(heads)} heads: {sorted(heads)}"
    return heads.pop()


def old_times(db: Path) -> dict[int, tuple]:
    """created/started/ended of each execution, and the times of logs and messages, read from
    the untouched fixture with plain sqlite3."""
    with sqlite3.connect(db) as conn:
        return {
            "executions": {r[0]: tuple(r[1:]) for r in conn.execute(
                "SELECT id, created_at, started_at, ended_at FROM executions")},
            "logs": {r[0]: r[1] for r in conn.execute("SELECT text, at FROM logs")},
            "messages": {r[0]: r[1] for r in conn.execute("SELECT message, at FROM messages")},
            "tracebacks": {r[0]: r[1] for r in conn.execute("SELECT id, traceback FROM executions")},
        }


@pytest.fixture
def old_db(tmp_path) -> Path:
    copy = tmp_path / "schema_0001.db"
    shutil.copyfile(FIXTURE, copy)
    return copy


def test_fixture_is_small_and_at_revision_0001():
    assert FIXTURE.stat().st_size < 200 * 1024
    with sqlite3.connect(f"file:{FIXTURE}?mode=ro", uri=True) as conn:
        assert conn.execute("SELECT version_num FROM alembic_version").fetchall() == [("0001",)]


def test_old_database_is_migrated_to_the_newest_revision(old_db):
    store = Store(f"sqlite:///{old_db}")
    try:
        assert migrate.current_revision(store.engine) == newest_revision()
    finally:
        store.close()
    # The file on disk says so too, for whoever opens it next.
    with sqlite3.connect(old_db) as conn:
        assert conn.execute("SELECT version_num FROM alembic_version").fetchall() == [(newest_revision(),)]


def test_old_executions_logs_messages_and_settings_read_back_exactly(old_db):
    times = old_times(FIXTURE)
    store = Store(f"sqlite:///{old_db}")
    try:
        records = {r["id"]: r for r in store.executions(limit=100)}
        assert sorted(records) == sorted(OLD_EXECUTIONS)
        for execution_id, (parent, root, flow, name, status, inputs, outputs, message) in OLD_EXECUTIONS.items():
            record = records[execution_id]
            seen = (record["parent_id"], record["root_id"], record["flow"], record["name"], record["status"],
                    record["outputs"], record["message"])
            assert seen == (parent, root, flow, name, status, outputs, message), f"execution #{execution_id}"
            if inputs != "<setting input>":
                assert record["inputs"] == inputs, f"inputs of execution #{execution_id}"
            assert (record["created_at"], record["started_at"], record["ended_at"]) == times["executions"][execution_id]
            assert record["traceback"] == times["tracebacks"][execution_id]
            assert store.execution(execution_id) == record
        # The setting passed to a child survives as a setting reference, not a plain dict.
        setting_input = records[8]["inputs"]["setting"]
        assert type(setting_input).__name__ == "Setting" and repr(setting_input) == "Setting('my-setting')"
        assert "RuntimeError: failing on purpose" in records[6]["traceback"]

        for execution_id in OLD_EXECUTIONS:
            logs = store.logs(execution_id)
            assert [(e["level"], e["text"], e["fields"]) for e in logs] == OLD_LOGS.get(execution_id, [])
            assert [e["at"] for e in logs] == [times["logs"][e["text"]] for e in logs]
            messages = store.messages(execution_id)
            assert [(m["subject"], m["message"]) for m in messages] == OLD_MESSAGES.get(execution_id, [])
            assert [m["at"] for m in messages] == [times["messages"][m["message"]] for m in messages]

        tree = store.tree(1)
        assert [(c["id"], c["flow"], c["status"]) for c in tree["children"]] == \
            [(2, "Calculator", "success"), (3, "Messenger", "success")]
        assert [(m["subject"], m["message"]) for m in tree["children"][1]["messages"]] == OLD_MESSAGES[3]
        assert store.settings() == {"my-setting": "my value"}
    finally:
        store.close()


def test_a_new_flow_runs_on_the_old_database_and_is_stored(old_db, workspace):
    workspace.write_flow("After Upgrade", """
        def handler(system, this, inputs):
            value = system.setting('my-setting').get('value')
            this.log('read the old setting', value=value)
            child = this.flow('Calculator', initial_value=7)
            this.set_output(setting=value, child=child.get('output_value')['result'])
            return this.success('upgraded')
    """)
    with Engine(workspace.root, db_url=f"sqlite:///{old_db}",
                options=EngineOptions(warm_workers=1, memory_limit_mb=1024)) as engine:
        record = engine.run("After Upgrade", timeout=60)
        assert (record["id"], record["status"], record["message"]) == (10, "success", "upgraded")
        assert record["outputs"] == {"setting": "my value", "child": 7}
        tree = engine.tree(10)
        assert [(c["id"], c["flow"], c["outputs"]) for c in tree["children"]] == [(11, "Calculator", {"result": 7})]
        assert [(e["text"], e["fields"]) for e in tree["logs"]] == [("read the old setting", {"value": "my value"})]
        assert sorted(r["id"] for r in engine.store.executions(limit=100)) == list(range(1, 12))
    # Reopened, the new rows are there next to the old ones.
    store = Store(f"sqlite:///{old_db}")
    try:
        assert store.execution(10)["outputs"] == {"setting": "my value", "child": 7}
        assert store.execution(1)["flow"] == "Main Process"
    finally:
        store.close()


def test_head_revision_constant_is_the_newest_migration():
    # Opening a database compares its revision with HEAD_REVISION (without importing Alembic):
    # a new migration file that does not move HEAD_REVISION would never be applied.
    assert migrate.HEAD_REVISION == newest_revision() == migrate.head_revision()


def test_flowdesk_run_migrates_an_old_database_first(old_db, workspace):
    result = run_cli("run", "Calculator", "-w", str(workspace), "--db", f"sqlite:///{old_db}",
                     "-i", "initial_value=5", "--json")
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout)["id"] == 10  # after the old nine
    with sqlite3.connect(old_db) as conn:
        assert conn.execute("SELECT version_num FROM alembic_version").fetchall() == [(newest_revision(),)]
        assert conn.execute("SELECT flow, status FROM executions WHERE id = 1").fetchall() == [("Main Process", "success")]
