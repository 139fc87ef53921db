"""Flowchart extraction: each statement kind becomes the box (and arrows) a reader expects."""

from __future__ import annotations

import textwrap

from engine_core.graph import build_flowchart


def chart(body: str):
    source = "import flow_api\n\ndef handler(system, this, inputs):\n" + textwrap.indent(textwrap.dedent(body), "    ")
    return build_flowchart(source)


def kinds(c):
    return [b.kind for b in c.boxes]


def links(c):
    return {(c.box(l.source).kind, c.box(l.target).kind, l.label) for l in c.links}


def test_plain_statements_group_into_one_block():
    c = chart("a = 1\nb = 2\nc = a + b\nreturn this.success('ok')\n")
    assert kinds(c) == ["start", "block", "success", "end"]
    block = c.boxes_of_kind("block")[0]
    assert (block.first_line, block.last_line) == (4, 6)
    assert "a = 1" in block.label and "+2 more" in block.label


def test_flow_and_connect_calls_have_their_boxes_with_targets():
    c = chart("x = this.flow('Calculator', initial_value=1).get('output_value')\n"
              "this.connect(connector_type='GIT', url='u')\nthis.flow(inputs['name'])\n")
    flows = c.boxes_of_kind("flow")
    assert [b.target for b in flows] == ["Calculator", None]
    assert flows[0].label == "flow: Calculator" and "(dynamic)" in flows[1].label
    assert c.boxes_of_kind("connect")[0].target == "GIT"


def test_log_message_output_success_error():
    c = chart("this.log('hi')\nthis.message('s', 'm')\nthis.set_output(a=1)\n"
              "if inputs.get('x'):\n    return this.error('bad')\nreturn this.success('ok')\n")
    assert kinds(c) == ["start", "log", "message", "output", "if", "error", "success", "end"]
    assert ("error", "end", "") in links(c) and ("success", "end", "") in links(c)


def test_if_else_branches():
    c = chart("if inputs['a']:\n    x = 1\nelse:\n    x = 2\nthis.log(x)\n")
    assert c.boxes_of_kind("if")[0].label == "if inputs['a']"
    assert ("if", "block", "yes") in links(c) and ("if", "block", "no") in links(c)
    log = c.boxes_of_kind("log")[0].id
    assert len([l for l in c.links if l.target == log]) == 2  # both branches join


def test_if_without_else_passes_by():
    c = chart("if inputs['a']:\n    this.log('a')\nthis.set_output(done=True)\n")
    assert ("if", "output", "no") in links(c)


def test_for_and_while_loops_loop_back():
    c = chart("for i in range(3):\n    this.flow('Calculator', initial_value=i)\n"
              "while True:\n    if inputs:\n        break\n    continue\n")
    loops = c.boxes_of_kind("loop")
    assert [b.label for b in loops] == ["for i in range(3)", "while True"]
    assert ("loop", "flow", "next") in links(c) and ("flow", "loop", "again") in links(c)
    assert ("loop", "loop", "done") in links(c)
    assert ("block", "loop", "continue") in links(c) and ("block", "end", "break") in links(c)


def test_try_except_else_finally():
    c = chart("try:\n    this.flow('A')\nexcept flow_api.DependencyFailedError:\n    this.log('failed')\n"
              "else:\n    this.log('ok')\nfinally:\n    z = 1\n")
    assert kinds(c) == ["start", "try", "flow", "log", "except", "log", "block", "end"]
    assert ("try", "except", "except") in links(c)
    assert c.boxes_of_kind("except")[0].label == "except flow_api.DependencyFailedError"
    finally_block = c.boxes_of_kind("block")[0].id
    assert len([l for l in c.links if l.target == finally_block]) == 2


def test_with_and_match_and_raise():
    c = chart("with open('f') as f:\n    data = f.read()\nmatch data:\n    case 'a':\n        raise ValueError('a')\n"
              "    case _:\n        pass\n")
    assert "with" in kinds(c) and "raise" in kinds(c)
    assert ("if", "raise", "case 'a'") in links(c)
    assert ("raise", "end", "") in links(c)


def test_box_at_line_is_the_innermost():
    c = chart("for i in range(3):\n    this.log(i)\n")
    assert c.box_at_line(5).kind == "log"
    assert c.box_at_line(4).kind == "loop"
    assert c.box_at_line(1) is None


def test_no_handler_or_syntax_error_is_reported():
    assert "no handler" in build_flowchart("x = 1\n").error
    assert "syntax error on line 1" in build_flowchart("def handler(:\n").error


def test_labels_match_the_source_and_a_long_handler_is_quick():
    """Box labels are the statements' text (multi-line and non-ASCII included), and a
    3,000-line handler is charted in well under a second (it took 30 s when every label
    re-split the whole source)."""
    import time

    from engine_core.graph.flowchart import build_flowchart

    source = ("def handler(system, this, inputs):\n"
              "    größe = this.flow('Größe',\n"
              "                      x=1)\n"
              + "".join(f"    v{i} = inputs.get('k{i}', {i})\n    this.log('step', v{i})\n" for i in range(1500))
              + "    if größe:\n"
              + "        raise RuntimeError('Größe',\n"
              + "                           2)\n"
              + "    return this.success('done')\n")
    started = time.perf_counter()
    chart = build_flowchart(source)
    elapsed = time.perf_counter() - started
    labels = [box.label for box in chart.boxes]
    assert "flow: Größe" in labels
    assert "v1499 = inputs.get('k1499', 1499)" in labels and "this.log('step', v1499)" in labels
    assert "raise RuntimeError('Größe', 2)" in labels, labels
    assert elapsed < 2.0, f"{elapsed:.2f} s"
