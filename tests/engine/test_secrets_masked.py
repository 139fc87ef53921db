"""Secrets stay out of everything stored and shown (issue 10): a connection's password and the
token inside a URL it is given are masked in the database (every text column of every table),
the CLI output of ``flowdesk run``, ``show --json``, ``executions --json``, and the logs; and a
``flowdesk git pull`` from a remote whose URL carries a token does not print the token.

The connector is a real installed plugin (an entry point, as a third party ships one) written to
leak on purpose: it logs and prints its URL and password, returns them as outputs and quotes them
in its exception. The engine must mask all of it. The flows run through the real CLI."""

from __future__ import annotations

import json
import os
import socket
import sqlite3
import subprocess
import textwrap
from pathlib import Path

import pytest

from support import run_cli

PASSWORD = "pw-Planted-7c1e9a"
TOKEN = "tok-Planted-4b2f88"
URL = f"https://alice:{TOKEN}@127.0.0.1:9/repo.git"
PLANTED = (PASSWORD, TOKEN)

PLUGIN = '''
"""A connector that leaks its secrets every way it can (the engine must mask them)."""
from engine_core.connectors.spec import ConnectorSpec, Param


def leaky(this, params):
    this.log(f"connecting to {params['url']} with password {params['password']}")
    print("the password is", params["password"])
    if params.get("fail"):
        raise RuntimeError(f"login to {params['url']} as alice/{params['password']} refused")
    return {"seen": f"{params['url']} {params['password']}", "ok": True}


LEAKY = ConnectorSpec("LEAKY", leaky, params=(Param("url", required=True), Param("password", secret=True),
                                             Param("fail")))
'''

FLOW = f"""
    import flow_api
    def handler(system, this, inputs):
        good = this.connect('LEAKY', url={URL!r}, password={PASSWORD!r})
        this.log('the good one answered')
        try:
            this.connect('LEAKY', url={URL!r}, password={PASSWORD!r}, fail=True)
        except flow_api.DependencyFailedError as exc:
            this.set_output(failure=str(exc))
        this.set_output(seen=good.get('output_value'))
"""


@pytest.fixture
def plugin_env(tmp_path):
    site = tmp_path / "plugin site"
    dist_info = site / "leaky-1.0.dist-info"
    dist_info.mkdir(parents=True)
    (site / "leaky_plugin.py").write_text(textwrap.dedent(PLUGIN).lstrip(), encoding="utf-8")
    (dist_info / "METADATA").write_text("Metadata-Version: 2.1\nName: leaky\nVersion: 1.0\n", encoding="utf-8")
    (dist_info / "entry_points.txt").write_text("[flowdesk.connectors]\nLEAKY = leaky_plugin:LEAKY\n",
                                                encoding="utf-8")
    (dist_info / "RECORD").write_text("", encoding="utf-8")
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join([str(site), *filter(None, [env.get("PYTHONPATH")])])
    return env


def _leaks(text: str) -> list[str]:
    return [secret for secret in PLANTED if secret in text]


def _database_texts(workspace) -> dict[str, str]:
    """Every text (and blob) value of every table of the workspace's SQLite database."""
    (db_path,) = [p for p in Path(workspace, ".flowdesk").glob("*.db*") if p.suffix == ".db"] or \
        list(Path(workspace, ".flowdesk").glob("*.sqlite*"))
    texts: dict[str, str] = {}
    with sqlite3.connect(db_path) as db:
        tables = [r[0] for r in db.execute("SELECT name FROM sqlite_master WHERE type='table'")]
        for table in tables:
            for row in db.execute(f'SELECT * FROM "{table}"'):
                for i, value in enumerate(row):
                    if isinstance(value, bytes):
                        value = value.decode("utf-8", "replace")
                    if isinstance(value, str):
                        texts[f"{table}[{i}]:{len(texts)}"] = value
    assert tables, f"no tables found in {db_path}"
    return texts


