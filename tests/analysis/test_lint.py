"""The flow linter: syntax errors, pyflakes findings, flow references, the handler, speed."""

from __future__ import annotations

import textwrap
import time

from support import EXAMPLES

from engine_core.analysis import Problem, lint

HANDLER = "def handler(system, this, inputs):\n"
KNOWN = ["Calculator", "Messenger", "Create Child"]


def flow(body: str) -> str:
    """A flow whose handler runs ``body``; the handler is on line 1, ``body`` from line 2."""
    return HANDLER + textwrap.indent(textwrap.dedent(body).strip("\n"), "    ") + "\n"


def only(problems: list[Problem]) -> Problem:
    assert len(problems) == 1, problems
    return problems[0]


# -- syntax -------------------------------------------------------------------------------

def test_syntax_error_reports_its_position_and_nothing_else():
    problem = only(lint(HANDLER + "    x = 1\n    if x > 1\n        pass\n"))
    assert (problem.line, problem.column) == (3, 12)  # right after `if x > 1`
    assert problem.message == "SyntaxError: expected ':'"
    assert (problem.severity, problem.source) == ("error", "syntax")


def test_syntax_error_span_uses_the_end_offset():
    problem = only(lint(HANDLER + "    f(**a, *b)\n"))
    assert (problem.line, problem.column, problem.end_column) == (2, 11, 12)  # the `*` of `*b`


def test_indentation_and_tab_errors_are_syntax_problems():
    indentation = only(lint(HANDLER + "return 1\n"))
    assert indentation.message.startswith("IndentationError: expected an indented block")
    assert (indentation.line, indentation.column) == (2, 0)
    tabs = only(lint(HANDLER + "    if inputs:\n\tx = 1\n        y = 2\n"))
    assert tabs.message.startswith("TabError:")
    assert (tabs.line, tabs.severity) == (3, "error")  # the tab-indented line


def test_null_byte_is_reported_where_it_is_without_raising():
    problem = only(lint(HANDLER + "    x = 1\n    y\0 = 2\n"))
    assert (problem.line, problem.column, problem.end_column) == (3, 5, 6)
    assert (problem.severity, problem.source) == ("error", "syntax")
    assert "null bytes" in problem.message


def test_expression_too_deep_for_pyflakes_is_reported_not_raised():
    problem = only(lint(HANDLER + "    return " + "1+" * 2000 + "1\n"))
    assert (problem.line, problem.severity) == (1, "warning")
    assert "too deeply nested" in problem.message


# -- pyflakes -----------------------------------------------------------------------------

def test_undefined_name_is_an_error_spanning_the_name():
    problem = only(lint(flow("total = 1\nreturn totl + total")))
    assert problem == Problem(3, 11, "undefined name 'totl'", "error", "pyflakes", 15)


def test_columns_count_characters_not_utf8_bytes():
    problem = only(lint(flow("this.log('äöü', missing)")))
    assert (problem.column, problem.end_column) == (20, 27)


def test_unused_import_is_a_warning_on_the_imported_name():
    problem = only(lint("import os, json\n" + flow("return json.dumps(inputs)")))
    assert problem == Problem(1, 7, "'os' imported but unused", "warning", "pyflakes", 9)


def test_unused_aliased_import_underlines_the_alias():
    problem = only(lint("from os import path as p\n" + flow("return 1")))
    assert (problem.column, problem.end_column, problem.severity) == (23, 24, "warning")


def test_runtime_failures_are_errors_and_slips_are_warnings():
    problems = lint(flow("""
        unused = 1
        this.log(f"no placeholders")
        this.log('{} {}'.format(1))
    """))
    assert [(p.line, p.severity) for p in problems] == [(2, "warning"), (3, "warning"), (4, "error")]
    assert problems[0].message == "local variable 'unused' is assigned to but never used"
    assert (problems[0].column, problems[0].end_column) == (4, 10)


def test_problems_are_sorted_by_line_then_column():
    problems = lint("import sys\n" + flow("a = b + c\nreturn d"))
    positions = [(p.line, p.column) for p in problems]
    assert len(positions) == 5 and positions == sorted(positions)


# -- flow references ----------------------------------------------------------------------

def test_unknown_flow_is_an_error_on_the_literal_with_a_suggestion():
    problem = only(lint(flow("this.flow('Calculater', initial_value=1)"), known_flows=KNOWN))
    assert problem == Problem(2, 14, "no flow 'Calculater' in this workspace; did you mean 'Calculator'?",
                              "error", "flows", 26)


