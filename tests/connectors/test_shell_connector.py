"""The SHELL connector through the real engine: real commands, their exit codes, environment,
stdin, working directory, a timeout that kills the whole process group, and a string command
refused. Each failure is a failed connection execution and DependencyFailedError in the caller."""

from __future__ import annotations

import os

from api_support import find_nodes, run_flow


def _connection(tree) -> dict:
    (connection,) = find_nodes(tree, kind="connection")
    return connection


def test_echo_runs_with_env_input_and_cwd(engine, workspace, tmp_path):
    folder = tmp_path / "cwd here"
    folder.mkdir()
    (folder / "here.txt").write_text("x")
    record, tree = run_flow(engine, workspace, "Shell echo", f"""
        def handler(system, this, inputs):
            echo = this.connect('SHELL', command=['echo', 'hello', 'world; rm -rf /nothing'])
            env = this.connect('SHELL', command=['sh', '-c', 'echo "$GREETING $HOME"'], env={{'GREETING': 'hi'}})
            cat = this.connect('SHELL', command=['cat'], input='from stdin\\n')
            ls = this.connect('SHELL', command=['ls'], cwd={str(folder)!r})
            this.set_output(echo=echo.get('output_value'), env=env.get('output_value')['stdout'],
                            cat=cat.get('output_value')['stdout'], ls=ls.get('output_value')['stdout'])
    """)
    assert record["status"] == "success", record["message"]
    out = record["outputs"]
    # The argument with ';' reached echo as one argument: no shell split or ran it.
    assert out["echo"] == {"exit_code": 0, "stdout": "hello world; rm -rf /nothing\n", "stderr": ""}
    assert out["env"] == f"hi {os.environ['HOME']}\n"  # env= is merged over the engine's environment
    assert out["cat"] == "from stdin\n"
    assert out["ls"] == "here.txt\n"
    connections = find_nodes(tree, kind="connection")
    assert [(c["flow"], c["status"]) for c in connections] == [("SHELL", "success")] * 4
    assert connections[0]["inputs"]["command"] == ["echo", "hello", "world; rm -rf /nothing"]


def test_non_zero_exit_fails_the_connection_unless_check_is_false(engine, workspace):
    record, tree = run_flow(engine, workspace, "Shell exit", """
        import flow_api
        def handler(system, this, inputs):
            tolerated = this.connect('SHELL', command=['sh', '-c', 'echo out; echo bad >&2; exit 3'], check=False)
            this.set_output(tolerated=tolerated.get('output_value'))
            try:
                this.connect('SHELL', command=['sh', '-c', 'echo broken >&2; exit 3'])
            except flow_api.DependencyFailedError as exc:
                this.set_output(caught=str(exc))
    """)
    assert record["status"] == "success", record["message"]
    assert record["outputs"]["tolerated"] == {"exit_code": 3, "stdout": "out\n", "stderr": "bad\n"}
    assert "caught" in record["outputs"], record["outputs"]
    ok, failed = find_nodes(tree, kind="connection")
    assert ok["status"] == "success"
    assert failed["status"] == "error"
    assert "SHELL connector" in failed["message"] and "exit code 3" in failed["message"], failed["message"]
    assert "broken" in failed["message"] and "check=False" in failed["message"]
    assert failed["outputs"]["stderr"] == "broken\n"  # still readable on the failed connection


def test_timeout_kills_the_process_group(engine, workspace, tmp_path):
    marker = tmp_path / "grandchild-survived"
    # The grandchild (a background sleep then touch) is in the same process group: it must die too.
    script = f"(sleep 2; touch '{marker}') & sleep 30"
    record, tree = run_flow(engine, workspace, "Shell timeout", f"""
        def handler(system, this, inputs):
            this.connect('SHELL', command=['sh', '-c', {script!r}], timeout=0.5)
    """)
    assert record["status"] == "error"
    assert "DependencyFailedError" in record["message"] or "failed" in record["message"], record["message"]
    connection = _connection(tree)
    assert connection["status"] == "error"
    assert "did not end within timeout=0.5 s" in connection["message"], connection["message"]
    assert "killed" in connection["message"]
    # Wait as long as the grandchild would have needed, through a real command run by the engine.
    run_flow(engine, workspace, "Wait", """
        def handler(system, this, inputs):
            this.connect('SHELL', command=['sleep', '2.5'])
    """)
    assert not marker.exists(), "a process started by the timed-out command outlived the timeout"


def test_a_string_command_is_refused_and_a_missing_program_is_named(engine, workspace):
    record, tree = run_flow(engine, workspace, "Shell string", """
        import flow_api
        def handler(system, this, inputs):
            messages = []
            for command in ('ls -l; rm -rf ~', ['no-such-program-xyz', '-v']):
                try:
                    this.connect('SHELL', command=command)
                except flow_api.DependencyFailedError as exc:
                    messages.append(str(exc))
            this.set_output(messages=messages)
    """)
    assert record["status"] == "success", record["message"]
    assert len(record["outputs"]["messages"]) == 2
    refused, missing = find_nodes(tree, kind="connection")
    assert refused["status"] == "error"
    assert "pass command= as a list" in refused["message"], refused["message"]
    assert missing["status"] == "error"
    assert "'no-such-program-xyz' was not found" in missing["message"], missing["message"]
