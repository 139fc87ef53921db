"""A pull with nothing new for the current branch says so and changes nothing: not the files
(uncommitted edits, untracked flows, settings files: same bytes, same mtimes), not HEAD or the
local commits, not the index, not the settings in the database."""

from __future__ import annotations

from pathlib import Path

from engine_core.store import Store
from engine_core.vcs import WorkspaceRepo
from git_helpers import git
from support import run_cli


def _snapshot(root: Path) -> dict:
    """Everything a user could see change: workspace files (content and mtime), HEAD, branches,
    the status, the reflog, a merge in progress. The .git internals a fetch may touch
    (FETCH_HEAD, remote-tracking refs) and the database files are left out."""
    files = {}
    for path in sorted(root.rglob("*")):
        rel = path.relative_to(root)
        if rel.parts[0] in (".git", ".flowdesk") or not path.is_file():
            continue
        stat = path.stat()
        files[rel.as_posix()] = (path.read_bytes(), stat.st_mtime_ns)
    return {
        "files": files,
        "head": git(root, "rev-parse", "HEAD"),
        "branches": git(root, "for-each-ref", "--format=%(refname) %(objectname)", "refs/heads"),
        "status": git(root, "status", "--porcelain=v1", "-z", "--untracked-files=all"),
        "index": git(root, "ls-files", "-s"),
        "reflog": git(root, "reflog", "show", "--format=%H %gs", "HEAD"),
        "stash": git(root, "stash", "list"),
        "merging": (root / ".git" / "MERGE_HEAD").exists(),
    }


def _prepare(clone):
    """bob, with a local commit not pushed, an uncommitted edit, an untracked flow and settings;
    alice has pushed a new branch only, so the fetch brings something, but not for bob's main."""
    alice, bob = clone("alice"), clone("bob")
    bob_store = Store(bob.default_db_url())
    bob_store.save_setting("threshold", 7)
    bob_store.save_setting("api config", {"url": "https://example.com", "retries": 3})
    bob_repo = WorkspaceRepo.open(bob, bob_store)
    (bob.flows_dir / "Calculator.py").write_text("# bob's committed change\n")
    bob_repo.commit_all("bob's local commit")
    (bob.flows_dir / "Messenger.py").write_text("# bob's uncommitted edit\n")
    (bob.flows_dir / "Untracked.py").write_text("# bob's new flow, not added\n")

    git(alice.root, "switch", "-c", "feature")
    (alice.flows_dir / "Feature.py").write_text("# only on the feature branch\n")
    git(alice.root, "add", "flows/Feature.py")
    git(alice.root, "commit", "-q", "-m", "feature")
    git(alice.root, "push", "-q", "origin", "feature")
    return bob, bob_store


def test_pull_with_nothing_new_reports_it_and_changes_nothing(clone):
    bob, bob_store = _prepare(clone)
    before, settings_before = _snapshot(bob.root), bob_store.settings()
    assert "feature" not in git(bob.root, "branch", "-r")

    result = WorkspaceRepo.open(bob, bob_store).pull()

    assert (result.outcome, result.message, result.changed, result.conflicts) == \
        ("up-to-date", "already up to date", [], [])
    assert _snapshot(bob.root) == before
    assert bob_store.settings() == settings_before
    assert "origin/feature" in git(bob.root, "branch", "-r"), "the fetch did run"
    assert git(bob.root, "rev-list", "--count", "origin/main..HEAD").strip() == "1", "the local commit is kept, unpushed"
    bob_store.close()


def test_flowdesk_git_pull_with_nothing_new_says_already_up_to_date(clone):
    bob, bob_store = _prepare(clone)
    settings_before = bob_store.settings()
    bob_store.close()
    before = _snapshot(bob.root)

    result = run_cli("git", "pull", "-w", str(bob.root))

    assert (result.returncode, result.stdout, result.stderr) == (0, "already up to date\n", "")
    assert _snapshot(bob.root) == before
    store = Store(bob.default_db_url())
    assert store.settings() == settings_before
    store.close()
