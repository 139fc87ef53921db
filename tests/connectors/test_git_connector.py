"""The GIT connector (flows.md, Connectors: ``command='get'|'metadata'``, ``repository_url``,
``ref``, ``username``/``password``, ``ssh_key``, ``files_path``; outputs ``files``,
``commit_sha``, ``short_sha``, ``commit_message``, ``author_name``, ``author_email``,
``commit_date_iso``), run through the real engine against real peers on this machine: a
``file://`` repository made by the test, a ``git daemon`` on 127.0.0.1, and an HTTP server that
refuses every login (git's smart-HTTP answer 401)."""

from __future__ import annotations

import base64
import http.server
import socket
import subprocess
import time
from datetime import datetime

import pytest

from api_support import find_nodes, log_texts, run_flow
from support import free_port, serving_http

PASSWORD = "pw-git-Planted-93af"
BINARY = bytes(range(256)) * 4


def _git(cwd, *args: str) -> str:
    env_args = ["-c", "user.name=Ada Lovelace", "-c", "user.email=ada@example.com", "-c", "init.defaultBranch=main"]
    return subprocess.run(["git", *env_args, *args], cwd=cwd, check=True, capture_output=True,
                          text=True).stdout.strip()


@pytest.fixture
def origin(tmp_path):
    """A repository with history: main (3 commits, an annotated tag on the 2nd), a feature branch."""
    repo = tmp_path / "origin"
    repo.mkdir()
    _git(repo, "init", "-q")
    (repo / "README.md").write_text("first\n", encoding="utf-8")
    _git(repo, "add", ".")
    _git(repo, "commit", "-q", "-m", "first commit")
    first = _git(repo, "rev-parse", "HEAD")
    (repo / "deploy" / "scripts").mkdir(parents=True)
    (repo / "deploy" / "app.yaml").write_text("name: app\nreplicas: 2\n", encoding="utf-8")
    (repo / "deploy" / "scripts" / "run.sh").write_text("#!/bin/sh\necho hi — ünïcode\n", encoding="utf-8")
    (repo / "deploy" / "logo.bin").write_bytes(BINARY)
    _git(repo, "add", ".")
    _git(repo, "commit", "-q", "-m", "add deploy files\n\nwith a body line")
    _git(repo, "tag", "-a", "v1.0", "-m", "release 1.0")
    tagged = _git(repo, "rev-parse", "HEAD")
    _git(repo, "switch", "-q", "-c", "feature")
    (repo / "README.md").write_text("feature\n", encoding="utf-8")
    _git(repo, "commit", "-q", "-am", "feature work")
    feature = _git(repo, "rev-parse", "HEAD")
    _git(repo, "switch", "-q", "main")
    (repo / "README.md").write_text("third\n", encoding="utf-8")
    _git(repo, "commit", "-q", "-am", "third commit")
    head = _git(repo, "rev-parse", "HEAD")
    return {"path": repo, "url": repo.as_uri(), "first": first, "tagged": tagged, "feature": feature, "head": head}


