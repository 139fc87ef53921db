"""engine_core.vcs.diff: the side-by-side alignment (rows face each other, fillers where a
side has no counterpart), the counts, the hunks for next/previous change, the characters
that differ, and reading HEAD and the working tree from a real repository (new, deleted,
renamed, binary, unchanged, line endings only)."""

from __future__ import annotations

import pytest

from git_helpers import git, isolate_git

from engine_core.vcs import GitRepository
from engine_core.vcs.diff import ADDED, CHANGED, EQUAL, FILLER, REMOVED, Hunk, compare, file_diff, load


def test_rows_are_aligned_with_fillers_and_kinds():
    diff = compare("a\nb\nc\nd\ne\n", "a\nB\nc\ne\nf\ng\n")
    assert diff.left.lines == ["a", "b", "c", "d", "e", "", ""]
    assert diff.right.lines == ["a", "B", "c", "", "e", "f", "g"]
    assert diff.left.kinds == [EQUAL, CHANGED, EQUAL, REMOVED, EQUAL, FILLER, FILLER]
    assert diff.right.kinds == [EQUAL, CHANGED, EQUAL, FILLER, EQUAL, ADDED, ADDED]
    assert diff.left.numbers == [1, 2, 3, 4, 5, None, None]
    assert diff.right.numbers == [1, 2, 3, None, 4, 5, 6]
    assert diff.hunks == [Hunk(1, 2), Hunk(3, 4), Hunk(5, 7)]
    assert (diff.added, diff.removed) == (3, 2)  # a changed line counts on both sides, as git does


def test_a_replaced_block_of_unequal_size_pairs_lines_then_pads():
    diff = compare("x = 1\ny = 2\nz = 3\n", "x = 10\n")
    assert diff.left.kinds == [CHANGED, REMOVED, REMOVED]
    assert diff.right.kinds == [CHANGED, FILLER, FILLER]
    assert diff.hunks == [Hunk(0, 3)]
    # The number differs: "1" -> "10", compared word by word.
    assert diff.left.differing == {0: [(4, 5)]} and diff.right.differing == {0: [(4, 6)]}


def test_inline_ranges_are_the_characters_that_differ():
    diff = compare("result = value * 1\n", "result = total * 2\n")
    (row, left), = diff.left.differing.items()
    right = diff.right.differing[row]
    old, new = diff.left.lines[row], diff.right.lines[row]
    assert "".join(old[a:b] for a, b in left) == "value1"
    assert "".join(new[a:b] for a, b in right) == "total2"


def test_next_and_previous_hunk_wrap_around_like_vs_code():
    diff = compare("".join(f"{i}\n" for i in range(20)), "".join(f"{i if i not in (3, 9, 15) else 'x'}\n"
                                                               for i in range(20)))
    assert [h.start for h in diff.hunks] == [3, 9, 15]
    assert diff.next_hunk(0).start == 3 and diff.next_hunk(3).start == 9 and diff.next_hunk(15).start == 3
    assert diff.previous_hunk(9).start == 3 and diff.previous_hunk(10).start == 9
    assert diff.previous_hunk(3).start == 15
    assert compare("same\n", "same\n").next_hunk(0) is None


def test_a_new_or_deleted_file_leaves_its_missing_side_empty():
    new = compare(None, "a\nb\n")
    assert new.left.lines == [] and new.right.kinds == [ADDED, ADDED] and new.hunks == [Hunk(0, 2)]
    assert (new.added, new.removed) == (2, 0)
    gone = compare("a\n", None)
    assert gone.right.lines == [] and gone.left.kinds == [REMOVED] and (gone.added, gone.removed) == (0, 1)


def test_a_large_rewrite_still_aligns_every_row():
    old = "".join(f"old line {i}\n" for i in range(3000))
    new = "".join(f"new line {i}\n" for i in range(2500))
    diff = compare(old, new)
    assert len(diff.left.lines) == len(diff.right.lines) == 3000
    assert (diff.added, diff.removed) == (2500, 3000)


@pytest.mark.parametrize("old, new, state, words", [
    (b"a\n", b"a\n", "unchanged", "No changes"),
    (b"a\r\nb\r\n", b"a\nb\n", "line endings", "line endings"),
    (b"\x89PNG\0\0", b"\x89PNG\0\1", "binary", "binary file"),
    (None, b"", "empty", "new: not in HEAD"),
    (None, None, "missing", "neither in HEAD"),
])
def test_states_without_a_text_diff_say_why(old, new, state, words):
    result = file_diff(old, new, "flows/x.py")
    assert result.state == state and result.diff is None or result.state == state
    assert words in result.message


def test_invalid_utf8_is_compared_with_replacement_characters():
    result = file_diff(b"caf\xe9\n", b"cafe\n", "files/notes.txt")
    assert result.state == "changed" and result.diff.left.lines == ["caf\ufffd"]


@pytest.fixture
def repository(tmp_path, monkeypatch):
    isolate_git(monkeypatch, tmp_path / "home")
    root = tmp_path / "repo"
    root.mkdir()
    (root / "flows").mkdir()
    (root / "flows/A.py").write_text("one\ntwo\n")
    (root / "flows/B.py").write_text("bee\n")
    repo = GitRepository.init(root)
    repo.stage(["flows", ".gitignore"])
    repo.commit("seed")
    return root


def test_load_reads_head_and_the_working_tree(repository):
    (repository / "flows/A.py").write_text("one\n2\n")
    result = load(repository, "flows/A.py")
    assert result.state == "changed" and result.diff.left.lines == ["one", "two"]
    assert result.diff.right.lines == ["one", "2"]
    assert load(repository, "flows/B.py").state == "unchanged"


def test_load_of_a_new_a_deleted_and_a_renamed_file(repository):
    (repository / "flows/New.py").write_text("fresh\n")
    (repository / "flows/B.py").unlink()
    new, deleted = load(repository, "flows/New.py"), load(repository, "flows/B.py")
    assert not new.old_exists and new.diff.right.lines == ["fresh"] and new.diff.left.lines == []
    assert not deleted.new_exists and deleted.diff.left.lines == ["bee"]
    git(repository, "mv", "flows/A.py", "flows/Renamed.py")
    (repository / "flows/Renamed.py").write_text("one\ntwo\nthree\n")
    renamed = load(repository, "flows/Renamed.py", original="flows/A.py")
    assert renamed.diff.right.kinds == [EQUAL, EQUAL, ADDED]


def test_the_fingerprint_changes_only_with_the_versions(repository):
    first = load(repository, "flows/A.py")
    assert load(repository, "flows/A.py").fingerprint == first.fingerprint
    (repository / "flows/A.py").write_text("changed\n")
    assert load(repository, "flows/A.py").fingerprint != first.fingerprint


def test_before_the_first_commit_everything_is_new(tmp_path, monkeypatch):
    isolate_git(monkeypatch, tmp_path / "home")
    GitRepository.init(tmp_path)
    (tmp_path / "x.py").write_text("x = 1\n")
    result = load(tmp_path, "x.py")
    assert not result.old_exists and result.diff.right.kinds == [ADDED]
