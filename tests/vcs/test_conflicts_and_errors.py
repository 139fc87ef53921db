"""Conflicting pulls resolved each way and aborted; the failures a user meets (non-fast-forward
push, unreachable remote, refused credentials, detached HEAD, uncommitted edits in the way)
each as a GitError with a message that says what to do. File contents are asserted."""

from __future__ import annotations

import http.server
import threading

import pytest

from engine_core.vcs import (AuthenticationError, GitError, GitRepository, PushRejectedError,
                             RemoteUnreachableError, WorkspaceRepo)
from engine_core.vcs import conflicts
from git_helpers import git

PATH = "flows/Calculator.py"


def _conflict(clone, ours: str = "# bob's version\n", theirs: str = "# alice's version\n"):
    """Alice pushes a change to Calculator; Bob commits another to it and pulls: a conflict."""
    alice, bob = clone("alice"), clone("bob")
    (alice.root / PATH).write_text(theirs)
    WorkspaceRepo.open(alice).commit_all("alice")
    WorkspaceRepo.open(alice).push()
    (bob.root / PATH).write_text(ours)
    bob_repo = WorkspaceRepo.open(bob)
    bob_repo.commit_all("bob")
    return bob, bob_repo


def test_conflicting_pull_stops_and_shows_three_versions(clone):
    bob, repo = _conflict(clone)
    before = repo.repository.repo.head.commit.hexsha
    result = repo.pull()
    assert result.outcome == "conflicts" and result.conflicts == [PATH]
    assert conflicts.in_merge(repo.repository)
    versions = conflicts.versions(repo.repository, PATH)
    assert versions.ours == "# bob's version\n"
    assert versions.theirs == "# alice's version\n"
    assert versions.base is not None and "def handler" in versions.base
    assert "<<<<<<<" in versions.merged and "# bob's version" in versions.merged
    assert repo.repository.repo.head.commit.hexsha == before  # nothing committed yet
    with pytest.raises(GitError, match="already in progress"):
        repo.pull()
    with pytest.raises(GitError, match="still conflict"):
        repo.finish_merge()


@pytest.mark.parametrize("choice, expected", [("ours", "# bob's version\n"), ("theirs", "# alice's version\n"),
                                              ("merged", "# bob's and alice's\n")])
def test_conflict_resolved_each_way(clone, choice, expected):
    bob, repo = _conflict(clone)
    repo.pull()
    conflicts.resolve(repo.repository, PATH, choice, text=expected if choice == "merged" else None)
    sha = repo.finish_merge()
    assert (bob.root / PATH).read_text() == expected
    assert git(bob.root, "show", f"{sha}:{PATH}") == expected
    assert len(repo.repository.repo.head.commit.parents) == 2  # a real merge commit
    assert repo.repository.status().files == [] and not conflicts.in_merge(repo.repository)
    repo.push()  # and it can be shared now


def test_merged_text_with_markers_left_is_refused(clone):
    bob, repo = _conflict(clone)
    repo.pull()
    marked = conflicts.versions(repo.repository, PATH).merged
    with pytest.raises(GitError, match="conflict markers"):
        conflicts.resolve(repo.repository, PATH, "merged", text=marked)
    assert (bob.root / PATH).read_text() == marked


def test_abort_restores_exactly_what_was_there(clone):
    bob, repo = _conflict(clone)
    # An uncommitted edit elsewhere and an untracked flow must survive the pull and the abort.
    (bob.root / "flows/Messenger.py").write_text("# unsaved work in progress\n")
    (bob.root / "flows/Draft.py").write_text("# draft\n")
    before_head = repo.repository.repo.head.commit.hexsha
    before = {p.name: p.read_bytes() for p in bob.flows_dir.iterdir()}
    assert repo.pull().outcome == "conflicts"
    repo.abort_merge()
    assert repo.repository.repo.head.commit.hexsha == before_head
    assert {p.name: p.read_bytes() for p in bob.flows_dir.iterdir()} == before
    assert not conflicts.in_merge(repo.repository)
    assert {(f.path, f.description) for f in repo.repository.status().files} == {
        ("flows/Messenger.py", "modified"), ("flows/Draft.py", "new (untracked)")}


