"""The linter flags misspelt members of the handler's ``system`` / ``this`` (``this.sucess()``)
with a suggestion, and nothing else: real members, attributes a flow sets, other objects and
names that no longer are the handler's parameters are left alone."""

from __future__ import annotations

import textwrap
import time

import pytest

import flow_api
from engine_core.analysis import Problem, flow_api_members, lint

HANDLER = "def handler(system, this, inputs):\n"


def flow(body: str, handler: str = HANDLER) -> str:
    """A flow whose handler runs ``body``; the handler is on line 1, ``body`` from line 2."""
    return handler + textwrap.indent(textwrap.dedent(body).strip("\n"), "    ") + "\n"


def only(problems: list[Problem]) -> Problem:
    assert len(problems) == 1, problems
    return problems[0]


# -- what is reported ---------------------------------------------------------------------

def test_misspelt_this_member_is_an_error_on_the_name_with_a_suggestion():
    problem = only(lint(flow("return this.sucess('done')")))
    assert problem == Problem(2, 16, "this (flow_api.Execution) has no member 'sucess'; did you mean 'success'?",
                              "error", "flows", 22)


def test_misspelt_system_member():
    problem = only(lint(flow("names = system.setings()\nreturn names")))
    assert problem.message == "system (flow_api.System) has no member 'setings'; did you mean 'settings'?"
    assert (problem.line, problem.column, problem.end_column) == (2, 19, 26)


@pytest.mark.parametrize("written, meant", [
    ("this.sleep_untill(0)", "sleep_until"),
    ("this.wiat_for()", "wait_for"),
    ("this.Success()", "success"),  # the suggestion ignores case
    ("this.runasync()", "run_async"),
    ("system.get_own_usr()", "get_own_user"),
    ("system.flie('x')", "file"),
    ("system.retrun_when", "return_when"),
])
def test_suggestions(written, meant):
    assert only(lint(flow(written))).message.endswith(f"; did you mean {meant!r}?")


def test_unknown_member_without_a_close_name_has_no_suggestion():
    problem = only(lint(flow("this.frobnicate_everything()")))
    assert problem.message == "this (flow_api.Execution) has no member 'frobnicate_everything'"


def test_old_style_handler_and_other_parameter_names():
    source = "def handler(sys_, me):\n    me.flwo('Calculator')\n    return sys_.Setting('x')\n"
    problems = lint(source)
    assert [(p.line, p.message) for p in problems] == [
        (2, "me (flow_api.Execution) has no member 'flwo'; did you mean 'flow'?"),
        (3, "sys_ (flow_api.System) has no member 'Setting'; did you mean 'setting'?"),
    ]


def test_annotated_and_async_handlers():
    source = ("import flow_api\n\n"
              "async def handler(system: flow_api.System, this: flow_api.Execution, inputs: dict):\n"
              "    this.sucess()\n")
    assert only(lint(source)).line == 4


def test_name_split_over_lines_and_columns_in_characters():
    problem = only(lint(flow("return (this\n        .sucess('é'))")))
    assert (problem.line, problem.column, problem.end_column) == (3, 13, 19)
    problem = only(lint(flow("x = 'äöü'; this.sucess(x)")))
    assert (problem.column, problem.end_column) == (20, 26)


def test_reads_in_nested_functions_and_lambdas_of_the_handler():
    source = flow("""
        def report(value):
            this.lg(value)
        done = lambda: this.sucess()
        report(1)
        return done()
    """)
    assert [p.line for p in lint(source)] == [3, 4]


def test_only_the_last_handler_counts():
    source = ("def handler(a, b, c):\n    return b.nothing\n\n\n"
              "def handler(system, this, inputs):\n    return this.sucess()\n")
    problems = [p for p in lint(source) if p.source == "flows"]
    assert [p.line for p in problems] == [6]


# -- what is not reported -----------------------------------------------------------------

def test_every_real_member_is_accepted():
    uses = [f"this.{c.name}" for c in flow_api_members("this")]
    uses += [f"system.{c.name}" for c in flow_api_members("system")]
    uses += ["this.id", "this.__class__", "this.__dict__", "this._private", "system.__repr__"]
    assert lint(flow("return [" + ", ".join(uses) + "]")) == []


