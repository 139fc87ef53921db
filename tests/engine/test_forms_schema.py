"""Forms (``this.message(subject, body=FORM)``): what an author sees when a form is wrong, and
what the flow receives for an answer. Forms are Cloudomation's; the shapes below come from
its public flows (recurring / delayed start, invite user, change password)."""

from __future__ import annotations

import pytest

from engine_core.errors import UsageError
from engine_core.forms import FormErrors, FormField, parse_form, validate_response

# Cloudomation's "Delayed" flow: a number default given as text, a markdown note in
# 'description', a submit button without 'type'.
DELAYED = {
    "type": "object",
    "properties": {
        "flow_name": {"label": "Name of the flow which should be started", "element": "string",
                      "type": "string", "order": 1},
        "label": {"description": "Give a time or a delay in seconds", "element": "markdown", "order": 2},
        "time": {"label": "Time when the child execution should be started", "element": "time",
                 "type": "string", "format": "time", "order": 3},
        "delay": {"label": "Delay in seconds", "element": "number", "type": "number", "example": "60",
                  "default": "60", "order": 4},
        "start": {"label": "Start delayed", "element": "submit", "order": 5},
    },
    "required": ["flow_name"],
}

APPROVAL = {
    "type": "object",
    "properties": {
        "reason": {"label": "Reason", "element": "string", "type": "string", "order": 1},
        "notify": {"label": "Notify the team", "element": "toggle", "type": "boolean", "default": True, "order": 2},
        "level": {"label": "Level", "element": "select", "options": ["low", "high"], "default": "low", "order": 3},
        "when": {"label": "Date", "element": "date", "type": "string", "order": 4},
        "approve": {"label": "Approve", "element": "submit", "type": "boolean", "order": 5},
        "reject": {"label": "Reject", "element": "submit", "type": "boolean", "order": 6},
    },
    "required": ["reason"],
}


# -- parse_form ---------------------------------------------------------------------------------
def test_fields_come_in_display_order_with_their_defaults_converted():
    fields = parse_form(DELAYED)
    assert [f.key for f in fields] == ["flow_name", "label", "time", "delay", "start"]
    assert fields[0] == FormField(key="flow_name", label="Name of the flow which should be started",
                                  element="string", type="string", order=1.0, required=True)
    assert fields[3].default == 60  # '60' in the form; a number for the widget and the flow
    assert fields[3].example == "60"
    assert fields[1].text == "Give a time or a delay in seconds"
    assert not fields[1].has_value and not fields[4].has_value


def test_fields_without_order_come_last_by_key_and_a_label_defaults_to_the_key():
    fields = parse_form({"properties": {"b": {"element": "string"}, "a": {"element": "string"},
                                        "first": {"element": "number", "order": 1},
                                        "Send invitation": {"element": "submit", "type": "boolean"}}})
    assert [f.key for f in fields] == ["first", "Send invitation", "a", "b"]
    assert fields[1].label == "Send invitation"


def test_markdown_text_may_be_in_description_label_or_example():
    fields = parse_form({"properties": {
        "a": {"element": "markdown", "description": "from **description**"},
        "b": {"element": "markdown", "label": "from label"},
        "c": {"element": "markdown", "example": "from example"}}})
    assert [f.text for f in fields] == ["from **description**", "from label", "from example"]


def test_element_follows_from_the_type_when_missing():
    fields = parse_form({"properties": {"n": {"type": "integer"}, "ok": {"type": "boolean"}, "s": {"type": "string"}}})
    assert [(f.key, f.element) for f in fields] == [("n", "number"), ("ok", "checkbox"), ("s", "string")]


def test_select_options_may_be_values_or_value_label_pairs():
    fields = parse_form({"properties": {
        "size": {"element": "select", "options": [{"value": 1, "label": "Small"}, {"value": 2, "label": "Big"}]},
        "colour": {"element": "select", "enum": ["red", "green"]}}})
    assert fields[0].options == (("red", "red"), ("green", "green"))
    assert fields[1].options == ((1, "Small"), (2, "Big"))


@pytest.mark.parametrize("form, message", [
    ("not a form", "a form must be a dict with 'properties', not str"),
    ({"type": "array", "properties": {}}, "a form's 'type' must be 'object', not 'array'"),
    ({"type": "object"}, "a form needs 'properties'"),
    ({"properties": {"x": {"element": "string"}}, "required": "x"}, "a form's 'required' must be a list of field keys"),
    ({"properties": {"x": {"element": "string"}}, "required": ["y"]},
     "the form's 'required' names 'y', which is not in 'properties'; add the field or remove the name"),
    ({"properties": {"x": "string"}}, "form field 'x' must be a dict like"),
    ({"properties": {"x": {"label": "X"}}}, "form field 'x' has no 'element'; use one of string, password, number"),
    ({"properties": {"x": {"element": "slider"}}}, "form field 'x' has the unknown element 'slider'; use one of"),
    ({"properties": {"x": {"element": "select"}}}, "form field 'x' is a select without options; give 'options'"),
    ({"properties": {"x": {"element": "string", "order": "first"}}}, "form field 'x' has 'order' 'first'; give a number"),
    ({"properties": {"x": {"element": "number", "default": "sixty"}}},
     "form field 'x' has a default that does not fit: 'sixty' is not a number; enter a number"),
    ({"properties": {"x": {"element": "select", "options": ["a", "b"], "default": "c"}}},
     "form field 'x' has a default that does not fit: 'c' is not one of the options; choose one of: a, b"),
])
def test_a_bad_form_is_refused_with_what_to_fix(form, message):
    with pytest.raises(UsageError) as info:
        parse_form(form)
    assert message in str(info.value)


