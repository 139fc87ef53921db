"""Flows made for stepping: one statement per line, so line numbers are easy to follow."""

import pytest

PARENT = """
import flow_api

def handler(system, this, inputs):
    count = inputs.get('start', 1)
    items = {'a': [1, 2], 'b': {'c': 3}}
    child = this.flow('Child', value=count)
    result = child.get('output_value')['double']
    this.set_output(result=result)
    return this.success('done')
"""

CHILD = """
def handler(system, this, inputs):
    value = inputs['value']
    double = value * 2
    this.set_output(double=double)
    return this.success('ok')
"""

LOOP = """
def handler(system, this, inputs):
    total = 0
    for i in range(10):
        total += i
    this.set_output(total=total)
"""

RAISES = """
def handler(system, this, inputs):
    numbers = [1, 2]
    return numbers[5]
"""


@pytest.fixture
def debug_workspace(workspace):
    # write_flow dedents and strips the leading newline, so "import flow_api" is line 1.
    workspace.write_flow("Parent", PARENT)
    workspace.write_flow("Child", CHILD)
    workspace.write_flow("Loop", LOOP)
    workspace.write_flow("Raises", RAISES)
    return workspace


@pytest.fixture
def session_factory(engine, debug_workspace):
    from engine_core.debug import DebugSession

    sessions = []

    def start(flow, breakpoints=None, inputs=None, **options):
        session = DebugSession(engine, **options)
        paths = {str(engine.workspace.flow_path(name)): specs for name, specs in (breakpoints or {}).items()}
        session.start(flow, inputs or {}, paths)
        sessions.append(session)
        return session

    yield start
    for session in sessions:
        if not session.terminated:
            session.stop()

