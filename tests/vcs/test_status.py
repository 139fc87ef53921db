"""The porcelain v2 parser behind the Git panel, on real git output."""

from __future__ import annotations

from engine_core.vcs import GitRepository
from engine_core.vcs.status import parse_porcelain_v2
from git_helpers import git


def test_snapshot_of_staged_unstaged_renamed_untracked_and_spaces(clone):
    ws = clone("alice")
    repo = GitRepository.open(ws.root)
    (ws.flows_dir / "Calculator.py").write_text("# edited\n")
    (ws.flows_dir / "New Flow.py").write_text("# new\n")
    git(ws.root, "mv", "flows/Messenger.py", "flows/Renamed Messenger.py")
    repo.stage(["flows/Calculator.py"])
    (ws.flows_dir / "Calculator.py").write_text("# edited again\n")
    (ws.flows_dir / "Handle Errors.py").unlink()
    snap = repo.status()
    by_path = {f.path: f for f in snap.files}
    assert snap.branch == "main" and snap.upstream == "origin/main" and (snap.ahead, snap.behind) == (0, 0)
    assert by_path["flows/Calculator.py"].description == "modified (staged), modified"
    assert by_path["flows/New Flow.py"].untracked
    assert by_path["flows/Renamed Messenger.py"].original == "flows/Messenger.py"
    assert by_path["flows/Handle Errors.py"].description == "deleted"
    assert not by_path["flows/Handle Errors.py"].staged


def test_parser_reads_branch_ahead_behind_and_conflicts():
    out = ("# branch.oid 1234567890abcdef1234567890abcdef12345678\0# branch.head topic\0"
           "# branch.upstream origin/topic\0# branch.ab +2 -5\0"
           "u UU N... 100644 100644 100644 100644 a b c flows/Main Process.py\0? flows/x y.py\0")
    snap = parse_porcelain_v2(out)
    assert (snap.branch, snap.upstream, snap.ahead, snap.behind) == ("topic", "origin/topic", 2, 5)
    assert [f.path for f in snap.conflicts] == ["flows/Main Process.py"]
    assert snap.files[1].path == "flows/x y.py" and snap.files[1].untracked


def test_detached_head_in_snapshot(clone):
    ws = clone("alice")
    git(ws.root, "checkout", "-q", "--detach")
    snap = GitRepository.open(ws.root).status()
    assert snap.detached and "detached HEAD at" in snap.summary()
