"""``flowdesk git status|pull|push|commit`` through engine_core.vcs.cli (the module the main
CLI dispatches to), parsed by a real argparse parser as the main CLI would."""

from __future__ import annotations

import argparse
import json

from engine_core.vcs import cli
from git_helpers import git


def flowdesk_git(*argv: str) -> int:
    parser = argparse.ArgumentParser(prog="flowdesk")
    cli.add_parser(parser.add_subparsers(dest="command"))
    return cli.run(parser.parse_args(["git", *argv]))


def test_commit_push_pull_status_from_the_command_line(clone, capsys):
    alice, bob = clone("alice"), clone("bob")
    (alice.flows_dir / "Calculator.py").write_text("# from the CLI\n")
    (alice.flows_dir / "Scripted.py").write_text("# new\n")

    assert flowdesk_git("status", "-w", str(alice.root)) == 0
    out = capsys.readouterr().out
    assert "main → origin/main (ahead 0, behind 0)" in out and "flows/Scripted.py" in out

    assert flowdesk_git("commit", "-m", "scripted change", "--workspace", str(alice.root)) == 0
    assert "committed" in capsys.readouterr().out
    assert git(alice.root, "log", "-1", "--format=%s").strip() == "scripted change"
    assert flowdesk_git("push", "-w", str(alice.root)) == 0

    assert flowdesk_git("pull", "-w", str(bob.root)) == 0
    assert "changed: flows/Scripted.py" in capsys.readouterr().out
    assert (bob.flows_dir / "Calculator.py").read_text() == "# from the CLI\n"

    assert flowdesk_git("status", "-w", str(bob.root), "--json") == 0
    status = json.loads(capsys.readouterr().out)
    assert status["branch"] == "main" and status["files"] == [] and status["behind"] == 0


def test_cli_conflict_then_resolve_theirs(clone, capsys):
    alice, bob = clone("alice"), clone("bob")
    (alice.flows_dir / "Calculator.py").write_text("# alice\n")
    flowdesk_git("commit", "-m", "a", "-w", str(alice.root))
    flowdesk_git("push", "-w", str(alice.root))
    (bob.flows_dir / "Calculator.py").write_text("# bob\n")
    flowdesk_git("commit", "-m", "b", "-w", str(bob.root))
    capsys.readouterr()

    assert flowdesk_git("pull", "-w", str(bob.root)) == 1
    out = capsys.readouterr().out
    assert "conflict: flows/Calculator.py" in out and "flowdesk git abort" in out
    assert flowdesk_git("resolve", "flows/Calculator.py", "theirs", "-w", str(bob.root)) == 0
    assert "merge committed" in capsys.readouterr().out
    assert (bob.flows_dir / "Calculator.py").read_text() == "# alice\n"


def test_cli_abort_keeps_our_version(clone, capsys):
    alice, bob = clone("alice"), clone("bob")
    (alice.flows_dir / "Calculator.py").write_text("# alice\n")
    flowdesk_git("commit", "-m", "a", "-w", str(alice.root))
    flowdesk_git("push", "-w", str(alice.root))
    (bob.flows_dir / "Calculator.py").write_text("# bob\n")
    flowdesk_git("commit", "-m", "b", "-w", str(bob.root))
    assert flowdesk_git("pull", "-w", str(bob.root)) == 1
    assert flowdesk_git("abort", "-w", str(bob.root)) == 0
    assert (bob.flows_dir / "Calculator.py").read_text() == "# bob\n"


def test_cli_errors_are_messages_with_exit_codes(clone, workspace, capsys):
    assert flowdesk_git("status", "-w", str(workspace.root)) == 2
    assert "not a Git repository" in capsys.readouterr().err
    ws = clone("alice")
    assert flowdesk_git("commit", "-m", "nothing", "-w", str(ws.root)) == 1
    assert "nothing to commit" in capsys.readouterr().err
    git(ws.root, "remote", "set-url", "origin", "git://127.0.0.1:9/none.git")
    assert flowdesk_git("pull", "-w", str(ws.root)) == 1
    err = capsys.readouterr().err
    assert err.startswith("flowdesk: fetch failed: cannot reach") and "Traceback" not in err


def test_the_flowdesk_command_runs_git_commit_and_status(clone):
    """The real entry point in its own process, as a script would call it."""
    from support import run_cli

    ws = clone("alice")
    (ws.flows_dir / "Calculator.py").write_text("# by script\n")
    result = run_cli("git", "commit", "-m", "from a script", "--workspace", str(ws.root))
    assert result.returncode == 0, result.stderr
    assert git(ws.root, "show", "HEAD:flows/Calculator.py") == "# by script\n"
    result = run_cli("git", "status", "-w", str(ws.root))
    assert result.returncode == 0 and "ahead 1, behind 0" in result.stdout


def test_cli_marks_a_setting_secret(clone, file_keyring, capsys):
    from engine_core.store import Store

    ws = clone("alice")
    Store(ws.default_db_url()).save_setting("token", "hunter2")
    assert flowdesk_git("secret", "token", "-w", str(ws.root)) == 0
    assert "now secret" in capsys.readouterr().out
    assert "hunter2" not in (ws.root / "settings" / "token.json").read_text()
    assert flowdesk_git("commit", "-m", "secret ref", "-w", str(ws.root)) == 0
    assert "hunter2" not in git(ws.root, "log", "-p")
    assert json.loads(file_keyring.get_password("flowdesk", f"{ws.root.name}/token")) == "hunter2"
