"""The command line's other commands and its answers to bad input."""

import json

from support import run_cli


def test_unknown_flow_is_a_usage_error_naming_the_flows_there(workspace):
    result = run_cli("run", "Nope", "--workspace", str(workspace))
    assert result.returncode == 2
    assert "no flow 'Nope' in workspace" in result.stderr
    assert "'Main Process'" in result.stderr
    assert "Traceback" not in result.stderr


def test_bad_input_json_is_a_usage_error(workspace):
    result = run_cli("run", "Calculator", "--workspace", str(workspace), "--input", "initial_value={oops")
    assert result.returncode == 2
    assert "--input initial_value: '{oops' is not valid JSON" in result.stderr


def test_input_without_equals_sign(workspace):
    result = run_cli("run", "Calculator", "--workspace", str(workspace), "--input", "initial_value")
    assert result.returncode == 2
    assert "is not KEY=JSON" in result.stderr


def test_inputs_reach_the_flow(workspace):
    result = run_cli("run", "Calculator", "--workspace", str(workspace), "--input", "initial_value=7", "--json")
    assert result.returncode == 0
    assert json.loads(result.stdout)["outputs"] == {"result": 7}


def test_missing_workspace(tmp_path):
    result = run_cli("run", "X", "--workspace", str(tmp_path / "missing"))
    assert result.returncode == 2
    assert "does not exist" in result.stderr


def test_folder_without_flows_is_not_a_workspace(tmp_path):
    result = run_cli("executions", "--workspace", str(tmp_path))
    assert result.returncode == 2
    assert "is not a Flowdesk workspace: it has no 'flows/' folder" in result.stderr


def test_bad_database_urls(workspace):
    result = run_cli("run", "Calculator", "-w", str(workspace), "--db", "not a url")
    assert result.returncode == 2 and "is not a URL" in result.stderr
    result = run_cli("run", "Calculator", "-w", str(workspace), "--db", "postgresql://nobody@127.0.0.1:1/none")
    assert result.returncode == 2
    assert "cannot open database" in result.stderr and "Connection refused" in result.stderr
    result = run_cli("run", "Calculator", "-w", str(workspace), "--db", "oracle://x@y/z")
    assert result.returncode == 2
    assert "needs the Python driver 'oracledb', which is not installed" in result.stderr
    result = run_cli("run", "Calculator", "-w", str(workspace), "--db", "nosuchdb://x@y/z")
    assert result.returncode == 2 and "names an unsupported database" in result.stderr


def test_executions_and_show(workspace):
    assert run_cli("run", "Main Process", "-w", str(workspace)).returncode == 0
    listing = run_cli("executions", "-w", str(workspace))
    assert listing.returncode == 0
    rows = listing.stdout.splitlines()
    assert rows[0].split() == ["ID", "STATUS", "FLOW", "NAME", "STARTED", "DURATION", "MESSAGE"]
    assert rows[1].split()[:3] == ["3", "success", "Messenger"]
    roots = json.loads(run_cli("executions", "-w", str(workspace), "--roots", "--json").stdout)
    assert [r["flow"] for r in roots] == ["Main Process"]
    shown = run_cli("show", "3", "-w", str(workspace))
    assert "Execution #3: create message with result (flow Messenger" in shown.stdout
    assert "Message:  The value is: 42" in shown.stdout
    missing = run_cli("show", "99", "-w", str(workspace))
    assert missing.returncode == 1 and "there is no execution #99" in missing.stderr


def test_database_url_from_workspace_config(workspace, tmp_path):
    db = tmp_path / "elsewhere.db"
    (workspace.root / ".flowdesk").mkdir(exist_ok=True)
    (workspace.root / ".flowdesk" / "config.toml").write_text(f'db_url = "sqlite:///{db}"\n')
    assert run_cli("run", "Calculator", "-w", str(workspace), "-i", "initial_value=1").returncode == 0
    assert db.exists()
    assert not (workspace.root / ".flowdesk" / "flowdesk.db").exists()


def test_graph_command(workspace):
    result = run_cli("graph", "-w", str(workspace), "--format", "json")
    assert result.returncode == 0, result.stderr
    graph = json.loads(result.stdout)
    edges = {(e["source"], e["target"]) for e in graph["edges"]}
    assert ("flow:Main Process", "flow:Calculator") in edges
    assert ("flow:Main Process", "flow:Messenger") in edges


def test_git_status_outside_a_repository_says_what_to_do(workspace):
    result = run_cli("git", "status", "-w", str(workspace))
    assert result.returncode != 0
    assert "Traceback" not in result.stderr
    assert "not a Git repository" in result.stderr or "not a git repository" in result.stderr.lower()