def test_pull_that_would_overwrite_uncommitted_edits_changes_nothing(clone):
    alice, bob = clone("alice"), clone("bob")
    (alice.root / PATH).write_text("# alice\n")
    WorkspaceRepo.open(alice).commit_all("alice")
    WorkspaceRepo.open(alice).push()
    (bob.root / PATH).write_text("# bob, not committed\n")
    repo = WorkspaceRepo.open(bob)
    head = repo.repository.repo.head.commit.hexsha
    with pytest.raises(GitError, match=r"would overwrite your uncommitted changes to flows/Calculator.py.*Commit"):
        repo.pull()
    assert (bob.root / PATH).read_text() == "# bob, not committed\n"
    assert repo.repository.repo.head.commit.hexsha == head


def test_non_fast_forward_push_says_pull_first_and_keeps_local_commit(clone):
    alice, bob = clone("alice"), clone("bob")
    (alice.root / PATH).write_text("# alice\n")
    WorkspaceRepo.open(alice).commit_all("alice")
    WorkspaceRepo.open(alice).push()
    (bob.root / "flows/Messenger.py").write_text("# bob\n")
    repo = WorkspaceRepo.open(bob)
    sha = repo.commit_all("bob")
    with pytest.raises(PushRejectedError, match="Pull first"):
        repo.push()
    assert repo.repository.repo.head.commit.hexsha == sha
    # Pull merges (no conflict: other files), then the push goes through.
    assert repo.pull().outcome == "merged"
    repo.push()
    assert (bob.root / PATH).read_text() == "# alice\n" and (bob.root / "flows/Messenger.py").read_text() == "# bob\n"


def test_unreachable_remote(clone, tmp_path):
    from engine_core.vcs.gitcmd import git_env  # noqa: F401 (the env is what makes it fail fast)

    ws = clone("alice")
    repo = GitRepository.open(ws.root)
    repo.repo.remote("origin").set_url("git://127.0.0.1:9/nothing.git")  # port 9: nobody listens
    with pytest.raises(RemoteUnreachableError, match="cannot reach"):
        repo.fetch()
    with pytest.raises(RemoteUnreachableError, match="Check the URL"):
        WorkspaceRepo.open(ws).pull()
    with pytest.raises(RemoteUnreachableError):
        GitRepository.clone(str(tmp_path / "no such repo"), tmp_path / "x")
    assert not (tmp_path / "x").exists()


class _NeedsPassword(http.server.BaseHTTPRequestHandler):
    def do_GET(self):  # every request: 401, as a server wanting credentials answers
        self.send_response(401)
        self.send_header("WWW-Authenticate", 'Basic realm="git"')
        self.send_header("Content-Length", "0")
        self.end_headers()

    def log_message(self, *args):
        pass


def test_authentication_failure_says_how_to_set_up_credentials(tmp_path):
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _NeedsPassword)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        url = f"http://127.0.0.1:{server.server_address[1]}/team.git"
        with pytest.raises(AuthenticationError, match="credential helper") as info:
            GitRepository.clone(url, tmp_path / "x")
        assert "Traceback" not in str(info.value)
    finally:
        server.shutdown()
    assert not (tmp_path / "x").exists()


def test_detached_head_blocks_pull_push_commit_with_a_way_out(clone):
    ws = clone("alice")
    repo = WorkspaceRepo.open(ws)
    git(ws.root, "checkout", "-q", "--detach", "HEAD")
    for action in (repo.pull, repo.push, lambda: repo.commit_all("x")):
        with pytest.raises(GitError, match="HEAD is detached.*git switch main"):
            action()


def test_not_a_repository(workspace):
    with pytest.raises(GitError, match="Init Repository"):
        GitRepository.open(workspace.root)