def test_a_connections_password_and_url_token_are_masked_everywhere(workspace, plugin_env):
    workspace.write_flow("Leaks", FLOW)
    run = run_cli("run", "Leaks", "-w", str(workspace), env=plugin_env)
    assert run.returncode == 0, run.stdout + run.stderr
    assert not _leaks(run.stdout + run.stderr), run.stdout + run.stderr

    listing = run_cli("executions", "-w", str(workspace), "--json", env=plugin_env)
    assert listing.returncode == 0, listing.stderr
    assert not _leaks(listing.stdout + listing.stderr)
    rows = json.loads(listing.stdout)
    root_id = max(r["id"] for r in rows if r.get("parent_id") is None)

    show = run_cli("show", str(root_id), "-w", str(workspace), "--json", env=plugin_env)
    assert show.returncode == 0, show.stderr
    assert not _leaks(show.stdout + show.stderr), show.stdout
    tree = json.loads(show.stdout)
    good, bad = tree["children"]
    # What the user sees is still useful: the user name and host stay, the secrets are masked.
    assert good["status"] == "success" and bad["status"] == "error"
    assert good["inputs"] == {"url": "https://alice:********@127.0.0.1:9/repo.git", "password": "********"}
    assert bad["message"] == ("RuntimeError: login to https://alice:********@127.0.0.1:9/repo.git "
                              "as alice/******** refused")
    assert "connecting to https://alice:********@127.0.0.1:9/repo.git with password ********" in \
        [entry["text"] for entry in good["logs"]]
    assert tree["outputs"]["seen"] == {"seen": "https://alice:********@127.0.0.1:9/repo.git ********", "ok": True}
    assert "refused" in tree["outputs"]["failure"]
    for node in (good, bad):
        show_child = run_cli("show", str(node["id"]), "-w", str(workspace), env=plugin_env)
        assert show_child.returncode == 0 and not _leaks(show_child.stdout), show_child.stdout

    leaked = {where: text for where, text in _database_texts(workspace).items() if _leaks(text)}
    assert not leaked, f"secrets stored in the database: {leaked}"


def _closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]  # nothing listens there once the socket is closed


def test_git_pull_from_a_remote_url_with_a_token_does_not_print_the_token(workspace):
    def git(*args: str) -> None:
        subprocess.run(["git", "-C", str(workspace), *args], check=True, capture_output=True)

    git("init", "-q", "-b", "main")
    git("-c", "user.name=T", "-c", "user.email=t@example.com", "commit", "-q", "--allow-empty", "-m", "first")
    git("remote", "add", "origin", f"http://alice:{TOKEN}@127.0.0.1:{_closed_port()}/repo.git")
    for action in ("pull", "push"):
        result = run_cli("git", action, "-w", str(workspace))
        output = result.stdout + result.stderr
        assert result.returncode == 1, output
        assert "cannot reach" in output and "alice:********@127.0.0.1" in output, output
        assert not _leaks(output), output


@pytest.mark.parametrize("text, shown", [
    ("fatal: cannot reach 'https://alice:s3cr3t-x@git.example.com/x.git/'",
     "fatal: cannot reach 'https://alice:********@git.example.com/x.git/'"),
    ("ssh://deploy:pa55word@10.0.0.1:2222/repo", "ssh://deploy:********@10.0.0.1:2222/repo"),
    ("https://ghp_abcdef123456@github.com/o/r.git", "https://********@github.com/o/r.git"),
    ("postgresql://app:p%40ss@db:5432/flows", "postgresql://app:********@db:5432/flows"),
    ("ssh://git@github.com/o/r.git and git@github.com:o/r.git", "ssh://git@github.com/o/r.git and git@github.com:o/r.git"),
    ("https://example.com/path?q=a@b", "https://example.com/path?q=a@b"),
])
def test_credentials_in_urls_are_masked_and_nothing_else_changes(text, shown):
    from engine_core import redact

    assert redact.mask_urls(text) == shown


def test_known_secret_values_are_masked_also_url_encoded():
    from engine_core import redact

    secrets = redact.secrets_of({"password": "p@ss word!", "url": "https://u:tok-9@h/x"}, {"password"})
    text = "login p@ss word! failed; sent p%40ss%20word%21 to https://u:tok-9@h/x, token tok-9"
    assert redact.mask(text, secrets) == \
        "login ******** failed; sent ******** to https://u:********@h/x, token ********"
