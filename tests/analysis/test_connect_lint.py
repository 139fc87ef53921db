"""The linter checks ``this.connect('TYPE', ...)`` calls with a literal type against the
connector's declared parameters: an unknown type, an unknown parameter, a missing required one;
before the flow runs. REST and a connector registered by the test are used."""

from __future__ import annotations

import textwrap

import pytest

from engine_core import connectors
from engine_core.analysis import Problem, lint
from engine_core.connectors import Param

HANDLER = "def handler(system, this, inputs):\n"


@pytest.fixture(autouse=True)
def widget():
    connectors.available()
    connectors.register("WIDGET", lambda this, params: {}, params=[
        Param("endpoint", required=True, doc="where the widget listens"),
        Param("colour", aliases=("color",)),
        Param("api_token", secret=True),
    ])
    yield
    connectors._registry.pop("WIDGET", None)


def flow(body: str) -> str:
    return HANDLER + textwrap.indent(textwrap.dedent(body).strip("\n"), "    ") + "\n"


def problems(body: str, **kwargs) -> list[Problem]:
    return [p for p in lint(flow(body), **kwargs) if p.source == "flows"]


def messages(body: str, **kwargs) -> list[str]:
    return [p.message for p in problems(body, **kwargs)]


def test_unknown_type_suggests_the_close_one_and_underlines_the_literal():
    (problem,) = problems("this.connect('WIDGTE', endpoint='x')")
    assert problem.message == "unknown connector type 'WIDGTE'; did you mean 'WIDGET'?"
    assert (problem.line, problem.column, problem.end_column) == (2, 17, 25)
    assert (problem.severity, problem.source) == ("error", "flows")
    (far,) = messages("this.connect(connector_type='ZZZZ')")
    assert far.startswith("unknown connector type 'ZZZZ'; available connector types: ") and "WIDGET" in far


def test_unknown_parameter_suggests_the_close_one_and_underlines_the_keyword():
    (problem,) = problems("this.connect('REST', methd='GET', url='http://x')")
    assert problem.message == "the REST connector has no parameter 'methd'; did you mean 'method'?"
    assert (problem.line, problem.column, problem.end_column) == (2, 25, 30)
    assert messages("this.connect('WIDGET', endpoint='x', shape='round')") == [
        "the WIDGET connector has no parameter 'shape'; it takes endpoint, colour, api_token"]


def test_missing_required_parameter_is_reported_at_connect():
    (problem,) = problems("this.connect('WIDGET', colour='red')")
    assert problem.message == "the WIDGET connector needs endpoint=..."
    assert (problem.line, problem.column, problem.end_column) == (2, 9, 16)
    assert messages("this.connect('REST', method='GET')") == ["the REST connector needs one of url=..., host=..."]


def test_correct_calls_aliases_and_connects_own_parameters_pass():
    assert messages("""
        this.connect('WIDGET', endpoint='x', color='red', name='paint', wait=False)
        this.connect(connector_type='widget', inputs={'endpoint': 'x'}, run=False)
        this.task('REST', url='http://x', query={'a': 1}, timeout=5)
    """) == []


def test_inputs_dict_task_and_wrapped_calls_are_checked():
    assert messages("this.connect('WIDGET', inputs={'endpont': 'x'})") == [  # sorted by column
        "the WIDGET connector needs endpoint=...",
        "the WIDGET connector has no parameter 'endpont'; did you mean 'endpoint'?"]
    assert messages("this.task('WIDGTE')") == ["unknown connector type 'WIDGTE'; did you mean 'WIDGET'?"]
    assert messages("this.using('retry', max_tries=2).connect('WIDGET', endpont='x')") == [
        "the WIDGET connector needs endpoint=...",
        "the WIDGET connector has no parameter 'endpont'; did you mean 'endpoint'?"]


def test_calls_whose_names_are_not_known_before_running_are_not_flagged():
    assert messages("""
        kind = inputs['kind']
        params = inputs['params']
        this.connect(kind, whatever=1)
        this.connect('WIDGET', **params)
        this.connect('WIDGET', inputs=params)
        this.connect('WIDGET', inputs={**params})
        db.connect('WIDGTE', nonsense=1)
    """) == []


def test_record_names_with_and_without_the_workspaces_records():
    body = "this.connect('crm-api', pth='/x')"
    assert messages(body) == []  # may be a stored record: not known without the workspace's list
    records = {"crm-api": "REST"}
    # A record supplies the required inputs; the call's overrides must still be its type's.
    assert messages("this.connect('crm-api', path='/x')", connector_records=records) == []
    assert messages(body, connector_records=records) == [
        "the REST connector has no parameter 'pth'; did you mean 'path'?"]
    assert messages("this.connect('crm-apj')", connector_records=records) == [
        "unknown connector type 'crm-apj'; did you mean 'crm-api'?"]
    assert messages("this.connect('QQQQ')", connector_records=records)[0].startswith(
        "unknown connector type 'QQQQ' or connector record; available connector types: ")


def test_a_shadowed_this_is_not_checked():
    assert messages("""
        def inner(this):
            return this.connect('WIDGTE')
        this = object()
        this.connect('WIDGTE')
    """) == []
