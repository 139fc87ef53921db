"""However a debug session ends, its execution tree ends and its processes are gone: through
our DAP client, real debugpy and real worker and adapter processes, no mocks.

Each test ends a session one way (Stop, SIGKILL to the debuggee, SIGKILL to the adapter, the
connection lost, a start that fails) and then asks what a user would: is any execution still
'running', is any process of the session still there (see conftest.assert_nothing_left)."""

import os
import signal
import socket
import time

import pytest

from engine_core.debug import DebugSession
from engine_core.errors import FlowdeskError

from session_ends import ACTIVE, alive, assert_nothing_left, debug_processes, poll

# Stopped at line 3; were it resumed without a debugger it would leave a trace: an output.
RUNS_ON = """
def handler(system, this, inputs):
    first = 1
    this.set_output(ran_on=True)
    return this.success('ran on without its debugger')
"""


@pytest.fixture
def runs_on(debug_workspace):
    debug_workspace.write_flow("RunsOn", RUNS_ON)
    return debug_workspace


def records(engine, root_id):
    return {r["flow"]: r for r in engine.store.executions() if r["id"] == root_id or r["parent_id"] == root_id}


def test_stop_debugging_cancels_the_tree_and_leaves_no_process(engine, session_factory):
    session = session_factory("Parent", {"Child": [{"line": 3}]})
    session.wait_for_stop()
    pids = debug_processes(session)
    ended_at = time.monotonic()
    session.stop()
    tree = records(engine, session.execution_id)
    assert (tree["Parent"]["status"], tree["Parent"]["message"]) == ("cancelled", "cancelled: debugging stopped")
    assert tree["Child"]["status"] == "cancelled"
    assert session.terminated and session.wait_for_stop(timeout=1) is None
    assert_nothing_left(engine, pids, ended_at)


def test_the_debuggee_killed_ends_the_session_and_its_execution(engine, session_factory):
    session = session_factory("Parent", {"Child": [{"line": 3}]})
    session.wait_for_stop()
    pids = debug_processes(session)
    ended_at = time.monotonic()
    os.kill(pids["debuggee"], signal.SIGKILL)
    assert session.wait_ended(timeout=END_WAIT), "the session did not end when its debuggee died"
    root = engine.store.execution(session.execution_id)
    assert root["status"] == "error" and "killed by SIGKILL" in root["message"]
    assert records(engine, session.execution_id)["Child"]["status"] in ("error", "cancelled")
    assert_nothing_left(engine, pids, ended_at)


def test_the_adapter_killed_ends_the_execution_instead_of_letting_it_run_on(engine, runs_on, session_factory):
    session = session_factory("RunsOn", {"RunsOn": [{"line": 2}]})
    session.wait_for_stop()
    pids = debug_processes(session)
    ended_at = time.monotonic()
    os.kill(pids["adapter"], signal.SIGKILL)
    assert session.wait_ended(timeout=END_WAIT), "the session ended"
    root = engine.wait(session.execution_id, timeout=END_WAIT)
    assert root["status"] in ("error", "cancelled") and "debug adapter" in root["message"], root["message"]
    assert root["outputs"] in (None, {}), "the flow ran on after its debugger was gone"
    assert_nothing_left(engine, pids, ended_at)


def test_a_lost_connection_ends_the_execution(engine, runs_on, session_factory):
    session = session_factory("RunsOn", {"RunsOn": [{"line": 2}]})
    session.wait_for_stop()
    pids = debug_processes(session)
    ended_at = time.monotonic()
    # The connection breaks under the client (as a network or a crashed peer breaks it): the
    # session is not told to stop.
    session.client._sock.shutdown(socket.SHUT_RDWR)
    assert session.wait_ended(timeout=END_WAIT), "the session ended"
    root = engine.wait(session.execution_id, timeout=END_WAIT)
    assert root["status"] in ("error", "cancelled") and root["message"].startswith(
        ("debugging ended", "cancelled: debugging stopped")), root["message"]
    assert root["outputs"] in (None, {}), "the flow ran on after its debugger was gone"
    assert_nothing_left(engine, pids, ended_at)


def test_stopping_one_of_two_sessions_leaves_the_other_alone(engine, session_factory):
    first = session_factory("Parent", {"Child": [{"line": 3}]})
    second = session_factory("Parent", {"Child": [{"line": 3}]})
    first.wait_for_stop()
    second.wait_for_stop()
    first_pids, second_pids = debug_processes(first), debug_processes(second)
    first.stop()
    assert poll(lambda: not alive(first_pids.values())), "the stopped session's processes are gone"
    # The other session is still stopped where it was, its processes and execution alive.
    assert second.wait_for_stop(timeout=1) is not None and not second.terminated
    assert set(alive(second_pids.values())) == set(second_pids.values())
    assert engine.store.execution(second.execution_id)["status"] == "running"
    assert [(f.flow, f.line) for f in second.stack()] == [("Child", 3), ("Parent", 6)]
    # …and it goes on to its own, correct end; the stopped one stays cancelled.
    second.step_over()
    assert second.wait_for_stop().reason == "step"
    second.continue_()
    record = engine.wait(second.execution_id, timeout=15)
    assert (record["status"], record["outputs"]) == ("success", {"result": 2})
    assert engine.store.execution(first.execution_id)["message"] == "cancelled: debugging stopped"
    assert second.wait_ended(timeout=END_WAIT)
    assert_nothing_left(engine, second_pids, time.monotonic())


def test_a_start_that_fails_leaves_no_execution_waiting_for_a_debugger(engine, debug_workspace):
    session = DebugSession(engine)
    with pytest.raises(FlowdeskError, match="did not start its debugger"):
        session.start("Loop", {}, {}, timeout=0.01)  # nobody waits 10 ms for debugpy
    record = engine.wait(session.execution_id, timeout=END_WAIT)
    assert (record["status"], record["message"]) == ("cancelled", "cancelled: debugging stopped (the debugger "
                                                     "could not attach: execution #%d did not start its debugger "
                                                     "within 0.01 s)" % session.execution_id)
    assert session.terminated
    assert [r["id"] for r in engine.store.executions() if r["status"] in ACTIVE] == []


END_WAIT = 10  # generous bounds for waits that are not the product's promise
