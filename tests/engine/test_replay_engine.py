"""Replaying a stored execution (Engine.replay, runtime/ops/replay.py): every flow API call is
answered from the original's journal, so a failure reproduces with the outside changed or gone,
and nothing of the original is written. The debugger's side (DAP breakpoints, Step In) is
tests/debug/test_replay_debug.py."""

from __future__ import annotations

import pytest

from engine_core import events as ev
from engine_core.errors import UsageError
from support import QuietHandler, send_json


class _Failing(QuietHandler):
    hits: list = []

    def do_GET(self):
        type(self).hits.append(self.path)
        data = b'{"error": "boom"}'
        send_json(self, 500, data)


FAILING = """
def handler(system, this, inputs):
    target = system.setting('target').get('value')
    this.set_output(target=target)
    this.log('calling ' + target)
    this.connect('REST', url=inputs['url'] + target)
    this.set_output(after=True)
"""


def _snapshot(engine, execution_id):
    row = engine.store.execution(execution_id)
    return row, engine.store.logs(execution_id), engine.store.journal(execution_id)


@pytest.fixture(params=["sqlite", "postgres"])
def any_engine(request, workspace):
    """An engine on the workspace's SQLite, or on a new database of a real PostgreSQL server."""
    from engine_core import Engine, EngineOptions

    db_url = None
    if request.param == "postgres":
        from pg_server import new_database

        db_url = new_database(request.getfixturevalue("postgres_server"))
    with Engine(workspace.root, db_url=db_url, options=EngineOptions(warm_workers=2, memory_limit_mb=1024)) as running:
        yield running


def test_replay_reproduces_a_failure_from_the_journal(any_engine, workspace):
    from support import serving_http

    engine = any_engine

    workspace.write_flow("Failing", FAILING)
    engine.store.save_setting("target", "/first")
    handler = type("Fail", (_Failing,), {"hits": []})
    with serving_http(handler) as server:
        url = f"http://127.0.0.1:{server.server_address[1]}"
        original = engine.run("Failing", {"url": url}, timeout=30)
    assert original["status"] == "error", original
    assert "HTTP 500" in original["message"], original
    assert handler.hits == ["/first"]
    # The outside changes: the server is gone, the setting has another value.
    engine.store.save_setting("target", "/second")
    before = _snapshot(engine, original["id"])
    settings_before = engine.store.settings()

    events = []
    engine.subscribe(events.append)
    replay_id = engine.replay(original["id"], debug=False)
    replay = engine.wait(replay_id, timeout=30)

    assert replay["replay_of"] == original["id"]
    assert replay["name"] == f"Failing (replay of #{original['id']})"
    assert replay["status"] == "error"
    assert replay["message"].replace(f"#{replay_id}", "#X") == original["message"].replace(f"#{original['id']}", "#X") \
        or replay["message"].split(":")[0] == original["message"].split(":")[0], (replay["message"], original["message"])
    assert "HTTP 500" in replay["message"]
    assert replay["outputs"] == {"target": "/first"}, "the recorded setting value, on the replay's row"
    assert [e["text"] for e in engine.store.logs(replay_id)] == ["calling /first"]
    assert handler.hits == ["/first"], "nothing was sent again"
    # The original is untouched, and so are the settings.
    assert _snapshot(engine, original["id"]) == before
    assert engine.store.settings() == settings_before
    assert not engine.store.journal(replay_id), "a replay is not journaled"
    assert not any(isinstance(e, ev.JournalEnded) for e in events)
    assert engine.store.execution(replay_id)["durable"] in (False, 0)


def test_a_replay_stores_its_own_outputs_and_logs(engine, workspace):
    workspace.write_flow("Noting", """
        def handler(system, this, inputs):
            value = system.setting('target').get('value')
            this.set_output(target=value)
            this.log('read ' + value)
            system.setting('target').exists()
    """)
    engine.store.save_setting("target", "/first")
    original = engine.run("Noting", timeout=30)
    engine.store.save_setting("target", "/second")
    replay = engine.wait(engine.replay(original["id"], debug=False), timeout=30)
    assert replay["status"] == "success", replay
    assert replay["outputs"] == {"target": "/first"}, "the recorded setting value, on the replay's row"
    assert [e["text"] for e in engine.store.logs(replay["id"])] == ["read /first"]
    assert engine.store.execution(original["id"])["outputs"] == {"target": "/first"}


CHILDREN_PARENT = """
def handler(system, this, inputs):
    child = this.flow('Kid', n=inputs['n'])
    this.set_output(kid=child.get('output_value'))
"""

CHILDREN_KID = """
def handler(system, this, inputs):
    with open({marker!r}, 'a') as f:
        f.write('kid %s\\n' % this.get('id'))
    system.setting('kid_value').save(value=inputs['n'] * 10)
    this.set_output(doubled=system.setting('kid_value').get('value'))
"""