@pytest.fixture
def git_daemon(origin, tmp_path):
    """``git daemon`` serving a bare copy of ``origin`` as git://127.0.0.1:PORT/origin.git."""
    base = tmp_path / "served"
    base.mkdir()
    subprocess.run(["git", "clone", "-q", "--bare", str(origin["path"]), str(base / "origin.git")], check=True)
    port = free_port()
    daemon = subprocess.Popen(["git", "daemon", "--reuseaddr", "--listen=127.0.0.1", f"--port={port}",
                               f"--base-path={base}", "--export-all", str(base)],
                              stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    deadline = time.monotonic() + 30
    while True:  # until it accepts connections
        try:
            socket.create_connection(("127.0.0.1", port), timeout=1).close()
            break
        except OSError:
            if daemon.poll() is not None or time.monotonic() > deadline:
                daemon.kill()
                pytest.fail(f"git daemon did not start: {daemon.stderr.read().decode()}")
            time.sleep(0.05)
    yield f"git://127.0.0.1:{port}/origin.git"
    daemon.terminate()
    daemon.wait(10)


class _RefusesLogin(http.server.BaseHTTPRequestHandler):
    def do_GET(self):  # git's smart HTTP asks /info/refs first: refuse every login
        self.send_response(401)
        self.send_header("WWW-Authenticate", 'Basic realm="git"')
        self.send_header("Content-Length", "0")
        self.end_headers()

    def log_message(self, *args):
        pass


@pytest.fixture
def refusing_http():
    with serving_http(_RefusesLogin) as server:
        yield f"http://127.0.0.1:{server.server_address[1]}/team/flows.git"


CONNECT = """
    def handler(system, this, inputs):
        result = this.connect('GIT', **inputs)
        this.set_output(**result.get('output_value'))
"""

CATCHES = """
    import flow_api
    def handler(system, this, inputs):
        try:
            this.connect('GIT', **inputs)
        except flow_api.DependencyFailedError as exc:
            this.set_output(caught='DependencyFailedError', text=str(exc))
        except flow_api.ConnectorError as exc:
            this.set_output(caught='ConnectorError', text=str(exc))
"""


def _run(engine, workspace, inputs, body=CONNECT):
    record, tree = run_flow(engine, workspace, "UsesGit", body, inputs)
    return record, tree, find_nodes(tree, kind="connection")


def test_get_reads_a_folder_of_the_default_branch_with_the_commit(engine, workspace, origin):
    record, tree, (connection,) = _run(engine, workspace, {"command": "get", "repository_url": origin["url"],
                                                          "files_path": "deploy"})
    assert record["status"] == "success", record["message"]
    assert (connection["flow"], connection["status"]) == ("GIT", "success")
    out = tree["outputs"]
    assert out["commit_sha"] == origin["head"] and origin["head"].startswith(out["short_sha"])
    assert len(out["short_sha"]) >= 7
    assert (out["commit_message"], out["author_name"], out["author_email"]) == \
        ("third commit", "Ada Lovelace", "ada@example.com")
    assert datetime.fromisoformat(out["commit_date_iso"]).tzinfo is not None
    files = {f["name"]: f for f in out["files"]}
    assert sorted(files) == ["app.yaml", "logo.bin", "scripts/run.sh"]
    assert files["app.yaml"] == {"name": "app.yaml", "content": "name: app\nreplicas: 2\n", "binary": False}
    assert files["scripts/run.sh"]["content"] == "#!/bin/sh\necho hi — ünïcode\n"
    assert files["logo.bin"]["binary"] is True
    assert base64.b64decode(files["logo.bin"]["content"]) == BINARY


def test_metadata_over_git_daemon_for_a_branch_a_tag_and_an_older_sha(engine, workspace, origin, git_daemon):
    for ref, sha, message in (("feature", origin["feature"], "feature work"),
                              ("v1.0", origin["tagged"], "add deploy files\n\nwith a body line"),
                              (origin["first"], origin["first"], "first commit"),
                              (origin["first"][:10], origin["first"], "first commit")):
        record, tree, (connection,) = _run(engine, workspace, {"command": "metadata", "repository_url": git_daemon,
                                                              "ref": ref})
        assert record["status"] == "success", (ref, record["message"])
        assert (tree["outputs"]["commit_sha"], tree["outputs"]["commit_message"]) == (sha, message), ref
        assert "files" not in tree["outputs"]
        assert connection["inputs"] == {"command": "metadata", "repository_url": git_daemon, "ref": ref}


def test_get_of_one_file_by_tag_over_git_daemon(engine, workspace, origin, git_daemon):
    record, tree, _ = _run(engine, workspace, {"command": "get", "repository_url": git_daemon, "ref": "v1.0",
                                               "files_path": "/README.md"})
    assert record["status"] == "success", record["message"]
    assert tree["outputs"]["files"] == [{"name": "README.md", "content": "first\n", "binary": False}]


SEED_EXAMPLE = '''
    import flow_api

    def handler(system: flow_api.System, this: flow_api.Execution, inputs: dict):
        my_connection = this.connect(
            connector_type='GIT',
            command='get',
            repository_url=REPOSITORY_URL,
        )
        # read the outputs of the connection and log them
        this.log(my_connection.get('output_value'))

        return this.success('all done')
'''


def test_the_seed_pages_example_runs_unchanged_against_a_local_repository(engine, workspace, origin):
    # The seed page's flow, only its example URL replaced by this machine's repository.
    body = SEED_EXAMPLE.replace("REPOSITORY_URL", repr(origin["url"]))
    record, tree = run_flow(engine, workspace, "Seed GIT example", body)
    assert (record["status"], record["message"]) == ("success", "all done")
    (connection,) = find_nodes(tree, kind="connection")
    assert connection["status"] == "success" and connection["outputs"]["commit_sha"] == origin["head"]
    (logged,) = log_texts(tree)
    assert origin["head"] in logged and "'name': 'deploy/app.yaml'" in logged


@pytest.mark.parametrize("case", ["unreachable", "no such repository", "bad ref", "bad files_path", "auth"])
def test_failures_end_the_connection_in_error_and_raise_in_the_caller(engine, workspace, origin, case,
                                                                       refusing_http, tmp_path):
    inputs, expected = {
        "unreachable": ({"repository_url": f"git://127.0.0.1:{free_port()}/x.git"}, "GIT connector: cannot reach"),
        "no such repository": ({"repository_url": (tmp_path / "nothing-here").as_uri()},
                               "GIT connector: cannot reach"),
        "bad ref": ({"repository_url": origin["url"], "ref": "no-such-branch"},
                    "has no branch, tag or commit 'no-such-branch'; check ref="),
        "bad files_path": ({"repository_url": origin["url"], "files_path": "nope/dir"},
                           "GIT connector: files_path 'nope/dir' does not exist in"),
        "auth": ({"repository_url": refusing_http, "username": "alice", "password": PASSWORD},
                 "refused the credentials (or needs some); check username=/password="),
    }[case]
    record, tree, (connection,) = _run(engine, workspace, {"command": "get", **inputs}, CATCHES)
    assert record["status"] == "success", record["message"]
    assert connection["status"] == "error"
    assert expected in connection["message"], connection["message"]
    assert tree["outputs"]["caught"] == "DependencyFailedError"
    assert expected in tree["outputs"]["text"]
    if case == "auth":
        assert "alice:********@127.0.0.1" in connection["message"], connection["message"]
        assert connection["inputs"]["password"] == "********"
        # (the root flow's own inputs carry it: the test hands it in as the caller's input)
        assert PASSWORD not in repr(connection) + repr(tree["outputs"]) + repr(tree["logs"])


@pytest.mark.parametrize("inputs, expected", [
    ({"command": "get", "repo_url": "file:///x"},
     "unknown parameter 'repo_url' for the GIT connector; it takes command, files_path, password, ref, "
     "repository_url, ssh_key, timeout, username"),
    ({"command": "get"}, "the GIT connector needs repository_url=..."),
])
def test_a_bad_parameter_is_refused_before_anything_starts(engine, workspace, inputs, expected):
    record, tree, connections = _run(engine, workspace, inputs, CATCHES)
    assert record["status"] == "success", record["message"]
    assert tree["outputs"]["caught"] == "ConnectorError"
    assert expected in tree["outputs"]["text"] and tree["outputs"]["text"].startswith("this.connect('GIT')")
    assert connections == [], "no connection execution is made for a call that cannot start"


def test_get_over_ssh_with_a_key(engine, workspace, origin, ssh_server):
    """ssh transport: the asyncssh server of tests/connectors/ssh_server.py runs git-upload-pack
    for real; the key is given as ssh_key= (written to a 0600 temp file, never stored)."""
    url = f"ssh://{ssh_server.username}@127.0.0.1:{ssh_server.port}{origin['path']}"
    record, tree, (connection,) = _run(engine, workspace, {"command": "get", "repository_url": url,
                                                          "ref": "feature", "files_path": "README.md",
                                                          "ssh_key": ssh_server.client_key})
    assert record["status"] == "success", record["message"]
    assert tree["outputs"]["commit_sha"] == origin["feature"]
    assert tree["outputs"]["files"] == [{"name": "README.md", "content": "feature\n", "binary": False}]
    assert connection["inputs"]["ssh_key"] == "********"
    assert any("git-upload-pack" in command for command in ssh_server.commands), ssh_server.commands


def test_ssh_without_an_accepted_key_is_refused_with_a_clear_message(engine, workspace, origin, ssh_server):
    import asyncssh

    stranger = asyncssh.generate_private_key("ssh-ed25519").export_private_key().decode()
    url = f"ssh://{ssh_server.username}@127.0.0.1:{ssh_server.port}{origin['path']}"
    record, tree, (connection,) = _run(engine, workspace, {"command": "metadata", "repository_url": url,
                                                          "ssh_key": stranger}, CATCHES)
    assert tree["outputs"]["caught"] == "DependencyFailedError"
    assert "refused the credentials (or needs some); check username=/password= (https) or ssh_key= (ssh)" in \
        connection["message"], connection["message"]
    assert stranger.splitlines()[1] not in repr(connection)
