"""Clone, edit, commit, push from one workspace and pull into another, over file:// and over
git daemon; the files on both sides are checked, not only the outcomes."""

from __future__ import annotations

import subprocess

import pytest

from engine_core import Workspace
from engine_core.vcs import GitError, GitRepository, WorkspaceRepo
from git_helpers import copy_examples, git, make_bare, seed_remote

NEW_FLOW = "import flow_api\n\n\ndef handler(system, this, inputs):\n    return this.success('from alice')\n"


def _store(workspace: Workspace):
    from engine_core.store import Store

    return Store(workspace.default_db_url())


def _round_trip(alice: Workspace, bob: Workspace) -> None:
    (alice.flows_dir / "New One.py").write_text(NEW_FLOW, encoding="utf-8")
    (alice.flows_dir / "Calculator.py").write_text("# edited by alice\n", encoding="utf-8")
    (alice.flows_dir / "Messenger.py").unlink()
    alice.write_file("reports/summary.csv", b"flow,runs\nCalculator,3\n")  # system.file's folder
    # The records of schedules, webhooks and connectors travel with the flows (their secrets never do).
    for folder in ("schedules", "webhooks", "connectors"):
        (alice.root / folder).mkdir(exist_ok=True)
        (alice.root / folder / "nightly.json").write_text('{"flow": "Calculator"}\n', encoding="utf-8")
    alice_repo = WorkspaceRepo.open(alice, _store(alice))
    alice_repo.commit_all("alice: new flow, edit, delete")
    assert "pushed main" in alice_repo.push()

    bob_repo = WorkspaceRepo.open(bob, _store(bob))
    result = bob_repo.pull()

    assert result.outcome == "fast-forward"
    assert set(result.changed) == {"flows/New One.py", "flows/Calculator.py", "flows/Messenger.py",
                                   "files/reports/summary.csv", "schedules/nightly.json", "webhooks/nightly.json",
                                   "connectors/nightly.json"}
    assert (bob.root / "schedules" / "nightly.json").read_text(encoding="utf-8") == '{"flow": "Calculator"}\n'
    assert bob.read_file("reports/summary.csv") == b"flow,runs\nCalculator,3\n"
    assert (bob.flows_dir / "New One.py").read_text(encoding="utf-8") == NEW_FLOW
    assert (bob.flows_dir / "Calculator.py").read_text(encoding="utf-8") == "# edited by alice\n"
    assert not (bob.flows_dir / "Messenger.py").exists()
    assert bob_repo.repository.status().files == []


def test_file_url_clone_commit_push_pull(clone):
    _round_trip(clone("alice"), clone("bob"))


def test_git_daemon_clone_commit_push_pull(tmp_path, daemon):
    bare = make_bare(daemon.base / "team.git")
    seed_remote(copy_examples(tmp_path / "seed"), str(bare))
    url = daemon.url("team.git")
    for name in ("alice", "bob"):
        GitRepository.clone(url, tmp_path / name)
    alice, bob = Workspace.open(tmp_path / "alice"), Workspace.open(tmp_path / "bob")
    assert GitRepository.open(alice.root).remote_url() == url
    _round_trip(alice, bob)
    # The push really went through the daemon into the served bare repository.
    assert git(bare, "show", "main:flows/Calculator.py") == "# edited by alice\n"


def test_clone_from_a_plain_folder_path(tmp_path, remote):
    path = remote.removeprefix("file://")
    GitRepository.clone(path, tmp_path / "from path")
    assert (tmp_path / "from path" / "flows" / "Main Process.py").is_file()


def test_clone_reports_progress_and_cancel_removes_the_folder(tmp_path, remote):
    import threading

    import git as gitpython

    class Recorder(gitpython.RemoteProgress):
        def __init__(self):
            super().__init__()
            self.calls = 0

        def update(self, op_code, cur_count, max_count=None, message=""):
            self.calls += 1

    recorder = Recorder()
    GitRepository.clone(remote, tmp_path / "with progress", progress=recorder)
    assert recorder.calls > 0

    cancelled = threading.Event()
    cancelled.set()
    with pytest.raises(GitError, match="clone cancelled"):
        GitRepository.clone(remote, tmp_path / "cancelled", cancel=cancelled)
    assert not (tmp_path / "cancelled").exists()


