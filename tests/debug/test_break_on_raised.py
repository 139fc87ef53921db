"""Debug ▸ Break on Raised Exceptions: with it on, the debugger stops where a flow raises an
exception even though the flow catches it; with it off, a caught exception does not stop."""

from __future__ import annotations

import pytest

CATCHES = """
def handler(system, this, inputs):
    try:
        raise ValueError('caught inside')
    except ValueError as exc:
        this.log(f'handled: {exc}')
    this.set_output(done=True)
"""


@pytest.fixture
def catching_workspace(debug_workspace):
    debug_workspace.write_flow("Catches", CATCHES)  # "def handler" is line 1, the raise line 3
    return debug_workspace


def _logs(engine, execution_id):
    return [entry["text"] for entry in engine.store.logs(execution_id)]


def test_with_break_on_raised_the_debugger_stops_at_the_raise(engine, catching_workspace, session_factory):
    session = session_factory("Catches", break_on_raised=True)
    stop = session.wait_for_stop()
    assert stop.reason == "exception"
    assert stop.exception == "ValueError: caught inside"
    frame = session.stack()[0]
    assert (frame.flow, frame.line) == ("Catches", 3)
    assert _logs(engine, session.execution_id) == [], "stopped before the except block ran"

    session.continue_()
    record = engine.wait(session.execution_id, timeout=15)
    assert (record["status"], record["outputs"]) == ("success", {"done": True})
    assert _logs(engine, session.execution_id) == ["handled: caught inside"]
    assert session.stop_count == 1, "one raise, one stop"


def test_without_break_on_raised_a_caught_exception_does_not_stop(engine, catching_workspace, session_factory):
    session = session_factory("Catches")  # the default: off
    record = engine.wait(session.execution_id, timeout=15)
    assert (record["status"], record["outputs"]) == ("success", {"done": True})
    assert _logs(engine, session.execution_id) == ["handled: caught inside"], "the exception was raised and caught"
    assert session.stop_count == 0
    assert session.last_stop is None


ENDS = """
def handler(system, this, inputs):
    if inputs.get('fail'):
        this.error('stopped on purpose')
    this.success('ended on purpose')
"""


@pytest.mark.parametrize("break_on_raised", [False, True])
@pytest.mark.parametrize("fail", [False, True])
def test_lifecycle_signals_are_no_stops(engine, debug_workspace, session_factory, break_on_raised, fail):
    """this.success()/this.error() end an execution by raising a LifecycleSignal; the debugger
    must not present that as an exception to stop on, with or without Break on Raised."""
    debug_workspace.write_flow("Ends", ENDS)
    session = session_factory("Ends", break_on_raised=break_on_raised, inputs={"fail": fail})
    record = engine.wait(session.execution_id, timeout=15)
    expected = ("error", "stopped on purpose") if fail else ("success", "ended on purpose")
    assert (record["status"], record["message"]) == expected
    assert session.stop_count == 0 and session.last_stop is None
