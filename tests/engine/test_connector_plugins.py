"""Connectors from other packages, through the ``flowdesk.connectors`` entry-point group (README:
"More come from the ``flowdesk.connectors`` entry-point group. An unknown type raises
``flow_api.ConnectorError`` listing the known ones").

The plugin is a real installed distribution: a ``*.dist-info`` folder with ``METADATA`` and
``entry_points.txt`` next to its module, in a folder put on ``PYTHONPATH``, as ``pip install
--target`` would leave it. The flows run through the real CLI in a fresh process: the engine
there resolves the connector type, and the worker processes (forked from a forkserver that gets
the engine's ``sys.path``) import and run the plugin. A fresh process also keeps this test
independent of the entry points this pytest process may have loaded already."""

from __future__ import annotations

import json
import os
import textwrap

import pytest

from support import run_cli

PLUGIN = '''
"""An example Flowdesk connector plugin: echoes its parameters."""
import os


def echo(this, params):
    this.log('echo plugin ran')
    return {"echoed": params, "pid": os.getpid()}
'''


@pytest.fixture
def plugin_path(tmp_path):
    site = tmp_path / "plugin site"
    dist_info = site / "flowdesk_echo-1.0.dist-info"
    dist_info.mkdir(parents=True)
    (site / "flowdesk_echo.py").write_text(textwrap.dedent(PLUGIN).lstrip(), encoding="utf-8")
    (dist_info / "METADATA").write_text("Metadata-Version: 2.1\nName: flowdesk-echo\nVersion: 1.0\n", encoding="utf-8")
    (dist_info / "entry_points.txt").write_text("[flowdesk.connectors]\nECHO = flowdesk_echo:echo\n", encoding="utf-8")
    (dist_info / "top_level.txt").write_text("flowdesk_echo\n", encoding="utf-8")
    (dist_info / "RECORD").write_text("", encoding="utf-8")
    return site


def _env(extra_path=None) -> dict:
    env = dict(os.environ)
    paths = [str(extra_path)] if extra_path else []
    if env.get("PYTHONPATH"):
        paths.append(env["PYTHONPATH"])
    if paths:
        env["PYTHONPATH"] = os.pathsep.join(paths)
    return env


def test_a_plugin_connector_runs_as_a_connection_execution(workspace, plugin_path):
    workspace.write_flow("Echoes", """
        import os
        def handler(system, this, inputs):
            reply = this.connect('ECHO', text='hello', n=3)
            this.set_output(reply=reply.get('output_value'), flow_pid=os.getpid())
    """)
    result = run_cli("run", "Echoes", "-w", str(workspace), "--json", env=_env(plugin_path))
    assert result.returncode == 0, result.stdout + result.stderr
    tree = json.loads(result.stdout)
    assert tree["status"] == "success", tree["message"]
    (connection,) = tree["children"]
    assert (connection["kind"], connection["flow"], connection["status"]) == ("connection", "ECHO", "success")
    assert connection["inputs"] == {"text": "hello", "n": 3}
    assert [entry["text"] for entry in connection["logs"]] == ["echo plugin ran"]
    plugin_pid = connection["outputs"]["pid"]
    assert connection["outputs"] == {"echoed": {"text": "hello", "n": 3}, "pid": plugin_pid}
    assert tree["outputs"]["reply"] == connection["outputs"]
    # It ran in a worker of its own: neither the CLI's process nor the calling flow's worker.
    assert plugin_pid != tree["outputs"]["flow_pid"]


UNKNOWN = """
    import flow_api
    def handler(system, this, inputs):
        try:
            this.connect('TELEPATHY', command='get')
        except flow_api.ConnectorError as exc:
            this.set_output(error=str(exc))
"""


def test_unknown_type_lists_the_known_types_including_the_plugins(workspace, plugin_path):
    workspace.write_flow("Unknown", UNKNOWN)
    result = run_cli("run", "Unknown", "-w", str(workspace), "--json", env=_env(plugin_path))
    assert result.returncode == 0, result.stdout + result.stderr
    tree = json.loads(result.stdout)
    from engine_core import connectors

    built_in = connectors.available()  # this process has no plugin: the built-in types
    assert "ECHO" not in built_in
    assert tree["outputs"] == {
        "error": f"unknown connector type 'TELEPATHY'; available connector types: {', '.join(sorted(built_in + ['ECHO']))}"}
    assert tree["children"] == [], "no connection execution is made for an unknown type"


def test_without_the_plugin_installed_only_the_built_in_types_are_known(workspace):
    workspace.write_flow("Unknown", UNKNOWN)
    workspace.write_flow("Echoes", """
        def handler(system, this, inputs):
            this.connect('ECHO', text='hello')
    """)
    from engine_core import connectors

    known = ", ".join(connectors.available())  # the built-in types only (GIT, REST, SQL…, SSH…)
    assert "ECHO" not in known and "REST" in known and "GIT" in known
    result = run_cli("run", "Unknown", "-w", str(workspace), "--json", env=_env())
    assert json.loads(result.stdout)["outputs"] == {
        "error": f"unknown connector type 'TELEPATHY'; available connector types: {known}"}
    result = run_cli("run", "Echoes", "-w", str(workspace), "--json", env=_env())
    assert result.returncode == 1
    assert json.loads(result.stdout)["message"].startswith(
        f"ConnectorError: unknown connector type 'ECHO'; available connector types: {known}")