def test_contract_members_are_accepted():
    source = flow("""
        lock = system.setting('lock').acquire(timeout=5)
        system.setting('log').list_append(1)
        lock.release()
        child = this.task('REST', url='x')
        child.run_async()
        this.wait_for(child, return_when=system.return_when.ALL_ENDED, timeout=10)
        this.using('retry', max_tries=2).flow('Calculator')
        this.pause()
        this.resume()
        this.save(message='x')
        this.sleep_until(0)
        system.file('a.txt').save(content='x')
        system.files(), system.flows(), system.settings(), system.execution(1)
        system.message(subject='x', body={}).wait()
        this.message('subject', body={})
        system.get_own_user().get('name'), system.get_own_client().get('name')
        this.end('success', message='all done')
    """)
    assert lint(source) == []


def test_attributes_a_flow_sets_are_not_reported():
    source = flow("""
        this.custom = 1
        this.counter += 1
        system.cache = {}
        setattr(this, 'dynamic', 2)
        if hasattr(this, 'maybe_later'):
            this.maybe_later()
        this.log(this.custom, this.counter, this.dynamic, system.cache, getattr(this, 'other', None))
        del this.custom
    """)
    assert lint(source) == []


def test_attributes_set_elsewhere_in_the_flow_are_not_reported():
    # Set through another name (a helper's parameter): the flow knows better than the linter.
    source = "def remember(execution):\n    execution.note = 'x'\n\n\n" + flow("remember(this)\nreturn this.note")
    assert lint(source) == []


def test_reassigned_or_shadowed_names_are_not_reported():
    source = flow("""
        def inner(this):
            return this.anything
        values = [this.anything for this in inputs['items']]
        use = lambda system: system.anything
        class Helper:
            system = None
            def method(self, this=None):
                return this.anything
        this = inputs['other']
        return this.anything, inner, values, use, Helper
    """)
    assert lint(source) == []


def test_reassigned_in_a_loop_or_branch_is_not_reported_after_it():
    source = flow("""
        if inputs:
            system = inputs['system']
        return system.anything
    """)
    assert lint(source) == []


def test_other_objects_and_module_level_functions_are_not_checked():
    source = ("import flow_api\n\n\n"
              "def step(this, system):\n    return this.anything, system.anything\n\n\n"
              + flow("child = this.flow('Calculator')\nreturn child.anything, inputs.anything, flow_api.anything"))
    assert lint(source) == []


def test_no_handler_or_star_args_handler_checks_nothing():
    assert [p for p in lint("this = 1\nthis.sucess()\n") if "member" in p.message] == []
    assert lint("def handler(*args):\n    return args[1].sucess()\n") == []


def test_deeper_attributes_are_not_checked_here():
    # Only the first member after the parameter is checked; what follows is the record's.
    assert lint(flow("return this.flow('Calculator').anything, system.return_when.ANYTHING")) == []


def test_syntax_error_reports_only_the_syntax_error():
    assert [p.source for p in lint(flow("this.sucess(\n"))] == ["syntax"]


# -- speed --------------------------------------------------------------------------------

def test_a_3000_line_handler_full_of_this_calls_lints_fast():
    # The IDE benchmark's flow: everything in the handler, a third of the lines `this.log(...)`.
    lines = ["def handler(system, this, inputs):", "    total = 0"]
    i = 0
    while len(lines) < 2990:
        lines += [f"    value_{i} = inputs.get('k{i}', {i})", f"    total += value_{i} * 2",
                  f"    this.log('step', {i}, total)"]
        i += 1
    lines += ["    this.lgo(total)", "    return this.success(str(total))"]
    source = "\n".join(lines) + "\n"
    lint(source)
    timings = []
    for _ in range(3):
        started = time.perf_counter()
        problems = lint(source)
        timings.append(time.perf_counter() - started)
    print(f"lint of {len(lines)} lines: best {min(timings) * 1000:.0f} ms")
    assert min(timings) < 1.0
    assert [p.message for p in problems] == ["this (flow_api.Execution) has no member 'lgo'; did you mean 'log'?"]


def test_flow_api_classes_answering_any_name_are_not_checked():
    from engine_core.analysis import api_model

    class Dynamic(flow_api.Execution):
        def __getattr__(self, name):
            return name

    assert api_model.real_attribute_names(Dynamic) is None