def test_required_on_buttons_and_markdown_is_ignored():
    fields = parse_form({"properties": {"ok": {"element": "submit", "required": []},
                                        "note": {"element": "markdown", "description": "hi"}},
                         "required": ["ok", "note"]})
    assert [f.required for f in fields] == [False, False]


# -- validate_response --------------------------------------------------------------------------
def test_an_answer_gets_defaults_types_and_the_pressed_button():
    answer = validate_response(APPROVAL, {"reason": "looks good", "approve": True})
    assert answer == {"reason": "looks good", "notify": True, "level": "low", "approve": True, "reject": False}


def test_text_from_the_command_line_is_converted():
    answer = validate_response(DELAYED, {"flow_name": "Nightly", "time": "14:30", "delay": "2,5", "label": None})
    assert answer == {"flow_name": "Nightly", "time": "14:30:00", "delay": 2.5, "start": True}
    answer = validate_response(APPROVAL, {"reason": "r", "notify": "no", "level": "high", "when": "2026-12-31",
                                          "reject": "true"})
    assert answer == {"reason": "r", "notify": False, "level": "high", "when": "2026-12-31",
                      "approve": False, "reject": True}


def test_a_time_keeps_its_utc_offset_for_strptime():
    answer = validate_response(DELAYED, {"flow_name": "x", "time": "09:05:00+01:00"})
    assert answer["time"] == "09:05:00+01:00"


def test_whole_numbers_arrive_as_int_and_an_integer_field_refuses_fractions():
    form = {"properties": {"n": {"element": "number", "type": "integer"}, "x": {"element": "number"}}}
    assert validate_response(form, {"n": 3.0, "x": 7}) == {"n": 3, "x": 7}
    with pytest.raises(UsageError, match=r"field 'n': 2.5 is not a whole number; enter a whole number"):
        validate_response(form, {"n": 2.5})


def test_optional_fields_left_empty_are_left_out():
    # Cloudomation's flows test ``'current_password' in response``.
    answer = validate_response(DELAYED, {"flow_name": "Nightly", "time": "", "delay": None})
    assert answer == {"flow_name": "Nightly", "delay": 60, "start": True}


def test_a_missing_required_field_names_the_field_and_what_to_do():
    with pytest.raises(FormErrors) as info:
        validate_response(DELAYED, {"flow_name": "   "})
    assert info.value.errors == {
        "flow_name": "field 'Name of the flow which should be started' (flow_name) is required; enter a value"}
    assert isinstance(info.value, UsageError)


def test_every_wrong_field_is_reported_at_once():
    with pytest.raises(FormErrors) as info:
        validate_response(APPROVAL, {"level": "medium", "when": "31.12.2026", "approve": True})
    assert info.value.errors == {
        "reason": "field 'Reason' (reason) is required; enter a value",
        "level": "field 'Level' (level): 'medium' is not one of the options; choose one of: low, high",
        "when": "field 'Date' (when): '31.12.2026' is not a date; enter a date such as 2026-12-31",
    }
    assert str(info.value).startswith("field 'Reason' (reason) is required; enter a value; field 'Level'")


def test_with_several_buttons_exactly_one_is_pressed():
    with pytest.raises(UsageError, match="press one of the buttons: set one of 'approve', 'reject' to true"):
        validate_response(APPROVAL, {"reason": "r"})
    with pytest.raises(UsageError, match="press one button, not 2: 'Approve' \\(approve\\), 'Reject' \\(reject\\)"):
        validate_response(APPROVAL, {"reason": "r", "approve": True, "reject": True})


def test_a_key_the_form_does_not_have_is_refused_with_the_keys_it_has():
    with pytest.raises(UsageError) as info:
        validate_response(DELAYED, {"flow_name": "x", "flowname": "y"})
    assert str(info.value) == ("the form has no field 'flowname'; its fields are "
                               "'flow_name', 'time', 'delay', 'start'")


@pytest.mark.parametrize("response, message", [
    ({"flow_name": ["a"]}, "field 'Name of the flow which should be started' (flow_name): ['a'] is not text; enter text"),
    ({"flow_name": "x", "delay": True}, "field 'Delay in seconds' (delay): True is not a number"),
    ({"flow_name": "x", "delay": "nan"}, "'nan' is not a finite number"),
    ({"flow_name": "x", "time": "half past two"}, "'half past two' is not a time; enter a time such as 14:30"),
    ({"flow_name": "x", "start": "maybe"}, "button 'Start delayed' (start): 'maybe' is not true or false"),
])
def test_a_value_of_the_wrong_kind_says_what_to_enter(response, message):
    with pytest.raises(UsageError) as info:
        validate_response(DELAYED, response)
    assert message in str(info.value)


def test_a_response_must_be_an_object():
    with pytest.raises(UsageError, match="a form's response must be a JSON object of field -> value, not list"):
        validate_response(DELAYED, ["x"])


def test_select_by_label_or_text_of_the_value():
    form = {"properties": {"size": {"element": "select", "options": [{"value": 1, "label": "Small"},
                                                                     {"value": 2, "label": "Big"}]}}}
    assert validate_response(form, {"size": 2}) == {"size": 2}
    assert validate_response(form, {"size": "Big"}) == {"size": 2}
    assert validate_response(form, {"size": "1"}) == {"size": 1}
    with pytest.raises(UsageError, match=r"choose one of: Small \(1\), Big \(2\)"):
        validate_response(form, {"size": 3})


def test_a_form_without_buttons_answers_without_one():
    form = {"properties": {"ok": {"element": "checkbox", "label": "OK?"}}}
    assert validate_response(form, {}) == {"ok": False}
    assert validate_response(form, {"ok": 1}) == {"ok": True}
