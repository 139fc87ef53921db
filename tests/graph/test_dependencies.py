"""Dependency graph extraction on fixture workspaces, and the `flowdesk graph` command."""

from __future__ import annotations

import argparse
import json
import xml.etree.ElementTree as ET

from engine_core import Workspace
from engine_core.graph import build_graph
from engine_core.graph.cli import run
from engine_core.graph.scan import scan_source

HEAD = "import flow_api\n\ndef handler(system, this, inputs):\n"


def graph_of(workspace, observed=()):
    return build_graph(Workspace.open(workspace.root), observed)


def test_example_workspace_static_calls(workspace):
    graph = graph_of(workspace)
    calls = {(e.source, e.target) for e in graph.edges.values() if e.kind == "call"}
    assert ("flow:Main Process", "flow:Calculator") in calls
    assert ("flow:Main Process", "flow:Messenger") in calls
    assert ("flow:Handle Errors", "flow:my_other_flow_name") in calls
    assert graph.edges[("flow:Main Process", "flow:Calculator")].lines == [6]
    assert {n.label for n in graph.nodes.values() if n.kind == "flow"} == set(Workspace.open(workspace.root).flow_names())
    assert graph.cycles == []


def test_dynamic_name_points_to_the_dynamic_node(workspace):
    workspace.write_flow("Dyn", HEAD + "    which = inputs['flow']\n    this.flow(which)\n    this.flow(f'X{which}')\n")
    graph = graph_of(workspace)
    edge = graph.edges[("flow:Dyn", "dynamic:")]
    assert edge.kind == "dynamic" and edge.lines == [5, 6]
    assert graph.nodes["dynamic:"].kind == "dynamic"
    assert not [e for e in graph.edges.values() if e.source == "flow:Dyn" and e.kind == "call"]


def test_cycles_are_found_and_flagged(workspace):
    workspace.write_flow("A", HEAD + "    this.flow('B')\n")
    workspace.write_flow("B", HEAD + "    this.flow('C')\n")
    workspace.write_flow("C", HEAD + "    this.flow('A')\n    this.flow('Calculator')\n")
    workspace.write_flow("Self", HEAD + "    this.flow('Self')\n")
    graph = graph_of(workspace)
    assert graph.cycles == [["flow:A", "flow:B", "flow:C"], ["flow:Self"]]
    assert graph.nodes["flow:A"].in_cycle and graph.edges[("flow:C", "flow:A")].in_cycle
    assert not graph.edges[("flow:C", "flow:Calculator")].in_cycle
    assert not graph.nodes["flow:Calculator"].in_cycle


def test_unknown_flow_is_its_own_kind(workspace):
    workspace.write_flow("Caller", HEAD + "    this.flow('Nowhere', x=1)\n    this.flow(flow_name='Calculator')\n")
    graph = graph_of(workspace)
    assert graph.nodes["flow:Nowhere"].kind == "unknown"
    assert graph.nodes["flow:Calculator"].kind == "flow"
    assert ("flow:Caller", "flow:Calculator") in graph.edges


def test_settings_and_connectors(workspace):
    workspace.write_flow("Uses", HEAD + (
        "    s = system.setting('token')\n"
        "    s.save(value=1)\n"
        "    x = system.setting('limit').get('value')\n"
        "    this.connect(connector_type='GIT', url='x')\n"
        "    this.connect('REST', url='y')\n"))
    graph = graph_of(workspace)
    assert graph.nodes["setting:token"].kind == "setting"
    assert graph.edges[("flow:Uses", "setting:token")].access == "write"
    assert graph.edges[("flow:Uses", "setting:limit")].access == "read"
    assert graph.nodes["connector:GIT"].kind == "connector"
    assert graph.edges[("flow:Uses", "connector:REST")].lines == [8]
    # the example's setting, read and passed on
    assert ("flow:Pass a Setting", "setting:my-setting") in graph.edges


def test_renamed_handler_parameters_are_followed():
    refs = scan_source("def handler(sys_, me, inputs):\n    me.flow('X')\n    sys_.setting('s').get('value')\n")
    assert [(r.kind, r.name) for r in refs.refs] == [("flow", "X"), ("setting", "s")]


def test_syntax_error_keeps_the_node(workspace):
    workspace.write_flow("Broken", HEAD + "    this.flow('A'\n")
    graph = graph_of(workspace)
    assert "line" in graph.nodes["flow:Broken"].error
    assert not graph.successors("flow:Broken")


def test_observed_edges_are_added_and_marked(workspace):
    graph = graph_of(workspace, [("Main Process", "Calculator", "flow"), ("Calculator", "Messenger", "flow"),
                                 ("Calculator", "REST", "connection")])
    assert graph.edges[("flow:Main Process", "flow:Calculator")].static
    assert graph.edges[("flow:Main Process", "flow:Calculator")].observed
    only_seen = graph.edges[("flow:Calculator", "flow:Messenger")]
    assert only_seen.observed and not only_seen.static
    assert graph.nodes["connector:REST"].kind == "connector"


def test_observed_edges_from_a_real_store(engine):
    from engine_core.graph import observed_edges

    engine.wait(engine.submit("Main Process", {}), 60)
    pairs = observed_edges(engine.store)
    assert ("Main Process", "Calculator", "flow") in pairs
    assert ("Main Process", "Messenger", "flow") in pairs


def test_reaches_and_reached_by(workspace):
    workspace.write_flow("Top", HEAD + "    this.flow('Main Process')\n")
    graph = graph_of(workspace)
    assert graph.reaches("flow:Top") == {"flow:Main Process", "flow:Calculator", "flow:Messenger"}
    assert graph.reached_by("flow:Calculator") == {"flow:Main Process", "flow:Top"}


def cli(workspace, fmt, capsys, **extra):
    code = run(argparse.Namespace(workspace=str(workspace.root), format=fmt, output=None, **extra))
    return code, capsys.readouterr()


def test_cli_json(workspace, capsys):
    workspace.write_flow("A", HEAD + "    this.flow('A')\n")
    code, out = cli(workspace, "json", capsys)
    data = json.loads(out.out)
    assert code == 0
    assert {"source": "flow:Main Process", "target": "flow:Calculator"}.items() <= next(
        e for e in data["edges"] if e["target"] == "flow:Calculator").items()
    assert data["cycles"] == [["A"]]


def test_cli_dot(workspace, capsys):
    code, out = cli(workspace, "dot", capsys)
    assert code == 0 and out.out.startswith("digraph flows {")
    assert '"flow:Main Process" -> "flow:Calculator"' in out.out


def test_cli_svg_is_valid_xml(workspace, capsys):
    code, out = cli(workspace, "svg", capsys)
    root = ET.fromstring(out.out)
    assert code == 0 and root.tag.endswith("svg")
    texts = [t.text for t in root.iter("{http://www.w3.org/2000/svg}text")]
    assert "Main Process" in texts and "my-setting" in texts


def test_cli_bad_workspace(tmp_path, capsys):
    code = run(argparse.Namespace(workspace=str(tmp_path / "nope"), format="dot", output=None))
    assert code == 2 and "does not exist" in capsys.readouterr().err
