"""Replaying a stored execution under the debugger (DAP): a breakpoint in the replay, the
recorded value of a setting changed since, continue → the same exception; the end of the
recording in an edited flow."""

import pytest

from engine_core import Engine
from engine_core.debug import DebugSession

pytestmark = pytest.mark.skipif(not hasattr(Engine, "replay"), reason="Engine.replay (helper C2) has not landed")

DEPLOY = """
import flow_api

def handler(system, this, inputs):
    target = system.setting('target').get()
    message = f'no route to {target}'
    raise ValueError(message)
"""


@pytest.fixture
def failed(engine, workspace):
    workspace.write_flow("Deploy", DEPLOY)
    engine.store.save_setting("target", "prod")
    record = engine.run("Deploy")
    assert record["status"] == "error" and "no route to prod" in record["message"]
    engine.store.save_setting("target", "changed since")
    return record


def start_replay(engine, execution_id, lines):
    session = DebugSession(engine)
    path = str(engine.workspace.flow_path("Deploy"))
    session.start_replay(execution_id, {path: [{"line": line} for line in lines]})
    return session


def locals_of(session):
    frame = session.stack()[0]
    scope = next(s for s in session.scopes(frame.id) if s.name == "Locals")
    return {v.name: v.value for v in session.variables(scope.ref)}


def test_breakpoint_in_a_replay_shows_the_recorded_value(engine, failed):
    before = engine.store.execution(failed["id"])
    session = start_replay(engine, failed["id"], [5])
    try:
        stop = session.wait_for_stop(20)
        assert stop.reason == "breakpoint"
        assert session.stack()[0].flow == "Deploy" and session.stack()[0].line == 5
        assert locals_of(session)["target"] == "'prod'"  # recorded, not "changed since"
        session.continue_()
        stop = session.wait_for_stop(20)
        if stop is not None and stop.reason == "exception":  # the raise, as in the original run
            assert "no route to prod" in stop.exception
            session.continue_()
        replay = engine.wait(session.execution_id, timeout=20)
    finally:
        if not session.terminated:
            session.stop()
    assert replay["status"] == "error" and "no route to prod" in replay["message"]
    assert replay.get("replay_of", failed["id"]) == failed["id"]
    assert engine.store.execution(failed["id"]) == before  # the original is never written
    assert engine.store.settings()["target"] == "changed since"


def test_an_edited_flow_stops_at_the_end_of_the_recording(engine, workspace, failed):
    workspace.write_flow("Deploy", DEPLOY.replace("    message =", "    other = system.setting('other').exists()\n    message ="))
    session = start_replay(engine, failed["id"], [])
    ended = []
    session.add_listener(lambda kind, payload: ended.append(payload) if kind == "journal_ended" else None)
    try:
        import time

        deadline = time.monotonic() + 20
        while session.journal_ended is None and time.monotonic() < deadline:
            time.sleep(0.05)
        assert session.journal_ended is not None, "no JournalEnded"
        assert "end of the recording" in session.journal_ended.message
        assert session.journal_ended.line == 5
        session.continue_replay(live=False)
        replay = engine.wait(session.execution_id, timeout=20)
    finally:
        if not session.terminated:
            session.stop()
    assert replay["status"] in ("cancelled", "error")
    assert "replay stopped at the end of the recording" in (replay["message"] or "")
