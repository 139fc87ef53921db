"""Step In on a this.flow(...) call, and statements written over several lines, with the
example workspace's own flows (Main Process calls Calculator over four lines)."""

import ast

import pytest

from engine_core.debug import DebugSession

MULTI_LINE_LOOP = """
def handler(system, this, inputs):
    total = 0
    for i in range(3):
        total = sum([
            total,
            i,
        ])
    this.set_output(total=total)
"""


def handler_first_line(path) -> int:
    tree = ast.parse(open(path, encoding="utf-8").read())
    handler = next(n for n in tree.body if isinstance(n, ast.FunctionDef) and n.name == "handler")
    return handler.body[0].lineno


def where(session):
    return [(f.flow, f.line) for f in session.stack()]


@pytest.fixture
def start(engine):
    sessions = []

    def start(flow, breakpoints):
        session = DebugSession(engine)
        session.start(flow, {}, {str(engine.workspace.flow_path(name)): [{"line": line} for line in lines]
                                 for name, lines in breakpoints.items()})
        sessions.append(session)
        return session

    yield start
    for session in sessions:
        session.stop()


def test_step_in_on_a_flow_call_stops_at_the_first_line_of_the_childs_handler(engine, start):
    calculator = engine.workspace.flow_path("Calculator")
    assert open(calculator, encoding="utf-8").readline().startswith("import flow_api"), "a module line comes first"
    session = start("Main Process", {"Main Process": [6]})  # new_value = this.flow(\n'Calculator', …
    session.wait_for_stop()
    session.step_in()
    assert session.wait_for_stop().reason == "step"
    assert where(session) == [("Calculator", handler_first_line(calculator)), ("Main Process", 6)]
    # Stepping on in the child walks its handler, then returns to the parent's call.
    session.step_over()
    session.wait_for_stop()
    assert where(session)[0] == ("Calculator", handler_first_line(calculator) + 3)
    session.step_out()
    session.wait_for_stop()
    assert where(session)[0][0] == "Main Process"
    session.continue_()
    assert engine.wait(session.execution_id, timeout=20)["status"] == "success"


def test_a_multi_line_call_with_a_breakpoint_is_stopped_at_once(engine, start):
    session = start("Main Process", {"Main Process": [6, 12]})
    assert session.wait_for_stop().reason == "breakpoint" and where(session) == [("Main Process", 6)]
    session.continue_()  # Calculator runs and returns: no second stop on line 6
    assert session.wait_for_stop().reason == "breakpoint"
    assert where(session) == [("Main Process", 12)]
    session.continue_()
    assert engine.wait(session.execution_id, timeout=20)["status"] == "success"
    assert session.stop_count == 2


def test_step_over_a_multi_line_call_is_one_step(engine, start):
    session = start("Main Process", {"Main Process": [6]})
    session.wait_for_stop()
    session.step_over()
    assert session.wait_for_stop().reason == "step"
    assert where(session) == [("Main Process", 12)]
    session.step_over()
    session.wait_for_stop()
    assert where(session) == [("Main Process", 17)]


def test_a_multi_line_statement_in_a_loop_stops_on_every_pass(engine, workspace, start):
    workspace.write_flow("Summer", MULTI_LINE_LOOP)  # line 4: total = sum([ … ])
    session = start("Summer", {"Summer": [4]})
    totals = []
    while session.wait_for_stop() is not None:
        frame = session.stack()[0]
        scope = next(s for s in session.scopes(frame.id) if s.name == "Locals")
        totals.append({v.name: v.value for v in session.variables(scope.ref)}["i"])
        session.continue_()
        if len(totals) > 5:
            break
    assert totals == ["0", "1", "2"]
    assert engine.wait(session.execution_id, timeout=20)["outputs"] == {"total": 3}
