"""A pull that conflicts: the three versions of each conflicting file, a per-file choice
(ours, theirs, or a merged text), and abort, which puts back exactly what was there."""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

from ..fileio import read_text, write_atomically
from .gitcmd import GitError
from .pull import conflicted_paths
from .repository import GitRepository

CHOICES = ("ours", "theirs", "merged")
_MARKER = re.compile(r"^(<{7}|>{7})( |$)", re.M)


@dataclass(frozen=True)
class ConflictVersions:
    path: str
    base: str | None  # the common ancestor; None when the file is new on both sides
    ours: str | None  # what you had (None: you deleted it)
    theirs: str | None  # what the pull brought (None: they deleted it)
    merged: str | None  # the working file as git left it, with conflict markers


def in_merge(repository: GitRepository) -> bool:
    return (Path(repository.repo.git_dir) / "MERGE_HEAD").exists()


def conflicts(repository: GitRepository) -> list[str]:
    return conflicted_paths(repository.repo)


def versions(repository: GitRepository, path: str) -> ConflictVersions:
    # Index stages of an unmerged path: 1 the base, 2 ours (HEAD), 3 theirs (MERGE_HEAD).
    return ConflictVersions(path, repository.show(path, ":1"), repository.show(path, ":2"),
                            repository.show(path, ":3"), read_text(repository.root / path))


def resolve(repository: GitRepository, path: str, choice: str, text: str | None = None) -> None:
    """Settle one file. ``merged`` needs ``text`` (the user's merge) free of conflict markers."""
    if choice not in CHOICES:
        raise GitError(f"unknown choice {choice!r}: use one of {', '.join(CHOICES)}")
    if path not in conflicts(repository):
        raise GitError(f"{path} has no conflict to resolve")
    chosen = versions(repository, path)
    content = {"ours": chosen.ours, "theirs": chosen.theirs, "merged": text}[choice]
    if choice == "merged":
        if text is None:
            raise GitError(f"a merged resolution of {path} needs the merged text")
        if _MARKER.search(text):
            raise GitError(f"the merged text of {path} still has conflict markers (<<<<<<< or >>>>>>>); "
                           f"edit them out first")
    if content is None:  # that side deleted the file: resolving to it deletes it
        repository._git("resolve", "rm", "-q", "--", path)
        return
    write_atomically(repository.root / path, content)
    repository._git("resolve", "add", "--", path)


def abort(repository: GitRepository) -> None:
    """Undo the conflicted merge: HEAD, the index and the files are as before the pull."""
    if not in_merge(repository):
        raise GitError("there is no merge to abort")
    repository._git("abort merge", "merge", "--abort")


def finish(repository: GitRepository, message: str | None = None) -> str:
    """Commit the merge once every conflict is resolved; returns the merge commit's id."""
    if not in_merge(repository):
        raise GitError("there is no merge to finish")
    left = conflicts(repository)
    if left:
        raise GitError(f"{len(left)} file(s) still conflict: {', '.join(left)}; choose a version for each first")
    args = ["commit", "-q", "--no-edit"] + (["-m", message] if message else [])
    repository._git("commit merge", *args)
    return repository.repo.head.commit.hexsha