def test_replay_runs_a_recorded_child_against_its_own_journal(engine, workspace, tmp_path):
    marker = tmp_path / "kid.txt"
    workspace.write_flow("Parent", CHILDREN_PARENT)
    workspace.write_flow("Kid", CHILDREN_KID.format(marker=str(marker)))
    original = engine.run("Parent", {"n": 4}, timeout=30)
    assert original["status"] == "success" and original["outputs"] == {"kid": {"doubled": 40}}
    engine.store.save_setting("kid_value", -1)
    replay_id = engine.replay(original["id"], debug=False)
    replay = engine.wait(replay_id, timeout=30)
    assert replay["status"] == "success", replay
    assert replay["outputs"] == {"kid": {"doubled": 40}}
    assert engine.store.settings()["kid_value"] == -1, "the child's setting write was answered, not made"
    tree = engine.tree(replay_id)
    (kid,) = tree["children"]
    original_kid = engine.tree(original["id"])["children"][0]
    assert kid["flow"] == "Kid" and kid["status"] == "success"
    assert engine.store.execution(kid["id"])["replay_of"] == original_kid["id"]
    # The child's handler ran again (code between calls runs), under the replay's child.
    assert marker.read_text().count("kid") == 2


EDITED = """
def handler(system, this, inputs):
    system.setting('seen').save(value=1)
    system.setting('extra').save(value='live')
    this.set_output(done=True)
"""


def _edited_replay(engine, workspace):
    workspace.write_flow("Short", """
        def handler(system, this, inputs):
            system.setting('seen').save(value=1)
    """)
    original = engine.run("Short", timeout=30)
    assert original["status"] == "success"
    workspace.write_flow("Short", EDITED)
    events = []
    engine.subscribe(events.append)
    replay_id = engine.replay(original["id"], debug=False)
    ended = _wait_event(events, lambda e: isinstance(e, ev.JournalEnded) and e.id == replay_id)
    return original, replay_id, ended


def _wait_event(events, match, timeout=20.0):
    import time

    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        found = [e for e in list(events) if match(e)]
        if found:
            return found[0]
        time.sleep(0.02)
    raise AssertionError(f"no such event: {events}")


def test_journal_end_pauses_then_stop(engine, workspace):
    original, replay_id, ended = _edited_replay(engine, workspace)
    assert (ended.seq, ended.line) == (2, 3)
    assert ended.message == "replay reached the end of the recording at call 2 (line 3): the recording ends here"
    row = engine.store.execution(replay_id)
    assert (row["status"], row["message"]) == ("paused", None) or row["status"] == "paused"
    engine.continue_replay(replay_id, live=False)
    record = engine.wait(replay_id, timeout=20)
    assert (record["status"], record["message"]) == ("cancelled", "replay stopped at the end of the recording")
    assert "extra" not in engine.store.settings()


def test_journal_end_then_continue_live(engine, workspace):
    original, replay_id, ended = _edited_replay(engine, workspace)
    assert engine.continue_replay(replay_id, live=True) == "running"
    record = engine.wait(replay_id, timeout=20)
    assert record["status"] == "success", record
    assert record["outputs"] == {"done": True}
    assert engine.store.settings()["extra"] == "live", "after the recording, calls act for real"
    with pytest.raises(UsageError):
        engine.continue_replay(replay_id, live=True)


def test_replay_refuses_what_it_cannot_replay(engine, workspace):
    workspace.write_flow("Opted", """
        FLOWDESK_RESUME = False
        def handler(system, this, inputs):
            pass
    """)
    not_durable = engine.run("Opted", timeout=30)
    with pytest.raises(UsageError, match="has no journal to replay"):
        engine.replay(not_durable["id"], debug=False)
    with pytest.raises(LookupError):
        engine.replay(99999, debug=False)
    workspace.write_flow("Slow", """
        def handler(system, this, inputs):
            this.sleep(5)
    """)
    running = engine.submit("Slow")
    with pytest.raises(UsageError, match="replay it once it has ended"):
        engine.replay(running, debug=False)
    engine.cancel(running)


def test_replay_with_the_recorded_code(engine, workspace):
    workspace.write_flow("Short", """
        def handler(system, this, inputs):
            system.setting('seen').save(value=1)
            this.set_output(version=1)
    """)
    original = engine.run("Short", timeout=30)
    assert original["status"] == "success"
    workspace.write_flow("Short", EDITED)  # the file changed since: its calls differ
    replay = engine.wait(engine.replay(original["id"], debug=False, recorded_code=True), timeout=30)
    assert replay["status"] == "success", replay
    assert replay["outputs"] == {"version": 1}
    assert "extra" not in engine.store.settings()
