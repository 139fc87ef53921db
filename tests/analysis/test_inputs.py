"""The inputs a handler reads, found in its code (the template of the Run/Debug inputs dialog)."""

from __future__ import annotations

import textwrap
from pathlib import Path

from engine_core.analysis.inputs import handler_inputs, inputs_template

EXAMPLES = Path(__file__).resolve().parents[2] / "resources" / "examples" / "flows"


def _template(code: str) -> dict:
    return inputs_template(textwrap.dedent(code))


def test_subscript_get_and_get_with_default_in_order_of_reading():
    assert list(_template("""
        def handler(system, this, inputs):
            a = inputs['first']
            b = inputs.get('second')
            c = inputs.get('third', 5)
            d = inputs.get('fourth', default={'deep': [1, 'x']})
            return a + b + c
    """).items()) == [("first", None), ("second", None), ("third", 5), ("fourth", {"deep": [1, "x"]})]


def test_the_inputs_parameter_may_have_any_name_and_other_dicts_are_ignored():
    assert _template("""
        def handler(system, this, params: dict):
            other = {'not_an_input': 1}
            other.get('nor_this')
            return params['wanted'] + other['not_an_input']
    """) == {"wanted": None}


def test_a_key_read_twice_keeps_the_default_it_was_given():
    assert _template("""
        def handler(system, this, inputs):
            if inputs.get('mode') is None:
                mode = inputs.get('mode', 'fast')
    """) == {"mode": "fast"}


def test_computed_or_non_json_defaults_and_computed_keys():
    assert _template("""
        def handler(system, this, inputs):
            key = 'dynamic'
            inputs[key]
            inputs.get('when', now())
            inputs.get('pair', (1, 2))
            inputs.get('raw', b'bytes')
    """) == {"when": None, "pair": [1, 2], "raw": None}


def test_old_style_two_argument_handler():
    assert _template("""
        def handler(system, this):
            values = this.get('input_value') or {}
            direct = this.get('input_value')['direct']
            return values['a'] + values.get('b', 2) + direct + this.get('output_value')['not_input']
    """) == {"a": None, "direct": None, "b": 2}


def test_no_handler_or_broken_code_gives_no_template():
    assert _template("def helper(inputs):\n    return inputs['x']\n") == {}
    assert _template("def handler(system, this, inputs):\n    return inputs['x'\n") == {}
    assert handler_inputs("") == []


def test_the_examples_calculator_and_messenger():
    calculator = handler_inputs((EXAMPLES / "Calculator.py").read_text())
    assert [(r.key, r.line) for r in calculator] == [("initial_value", 5)]
    assert inputs_template((EXAMPLES / "Messenger.py").read_text()) == {"message_value": None}
    assert inputs_template((EXAMPLES / "Main Process.py").read_text()) == {}