def test_suggestion_ignores_case():
    problem = only(lint(flow("system.flow('MESSENGER')"), known_flows=KNOWN))
    assert problem.message.endswith("did you mean 'Messenger'?")
    assert (problem.column, problem.end_column) == (16, 27)


def test_unknown_flow_without_a_close_match_has_no_suggestion():
    problem = only(lint(flow("this.flow(flow_name='Nope')"), known_flows=KNOWN))
    assert problem.message == "no flow 'Nope' in this workspace"
    assert (problem.column, problem.end_column) == (24, 30)


def test_unknown_flow_in_a_nested_function_call_split_over_lines():
    source = flow("""
        def start(child):
            return child.flow(
                "Nope",
                wait=False,
            )
        return start(this)
    """)
    problem = only(lint(source, known_flows=KNOWN))
    assert (problem.line, problem.column, problem.end_column) == (4, 12, 18)


def test_known_flows_execution_names_and_dynamic_names_are_not_flagged():
    source = flow("""
        this.flow('Calculator', name='Nope')
        system.flow('Create Child').exists()
        name = 'Nope'
        this.flow(name)
        this.flow('Cal' + 'culator')
        this.flow(f'{name}')
    """)
    assert lint(source, known_flows=KNOWN) == []


def test_flow_references_are_not_checked_without_known_flows():
    assert lint(flow("this.flow('Nope')")) == []


def test_seed_example_flows_have_no_errors_and_main_process_no_problems():
    flows = {path.stem: path for path in (EXAMPLES / "flows").glob("*.py")}
    found = {name: lint(path.read_text(encoding="utf-8"), str(path), known_flows=flows)
             for name, path in flows.items()}
    assert len(found) > 3
    assert found["Main Process"] == []  # it calls 'Calculator' and 'Messenger'
    # Some examples keep a child in an unused variable (a warning, like in the original).
    assert [p for problems in found.values() for p in problems if p.severity == "error"] == []


# -- handler ------------------------------------------------------------------------------

def test_file_without_handler_gets_a_warning_on_line_one():
    problem = only(lint("def main(system, this, inputs):\n    pass\n"))
    assert problem == Problem(1, 0, "a flow needs 'def handler(system, this, inputs)'", "warning", "flows")


def test_nested_handler_does_not_count():
    problem = only(lint("class Flow:\n    def handler(self, system, this):\n        pass\n"))
    assert problem.line == 1 and "def handler(system, this, inputs)" in problem.message


def test_handler_with_wrong_parameter_count_is_warned_on_its_def_line():
    problem = only(lint("import json\n\n\ndef handler(system):\n    return json\n"))
    assert (problem.line, problem.column, problem.end_column) == (4, 4, 11)
    assert problem.severity == "warning"
    assert problem.message.startswith("handler takes 1 positional parameters")
    problem = only(lint("def handler(system, this, inputs, extra):\n    return extra\n"))
    assert problem.message.startswith("handler takes 4 positional parameters")


def test_old_style_handler_with_two_parameters_is_fine():
    # Flows written for older Cloudomation versions: `handler(system, this)` runs too.
    assert lint("def handler(system, this):\n    return this.get('input_value')\n") == []


def test_handler_with_star_args_or_keyword_only_extras_is_fine():
    assert lint("def handler(*args):\n    return args\n") == []
    assert lint("def handler(system, this, inputs, *, debug=False):\n    return debug\n") == []


# -- speed --------------------------------------------------------------------------------

STEP = '''
def step_{i}(this, values):
    """Step {i}: add up and report."""
    total = 0
    for index, value in enumerate(values):
        if value % 2 == 0:
            total += value * index
        else:
            total -= value
    result = this.flow('{flow}', name=f'step {{index}}', initial_value=total)
    this.log('step {i}', total, result.get('output_value'))
    return {{'step': {i}, 'total': total}}
'''


def test_a_3000_line_flow_lints_fast():
    steps = "".join(STEP.format(i=i, flow="Nope" if i == 7 else "Calculator") for i in range(250))
    source = ("import flow_api\n\n"
              "def handler(system: flow_api.System, this: flow_api.Execution, inputs: dict):\n"
              "    return step_0(this, [1, 2])\n" + steps)
    assert source.count("\n") >= 3000
    lint(source, known_flows=KNOWN)  # warm up imports
    timings = []
    for _ in range(5):
        started = time.perf_counter()
        problems = lint(source, known_flows=KNOWN)
        timings.append(time.perf_counter() - started)
    print(f"lint of {source.count(chr(10))} lines: best {min(timings) * 1000:.0f} ms")
    assert min(timings) < 1.0
    assert [p.message for p in problems] == ["no flow 'Nope' in this workspace"]
