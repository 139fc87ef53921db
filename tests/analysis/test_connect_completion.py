"""Completion inside ``this.connect(``: the connector types (and stored records) in the type's
literal, then the parameters the connector declares, with their docs. Tested on REST and on a
connector registered by the test, so that nothing depends on which other connectors exist."""

from __future__ import annotations

import pytest

from engine_core import connectors
from engine_core.analysis import Completion, complete
from engine_core.connectors import Param

HANDLER = "import flow_api\n\ndef handler(system, this, inputs):\n    "


@pytest.fixture(autouse=True)
def widget():
    connectors.available()  # the built-ins first: removing ours afterwards leaves them
    connectors.register("WIDGET", lambda this, params: {}, doc="Talks to a widget (a test connector).", params=[
        Param("endpoint", required=True, doc="where the widget listens"),
        Param("colour", aliases=("color",), doc="the widget's colour"),
        Param("api_token", secret=True, doc="the widget's token"),
    ])
    yield
    connectors._registry.pop("WIDGET", None)


def at_end(tail: str, **kwargs) -> list[Completion]:
    source = HANDLER + tail
    lines = source.split("\n")
    return complete(source, len(lines), len(lines[-1]), **kwargs)


def names(tail: str, **kwargs) -> list[str]:
    return [item.name for item in at_end(tail, **kwargs)]


def test_connector_types_in_the_type_literal():
    found = {item.name: item for item in at_end("this.connect(connector_type='")}
    assert {"REST", "WIDGET"} <= set(found)
    assert found["WIDGET"].kind == "connector" and found["WIDGET"].doc == "Talks to a widget (a test connector)."
    assert names("this.connect('wi") == ["WIDGET"]  # typed case does not matter
    assert names('this.connect(\n        "RE') == ["REST"]
    assert names("this.task('WID") == ["WIDGET"]
    assert names("this.using('retry', max_tries=2).connect('WID") == ["WIDGET"]


def test_parameters_once_the_type_is_written_in_declared_order_with_docs():
    found = at_end("this.connect('WIDGET', ")
    assert [item.name for item in found] == ["endpoint", "colour", "api_token"]
    endpoint, colour, token = found
    assert (endpoint.insert, endpoint.kind) == ("endpoint=", "parameter")
    assert endpoint.doc == "where the widget listens\n\nrequired"
    assert "also written color" in colour.doc
    assert "secret" in token.doc
    assert names("this.connect(connector_type='WIDGET', endpoint='x', ") == ["colour", "api_token"]
    assert names("this.connect('WIDGET', color='red',\n                 ") == ["endpoint", "api_token"]
    assert names("this.connect(connector_type='WIDGET', co") == ["colour"]


def test_rest_parameters_come_from_its_declaration():
    found = {item.name: item for item in at_end("this.connect('REST', url='http://x', ")}
    declared = [p.name for p in connectors.spec("REST").params]
    assert list(found) == [name for name in declared if name != "url"]
    assert found["method"].doc.startswith(next(p.doc for p in connectors.spec("REST").params if p.name == "method"))
    assert names("this.using('retry').connect(\n        'REST',\n        meth") == ["method"]


def test_stored_records_are_offered_and_complete_with_their_types_parameters():
    records = {"crm-api": "WIDGET"}
    found = {item.name: item for item in at_end("this.connect('cr", connector_records=records)}
    assert list(found) == ["crm-api"] and found["crm-api"].kind == "connector record"
    assert "WIDGET" in found["crm-api"].doc
    assert names("this.connect('crm-api', ", connector_records=records) == ["endpoint", "colour", "api_token"]


def test_other_calls_and_unknown_types_are_left_to_the_usual_completion():
    types = {"REST", "WIDGET"}
    assert not types & set(names("db = sqlite3.connect('"))
    assert not types & set(names("other.connect('"))
    assert "endpoint" not in names("this.connect(kind, ")  # a variable: the type is not known here
    assert "endpoint" not in names("this.connect('NOPE', ")
    assert "endpoint" not in names("this.connect('WIDGET', endpoint=")  # a value, not a name
    assert names("this.connect('WIDGET')  # ") == []  # in a comment
