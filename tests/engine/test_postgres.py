"""PostgreSQL through a URL, against a real server the test starts with initdb/pg_ctl."""

import time

import pytest

from pg_server import new_database
from support import run_cli_json

pytestmark = pytest.mark.postgres


@pytest.fixture
def postgres_url(postgres_server):
    return new_database(postgres_server)


def test_seed_tree_on_postgresql(workspace, postgres_url):
    code, tree = run_cli_json("run", "Main Process", "-w", str(workspace), "--db", postgres_url)
    assert code == 0
    assert [(c["name"], c["status"]) for c in tree["children"]] == [
        ("calculate new value", "success"), ("create message with result", "success")]
    assert tree["children"][1]["messages"][0]["message"] == " The value is: 42"
    assert not (workspace.root / ".flowdesk" / "flowdesk.db").exists(), "nothing went to SQLite"

    code, tree = run_cli_json("run", "Pass a Setting", "-w", str(workspace), "--db", postgres_url)
    assert code == 0
    from engine_core import Store
    store = Store(postgres_url)
    assert store.dialect == "postgresql"
    assert store.settings() == {"my-setting": "my value"}
    assert [r["flow"] for r in store.executions(roots_only=True)] == ["Pass a Setting", "Main Process"]
    store.close()


def test_failures_and_cancel_on_postgresql(workspace, postgres_url):
    from engine_core import Engine

    workspace.write_flow("my_other_flow_name", """
        def handler(system, this, inputs):
            raise RuntimeError('down')
    """)
    workspace.write_flow("Looper", """
        def handler(system, this, inputs):
            while True:
                pass
    """)
    with Engine(workspace.root, db_url=postgres_url) as engine:
        record = engine.run("Create Child", timeout=20)
        assert record["message"].startswith("child execution 'my_other_flow_name' (#2) failed: RuntimeError: down")
        record = engine.run("Looper", timeout=0.5)
        assert (record["status"], record["message"]) == ("cancelled", "cancelled: timeout after 0.5 s")


def test_locks_forms_and_files_on_postgresql(workspace, postgres_url):
    """The flow API's new tables on PostgreSQL: 4 executions in separate workers add 1 to a
    setting 25 times under acquire/release (the lock row's ON CONFLICT path is PostgreSQL's
    own), a form answered through Engine.respond, list_append."""
    workspace.write_flow("Add", """
        def handler(system, this, inputs):
            counter = system.setting('counter')
            for _ in range(25):
                counter.acquire(timeout=30)
                counter.save(value=counter.get('value') + 1)
                counter.release()
            system.setting('log').list_append(this.get('id'))
    """)
    workspace.write_flow("Ask", """
        def handler(system, this, inputs):
            answer = this.message('Go?', body={'type': 'object', 'properties': {
                'n': {'element': 'number', 'type': 'number', 'label': 'N', 'order': 1},
                'Go': {'element': 'submit', 'type': 'boolean', 'order': 2}}, 'required': ['n']})
            this.set_output(n=answer.get('response')['n'])
    """)
    from engine_core import Engine

    with Engine(workspace.root, db_url=postgres_url) as engine:
        engine.store.save_setting("counter", 0)
        ids = engine.submit_many([("Add", None, None)] * 4)
        records = [engine.wait(i, timeout=120) for i in ids]
        assert [r["status"] for r in records] == ["success"] * 4, [r["message"] for r in records]
        assert engine.store.settings()["counter"] == 100
        assert sorted(engine.store.settings()["log"]) == sorted(ids)
        asking = engine.submit("Ask")
        deadline = time.monotonic() + 30
        while not engine.store.forms(open_only=True) and time.monotonic() < deadline:
            time.sleep(0.05)
        (form,) = engine.store.forms(open_only=True)
        engine.respond(form["id"], {"n": 7, "Go": True})
        record = engine.wait(asking, timeout=30)
    assert (record["status"], record["outputs"]) == ("success", {"n": 7})
