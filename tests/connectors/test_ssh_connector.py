"""The SSH connector through the real engine against a real asyncssh server on 127.0.0.1
(tests/connectors/ssh_server.py) that really runs the scripts: password and key logins, the
report and #OUTPUT_VAR variables, host key pinning, files, and each failure (wrong password,
wrong host key, script timeout, nothing listening, non-zero exit) as a failed connection
execution with a clear message and DependencyFailedError in the caller."""

from __future__ import annotations

import json

from api_support import find_nodes, log_texts, run_flow
from support import free_port

CATCHING = """
import flow_api
def handler(system, this, inputs):
    try:
        this.connect('SSH', **inputs['params'])
    except flow_api.DependencyFailedError as exc:
        this.set_output(caught=str(exc))
"""


def _failed(engine, workspace, params: dict) -> dict:
    """Run a connection that must fail; return the failed connection node."""
    record, tree = run_flow(engine, workspace, "SSH fails", CATCHING, inputs={"params": params})
    assert record["status"] == "success", record["message"]
    assert "caught" in record["outputs"], "the caller did not get DependencyFailedError"
    (connection,) = find_nodes(tree, kind="connection")
    assert connection["status"] == "error"
    return connection


SCRIPT = r"""
echo "running as $(id -un)"
GREETING="hello from ssh"
MULTI=$(printf 'line one\nline two')
#OUTPUT_VAR(GREETING)
#OUTPUT_VAR(MULTI)
#OUTPUT_VAR(UNSET_ONE)
echo done
"""


def test_password_login_runs_the_script_and_returns_report_and_vars(engine, workspace, ssh_server):
    s = ssh_server
    record, tree = run_flow(engine, workspace, "SSH password", """
        def handler(system, this, inputs):
            result = this.connect('SSH', hostname=inputs['host'], port=inputs['port'], username=inputs['user'],
                                  password=inputs['password'], hostkey=inputs['hostkey'], script=inputs['script'])
            this.set_output(**result.get('output_value'))
    """, inputs={"host": s.host, "port": s.port, "user": s.username, "password": s.password,
                 "hostkey": s.host_public_key, "script": SCRIPT})
    assert record["status"] == "success", record["message"]
    out = record["outputs"]
    import getpass
    assert out["report"] == f"running as {getpass.getuser()}\ndone\n"  # the trap's lines are cut out
    assert out["var"] == {"GREETING": "hello from ssh", "MULTI": "line one\nline two", "UNSET_ONE": ""}
    assert out["retcode"] == 0
    (connection,) = find_nodes(tree, kind="connection")
    assert (connection["flow"], connection["status"]) == ("SSH", "success")
    assert connection["outputs"]["var"]["GREETING"] == "hello from ssh"
    assert connection["inputs"]["password"] == "********"  # secret masked in the stored tree
    assert len(s.commands) == 1


def test_key_login_without_hostkey_logs_the_accepted_key_and_copies_files(engine, workspace, ssh_server, tmp_path):
    s = ssh_server
    remote = tmp_path / "remote"
    remote.mkdir()
    local = tmp_path / "copied here"
    record, tree = run_flow(engine, workspace, "SSH key", """
        def handler(system, this, inputs):
            result = this.connect('SSH', host=inputs['host'], port=inputs['port'], username=inputs['user'],
                                  key=inputs['key'], script=inputs['script'], output_files=[inputs['report_file']],
                                  copy_files=[inputs['report_file']], destination_location=inputs['local'])
            this.set_output(**result.get('output_value'))
    """, inputs={"host": s.host, "port": s.port, "user": s.username, "key": s.client_key, "local": str(local),
                 "report_file": str(remote / "report.txt"),
                 "script": f"echo 'written remotely' > '{remote / 'report.txt'}'; echo ok; exit 0"})
    assert record["status"] == "success", record["message"]
    out = record["outputs"]
    assert out["report"] == "ok\n"
    assert out["files"] == {str(remote / "report.txt"): "written remotely\n"}
    assert out["copied_files"] == [str(local / "report.txt")]
    assert (local / "report.txt").read_text() == "written remotely\n"
    (connection,) = find_nodes(tree, kind="connection")
    assert any(s.host_public_key.split()[1] in text and "hostkey=" in text for text in log_texts(connection)), \
        log_texts(connection)
    assert connection["inputs"]["key"] == "********"  # the key is masked


def test_wrong_password_is_a_failed_connection_without_the_password(engine, workspace, ssh_server):
    s = ssh_server
    connection = _failed(engine, workspace, {"host": s.host, "port": s.port, "username": s.username,
                                             "password": "wrong-horse-battery", "script": "echo never"})
    message = connection["message"]
    assert "SSH connector" in message and "refused the login of 'tester'" in message, message
    assert "check username=, password=, key=" in message
    assert "wrong-horse-battery" not in json.dumps(connection)
    assert s.commands == []


def test_a_different_host_key_than_pinned_fails(engine, workspace, ssh_server):
    s = ssh_server
    connection = _failed(engine, workspace, {"host": s.host, "port": s.port, "username": s.username,
                                             "password": s.password, "hostkey": s.other_host_public_key,
                                             "script": "echo never"})
    assert "host key of 127.0.0.1" in connection["message"] and "does not match hostkey" in connection["message"]
    assert s.commands == []  # nothing ran on a server that is not the pinned one


def test_script_timeout_and_non_zero_exit(engine, workspace, ssh_server):
    s = ssh_server
    login = {"host": s.host, "port": s.port, "username": s.username, "password": s.password}
    slow = _failed(engine, workspace, {**login, "script": "echo started; sleep 30", "script_timeout": 1})
    assert "did not end within script_timeout=1 s" in slow["message"], slow["message"]
    assert "started" in slow["message"]
    failing = _failed(engine, workspace, {**login, "script": "echo partial; echo oops >&2; exit 4"})
    assert "ended with exit code 4" in failing["message"] and "oops" in failing["message"], failing["message"]
    assert failing["outputs"]["retcode"] == 4
    assert failing["outputs"]["report"] == "partial\noops\n"


def test_nothing_listening_is_a_failed_connection(engine, workspace):
    port = free_port()
    connection = _failed(engine, workspace, {"host": "127.0.0.1", "port": port, "username": "u",
                                             "password": "p", "script": "true", "connect_timeout": 5})
    assert f"cannot connect to 127.0.0.1:{port}" in connection["message"], connection["message"]
    assert "is an SSH server listening there?" in connection["message"]
