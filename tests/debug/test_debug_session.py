"""Debugging through our DAP client and real debugpy, without Qt."""

import time


from engine_core.debug import DebugSession


def top(session):
    frame = session.stack()[0]
    return frame.flow, frame.line


def locals_of(session, frame):
    scope = next(s for s in session.scopes(frame.id) if s.name == "Locals")
    return {v.name: v for v in session.variables(scope.ref)}


def test_breakpoint_hit_and_variables_read_to_any_depth(session_factory):
    session = session_factory("Parent", {"Parent": [{"line": 6}]})
    stop = session.wait_for_stop()
    assert stop.reason == "breakpoint"
    assert top(session) == ("Parent", 6)
    frame = session.stack()[0]
    assert frame.label == "handler — Parent"
    variables = locals_of(session, frame)
    assert variables["count"].value == "1"
    items = {v.name: v for v in session.variables(variables["items"].ref)}
    assert set(items) >= {"'a'", "'b'"}
    inner = {v.name: v.value for v in session.variables(items["'b'"].ref)}
    assert inner["'c'"] == "3"
    assert session.evaluate("count + 41", frame.id).value == "42"


def test_step_over_runs_the_child_and_stops_on_the_next_line(engine, session_factory):
    session = session_factory("Parent", {"Parent": [{"line": 6}]})
    session.wait_for_stop()
    session.step_over()
    assert session.wait_for_stop().reason == "step"
    assert top(session) == ("Parent", 7)
    child = [r for r in engine.store.executions() if r["flow"] == "Child"][0]
    assert child["status"] == "success" and child["outputs"] == {"double": 2}
    session.continue_()
    record = engine.wait(session.execution_id, timeout=15)
    assert (record["status"], record["outputs"]) == ("success", {"result": 2})


def test_step_in_to_the_child_and_out_again(engine, session_factory):
    session = session_factory("Parent", {"Parent": [{"line": 6}]})
    session.wait_for_stop()
    session.step_in()
    session.wait_for_stop()
    assert top(session) == ("Child", 2), "Step In on this.flow(...) stops at the child's first line"
    stack = session.stack()
    assert [(f.flow, f.line) for f in stack] == [("Child", 2), ("Parent", 6)], "parent above the child"
    session.step_out()
    session.wait_for_stop()
    assert top(session)[0] == "Parent"
    assert len(session.stack()) == 1
    session.continue_()
    assert engine.wait(session.execution_id, timeout=15)["status"] == "success"


def test_breakpoint_in_the_child_flow(session_factory):
    session = session_factory("Parent", {"Child": [{"line": 3}]})
    assert session.wait_for_stop().reason == "breakpoint"
    assert [(f.flow, f.line) for f in session.stack()] == [("Child", 3), ("Parent", 6)]
    assert locals_of(session, session.stack()[0])["value"].value == "1"


def test_conditional_and_hit_count_breakpoints(session_factory):
    session = session_factory("Loop", {"Loop": [{"line": 4, "condition": "i == 7"}]})
    session.wait_for_stop()
    assert locals_of(session, session.stack()[0])["i"].value == "7"
    session.stop()
    session = session_factory("Loop", {"Loop": [{"line": 4, "hitCondition": "3"}]})
    session.wait_for_stop()
    assert locals_of(session, session.stack()[0])["i"].value == "2"


def test_logpoint_prints_instead_of_stopping(engine, session_factory):
    output = []
    session = DebugSession(engine)
    session.add_listener(lambda kind, payload: output.append(payload) if kind == "output" else None)
    session.start("Loop", {}, {str(engine.workspace.flow_path("Loop")): [{"line": 4, "logMessage": "i is {i}"}]})
    assert engine.wait(session.execution_id, timeout=20)["status"] == "success"
    assert session.stop_count == 0
    deadline = time.monotonic() + 5
    while "i is 9" not in "".join(output) and time.monotonic() < deadline:
        time.sleep(0.05)
    assert "i is 0" in "".join(output) and "i is 9" in "".join(output)


def test_uncaught_exception_stops_with_the_exception(engine, session_factory):
    session = session_factory("Raises")
    stop = session.wait_for_stop()
    assert stop.reason == "exception"
    assert "IndexError" in stop.exception and "list index out of range" in stop.exception
    assert top(session) == ("Raises", 3)
    session.continue_()
    record = engine.wait(session.execution_id, timeout=15)
    assert record["status"] == "error" and record["message"].startswith("IndexError")


def test_run_to_cursor(session_factory):
    session = session_factory("Parent", {"Parent": [{"line": 4}]})
    session.wait_for_stop()
    session.run_to_cursor(str(session.engine.workspace.flow_path("Parent")), 8)
    session.wait_for_stop()
    assert top(session) == ("Parent", 8)


def test_pause_a_running_flow(engine, debug_workspace, session_factory):
    debug_workspace.write_flow("Spinner", """
        def handler(system, this, inputs):
            n = 0
            while True:
                n += 1
    """)
    session = session_factory("Spinner")
    time.sleep(0.3)
    session.pause()
    assert session.wait_for_stop().reason == "pause"
    assert top(session)[0] == "Spinner"


def test_stop_kills_the_tree(engine, session_factory):
    session = session_factory("Parent", {"Child": [{"line": 3}]})
    session.wait_for_stop()
    child = [r for r in engine.store.executions() if r["flow"] == "Child"][0]
    session.stop()
    root = engine.wait(session.execution_id, timeout=10)
    assert (root["status"], root["message"]) == ("cancelled", "cancelled: debugging stopped")
    assert engine.store.execution(child["id"])["status"] == "cancelled"
    assert session.wait_for_stop(timeout=10) is None, "the debug session ended"


def test_two_sessions_at_once(session_factory):
    first = session_factory("Loop", {"Loop": [{"line": 4}]})
    second = session_factory("Parent", {"Parent": [{"line": 5}]})
    assert first.address != second.address
    assert first.address[0] == second.address[0] == "127.0.0.1"
    first.wait_for_stop()
    second.wait_for_stop()
    assert top(first) == ("Loop", 4) and top(second) == ("Parent", 5)


def test_productive_runs_have_no_debugger(engine, debug_workspace):
    debug_workspace.write_flow("Probe", """
        import sys
        def handler(system, this, inputs):
            this.set_output(debugpy='debugpy' in sys.modules, pydevd='pydevd' in sys.modules)
    """)
    assert engine.run("Probe")["outputs"] == {"debugpy": False, "pydevd": False}


def test_cli_debug_prints_where_to_attach_and_runs_once_attached(debug_workspace):
    import subprocess
    import sys

    from engine_core.debug import DapClient

    cli = subprocess.Popen([sys.executable, "-m", "engine_core.cli", "debug", "Loop", "-w", str(debug_workspace)],
                           stdout=subprocess.PIPE, text=True)
    try:
        lines = []
        while not any("listens on" in line for line in lines):
            line = cli.stdout.readline()
            assert line, "the CLI ended before its debugger listened"
            lines.append(line)
        address = next(line for line in lines if "listens on" in line).split()[3]
        host, port = address.split(":")
        assert host == "127.0.0.1"
        # Attach as VS Code would: the flow runs to its end.
        client = DapClient(host, int(port))
        client.request("initialize", {"adapterID": "debugpy"})
        attached = client.send("attach", {"justMyCode": True})
        client.wait_event("initialized")
        client.request("configurationDone")
        attached.result(15)
        assert cli.wait(timeout=20) == 0
        client.close()  # the adapter (which shares the CLI's stdout) ends with its client
        assert "✔ #1 Loop: success" in cli.stdout.read()
    finally:
        cli.kill()