def test_clone_into_a_non_empty_folder_is_refused_and_leaves_it_alone(tmp_path, remote):
    target = tmp_path / "busy"
    target.mkdir()
    (target / "mine.txt").write_text("keep me")
    with pytest.raises(GitError, match="not empty"):
        GitRepository.clone(remote, target)
    assert (target / "mine.txt").read_text() == "keep me"


def test_init_makes_a_repository_with_a_gitignore_keeping_local_state_out(workspace):
    ws = Workspace.open(workspace.root)
    (ws.root / ".gitignore").write_text("my-own-rule\n")
    ws.state_dir  # creates .flowdesk/ with its database folder
    (ws.state_dir / "flowdesk.db").write_text("not for git")
    (ws.root / "run.log").write_text("log")
    repo = GitRepository.init(ws.root)
    repo.stage_workspace()
    repo.commit("first")
    tracked = git(ws.root, "ls-files").splitlines()
    assert "flows/Main Process.py" in tracked and ".gitignore" in tracked
    assert not any(p.startswith(".flowdesk") or p.endswith((".db", ".log")) for p in tracked)
    ignore = (ws.root / ".gitignore").read_text()
    assert ignore.startswith("my-own-rule\n") and ".flowdesk/" in ignore
    GitRepository.init(ws.root)  # again: nothing duplicated
    assert (ws.root / ".gitignore").read_text() == ignore


def test_commit_works_without_any_global_identity_when_env_has_one(tmp_path, monkeypatch):
    # HOME (set by the fixture) has no .gitconfig: the identity comes from the environment only.
    assert not (tmp_path / "home" / ".gitconfig").exists()
    root = copy_examples(tmp_path / "ws")
    repo = GitRepository.init(root)
    repo.stage_workspace()
    assert len(repo.commit("first")) == 40


def test_missing_identity_says_how_to_set_it(tmp_path, monkeypatch):
    for key in ("GIT_AUTHOR_NAME", "GIT_AUTHOR_EMAIL", "GIT_COMMITTER_NAME", "GIT_COMMITTER_EMAIL"):
        monkeypatch.delenv(key)
    monkeypatch.setenv("EMAIL", "")
    root = copy_examples(tmp_path / "ws")
    repo = GitRepository.init(root)
    subprocess.run(["git", "config", "user.useConfigOnly", "true"], cwd=root, check=True)
    repo.stage_workspace()
    with pytest.raises(GitError, match="git config --global user.name"):
        repo.commit("first")


def test_history_show_and_restore_a_flow(clone):
    ws = clone("alice")
    repo = GitRepository.open(ws.root)
    path = "flows/Calculator.py"
    original = (ws.root / path).read_text()
    (ws.root / path).write_text("# version 2\n")
    repo.stage([path])
    repo.commit("v2")
    history = repo.history(path)
    assert [c.subject for c in history] == ["v2", "seed"]
    assert repo.show(path, history[1].sha) == original
    repo.restore(path, history[1].sha)
    assert (ws.root / path).read_text() == original
    assert [f.path for f in repo.status().files] == [path]  # restored, to be committed like an edit


def test_branches_create_and_switch(clone):
    ws = clone("alice")
    repo = WorkspaceRepo.open(ws)
    repo.switch("feature", create=True)
    (ws.flows_dir / "Calculator.py").write_text("# on feature\n")
    repo.commit_all("feature work")
    repo.switch("main")
    assert (ws.flows_dir / "Calculator.py").read_text() != "# on feature\n"
    assert repo.repository.branches() == ["feature", "main"]
    repo.switch("feature")
    assert (ws.flows_dir / "Calculator.py").read_text() == "# on feature\n"
