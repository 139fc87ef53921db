"""Completion at the cursor: flow names, this./system. members, jedi for everything else."""

from __future__ import annotations

import time

import pytest

from engine_core.analysis import Completion, complete, flow_api_members

FLOWS = ["Calculator", "Create Child", "Messenger", "calendar sync"]
ANNOTATED = ("import flow_api\n\n"
             "def handler(system: flow_api.System, this: flow_api.Execution, inputs: dict):\n")


def at_end(source: str, known_flows=FLOWS) -> list[Completion]:
    """Completions with the cursor at the end of ``source``."""
    lines = source.split("\n")
    return complete(source, len(lines), len(lines[-1]), known_flows)


def names(completions: list[Completion]) -> list[str]:
    return [completion.name for completion in completions]


# -- flow names ---------------------------------------------------------------------------

def test_flow_names_matching_the_typed_prefix_ignoring_case():
    found = at_end(ANNOTATED + "    this.flow('ca")
    assert names(found) == ["Calculator", "calendar sync"]
    assert found[0] == Completion("Calculator", "Calculator", "flow", "")


def test_all_flow_names_right_after_the_quote():
    assert names(at_end(ANNOTATED + '    child = this.flow("')) == sorted(FLOWS, key=str.casefold)


def test_flow_name_argument_on_the_line_after_the_call():
    assert names(at_end(ANNOTATED + "    this.flow(\n        'Mes")) == ["Messenger"]


def test_flow_names_for_system_flow_and_flow_name_keyword():
    assert names(at_end("system.flow('Cr")) == ["Create Child"]
    assert names(at_end("this.flow(flow_name='Cr")) == ["Create Child"]


def test_other_string_arguments_do_not_get_flow_names():
    assert "Calculator" not in names(at_end("this.flow('Calculator', name='Ca"))
    assert "Calculator" not in names(at_end("this.log('Ca"))


def test_cursor_in_the_middle_of_a_flow_name_uses_the_text_before_it():
    source = "this.flow('Cxyz')"
    assert names(complete(source, 1, len("this.flow('C"), FLOWS)) == ["Calculator", "calendar sync", "Create Child"]


# -- this. and system. --------------------------------------------------------------------

def test_this_gives_execution_methods_with_signatures():
    found = {c.name: c for c in at_end(ANNOTATED + "    this.")}
    assert {"flow", "set_output", "log", "success", "error", "get", "wait", "id"} <= set(found)
    assert not [name for name in found if name.startswith("_")]
    assert found["flow"].signature.startswith("flow(flow_name, ")
    assert found["flow"].signature.endswith(") -> Execution")
    assert found["flow"].kind == "method"
    assert found["log"].signature.startswith("log(*args, ")
    assert found["log"].signature.endswith("**fields) -> None")
    assert found["id"].kind == "attribute"  # set in __init__, not visible on the class


def test_system_gives_setting_and_flow():
    found = {c.name: c for c in at_end(ANNOTATED + "    system.")}
    assert {"flow", "setting"} <= set(found)
    assert found["setting"].signature == "setting(name, value=...) -> Setting"


def test_members_are_filtered_by_the_typed_prefix():
    assert "set_output" in names(at_end(ANNOTATED + "    this.se"))
    assert all(name.startswith("se") for name in names(at_end(ANNOTATED + "    this.se")))
    expected = [c.name for c in flow_api_members("this") if c.name.startswith("s")]
    assert names(at_end(ANNOTATED + "    this.S")) == expected
    assert {"set_output", "sleep", "success"} <= set(expected)


def test_handler_parameters_count_whatever_their_names_without_annotations():
    source = "def handler(sys_, me, inputs):\n    me.fl"
    assert at_end(source) == [c for c in flow_api_members("this") if c.name == "flow"]
    assert "setting" in names(at_end("def handler(sys_, me, inputs):\n    sys_.s"))
    assert not [name for name in names(at_end("def handler(sys_, me, inputs):\n    sys_.s"))
                if not name.startswith("s")]


def test_this_works_while_the_rest_of_the_file_is_broken():
    source = ANNOTATED + "    x = (1,\n    this.wa"
    assert names(at_end(source)) == ["wait", "wait_for"]


def test_flow_api_members_rejects_other_kinds():
    system = names(flow_api_members("system"))
    assert {"flow", "setting"} <= set(system) and system == sorted(system)
    with pytest.raises(ValueError):
        flow_api_members("inputs")


# -- jedi ---------------------------------------------------------------------------------

def test_jedi_completes_module_attributes():
    started = time.perf_counter()
    found = at_end("import os\nos.pa")
    cold = time.perf_counter() - started
    started = time.perf_counter()
    at_end("import os\nos.pa")
    warm = time.perf_counter() - started
    print(f"jedi completion: first {cold * 1000:.0f} ms, again {warm * 1000:.0f} ms")
    assert "path" in names(found)
    assert all(name.lower().startswith("pa") for name in names(found))


def test_jedi_completes_a_child_execution_and_gives_signatures():
    found = {c.name: c for c in at_end(ANNOTATED + "    child = this.flow('Calculator')\n    child.wa")}
    assert {"wait", "wait_for"} <= set(found)
    assert found["wait"].kind == "function"
    assert found["wait"].signature.startswith("wait(")
    assert "timeout" in found["wait"].signature


def test_jedi_completion_list_is_capped():
    found = at_end("import os\nos.")  # the os module has over 400 names
    assert len(found) == 200
    assert "chdir" in names(found) and not [name for name in names(found) if name.startswith("_")]


@pytest.mark.parametrize("source, line, column", [
    ("def (:\n  x = [1,\n  os.", 3, 5),  # broken code
    ("x = 1", 5, 0),  # line past the end
    ("x = 1", 1, 99),  # column past the end of the line
    ("x = 1", 0, 0),
    ("x = 1", 1, -1),
    ("\0\0", 1, 1),
])
def test_broken_code_and_bad_positions_return_a_list(source, line, column):
    assert isinstance(complete(source, line, column, FLOWS), list)
