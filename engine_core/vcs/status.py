"""A fast snapshot of the working copy for the Git panel: one
``git status --porcelain=v2 --branch -z`` call, parsed. GitPython's per-file diff objects
are far slower on thousands of flows; this stays well under the panel's 300 ms budget."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import git

# Porcelain v2 letters for index (X) and worktree (Y) states, in words for the panel.
_WORDS = {"M": "modified", "T": "type changed", "A": "added", "D": "deleted", "R": "renamed",
          "C": "copied", "U": "unmerged", ".": ""}


@dataclass(frozen=True)
class FileStatus:
    path: str  # relative to the repository root, with forward slashes
    index: str  # X: '.' unchanged, 'M', 'A', 'D', 'R', ... ; '?' untracked; 'U' conflicted
    worktree: str  # Y, same letters
    original: str | None = None  # for renames: the old path
    unmerged: bool = False  # a merge conflict; index/worktree then say who changed it (e.g. UU, DU)

    @property
    def staged(self) -> bool:
        return self.index not in (".", "?") and not self.unmerged

    @property
    def unstaged(self) -> bool:
        return self.worktree != "." or self.untracked

    @property
    def untracked(self) -> bool:
        return self.index == "?"

    @property
    def conflicted(self) -> bool:
        return self.unmerged

    @property
    def description(self) -> str:
        if self.conflicted:
            return "conflict"
        if self.untracked:
            return "new (untracked)"
        parts = []
        if self.staged:
            parts.append(f"{_WORDS.get(self.index, self.index)} (staged)")
        if self.worktree != ".":
            parts.append(_WORDS.get(self.worktree, self.worktree))
        return ", ".join(parts)


@dataclass
class StatusSnapshot:
    branch: str | None = None  # None when HEAD is detached
    head: str | None = None  # commit id; None before the first commit
    upstream: str | None = None
    ahead: int = 0
    behind: int = 0
    files: list[FileStatus] = field(default_factory=list)
    merging: bool = False

    @property
    def detached(self) -> bool:
        return self.branch is None and self.head is not None

    @property
    def conflicts(self) -> list[FileStatus]:
        return [f for f in self.files if f.conflicted]

    def summary(self) -> str:
        where = self.branch or (f"detached HEAD at {self.head[:8]}" if self.head else "no commits yet")
        tracking = f" → {self.upstream} (ahead {self.ahead}, behind {self.behind})" if self.upstream else " (no upstream)"
        return f"{where}{tracking}; {len(self.files)} changed file(s)" + ("; MERGE IN PROGRESS" if self.merging else "")


def snapshot(repo: git.Repo) -> StatusSnapshot:
    out = repo.git.status("--porcelain=v2", "--branch", "-z", "--untracked-files=all", strip_newline_in_stdout=False)
    result = parse_porcelain_v2(out)
    result.merging = (Path(repo.git_dir) / "MERGE_HEAD").exists()
    return result


def parse_porcelain_v2(out: str) -> StatusSnapshot:
    result = StatusSnapshot()
    records = out.split("\0")
    i = 0
    while i < len(records):
        record = records[i]
        i += 1
        if not record:
            continue
        kind = record[0]
        if kind == "#":
            _header(result, record)
        elif kind == "1":
            parts = record.split(" ", 8)
            result.files.append(FileStatus(parts[8], parts[1][0], parts[1][1]))
        elif kind == "2":
            parts = record.split(" ", 9)
            # The original path of a rename follows as its own NUL-terminated record.
            result.files.append(FileStatus(parts[9], parts[1][0], parts[1][1], records[i]))
            i += 1
        elif kind == "u":
            parts = record.split(" ", 10)
            result.files.append(FileStatus(parts[10], parts[1][0], parts[1][1], unmerged=True))
        elif kind == "?":
            result.files.append(FileStatus(record[2:], "?", "?"))
    return result


def _header(result: StatusSnapshot, record: str) -> None:
    _, key, *rest = record.split(" ", 2)
    value = rest[0] if rest else ""
    if key == "branch.oid":
        result.head = None if value == "(initial)" else value
    elif key == "branch.head":
        result.branch = None if value == "(detached)" else value
    elif key == "branch.upstream":
        result.upstream = value
    elif key == "branch.ab":
        ahead, behind = value.split()
        result.ahead, result.behind = int(ahead), abs(int(behind))
