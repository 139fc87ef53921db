"""Pull as a fetch and a merge that never loses work: git refuses to merge over uncommitted
changes it would overwrite (we say so, nothing changes), and a merge that conflicts stops
with the conflicts listed, to be resolved per file or aborted (see conflicts.py)."""

from __future__ import annotations

import re
from pathlib import Path
from typing import TYPE_CHECKING

import git

from .gitcmd import GitError, translate

if TYPE_CHECKING:
    from .repository import GitRepository, PullResult

_OVERWRITE = re.compile(r"would be overwritten by merge|untracked working tree files would be", re.I)


def pull(repository: "GitRepository") -> "PullResult":
    from .repository import PullResult

    repo = repository.repo
    repository.current_branch("pull")
    if (Path(repo.git_dir) / "MERGE_HEAD").exists():
        raise GitError("a merge is already in progress: resolve its conflicts (Git panel ▸ Conflicts) "
                       "or abort it before pulling again")
    repository.fetch()
    upstream = repository.upstream()
    if upstream is None:
        return PullResult("up-to-date", message=f"nothing to pull: {repository.remote_name()} has no branch "
                                                f"{repo.active_branch.name} yet (push it first)")
    before = repo.head.commit.hexsha if repository.has_commits() else None
    incoming = int(repo.git.rev_list("--count", upstream if before is None else f"HEAD..{upstream}"))
    if incoming == 0:
        return PullResult("up-to-date", message="already up to date")
    try:
        repo.git.execute(["git", "-c", "merge.conflictStyle=merge", "merge", "--no-edit", upstream])
    except git.GitCommandError as exc:
        return _failed_merge(repository, exc, upstream)
    after = repo.head.commit.hexsha
    changed = _changed(repo, before, after)
    outcome = "fast-forward" if after == _sha(repo, upstream) else "merged"
    return PullResult(outcome, changed=changed, message=f"pulled {incoming} commit(s) from {upstream}")


def _failed_merge(repository: "GitRepository", exc: git.GitCommandError, upstream: str) -> "PullResult":
    from .repository import PullResult

    text = f"{exc.stdout or ''}\n{exc.stderr or ''}"
    conflicts = conflicted_paths(repository.repo)
    if conflicts:
        return PullResult("conflicts", conflicts=conflicts,
                          message=f"the pull from {upstream} conflicts in {len(conflicts)} file(s): choose ours, "
                                  f"theirs or a merged text for each, or abort to get back what you had")
    if _OVERWRITE.search(text):
        files = [line.strip() for line in text.splitlines() if line.startswith(("\t", "        ")) and line.strip()]
        listing = ", ".join(files) or "some files"
        raise GitError(f"pull stopped before changing anything: it would overwrite your uncommitted changes to "
                       f"{listing}. Commit them (or discard them) and pull again.")
    raise translate(exc, "pull", repository.remote_url())


def conflicted_paths(repo: git.Repo) -> list[str]:
    out = repo.git.execute(["git", "diff", "--name-only", "--diff-filter=U", "-z"], strip_newline_in_stdout=False)
    return sorted({p for p in out.split("\0") if p})


def _changed(repo: git.Repo, before: str | None, after: str) -> list[str]:
    if before is None:
        out = repo.git.execute(["git", "ls-tree", "-r", "--name-only", "-z", after], strip_newline_in_stdout=False)
    else:
        out = repo.git.execute(["git", "diff", "--name-only", "-z", before, after], strip_newline_in_stdout=False)
    return sorted(p for p in out.split("\0") if p)


def _sha(repo: git.Repo, ref: str) -> str:
    return repo.commit(ref).hexsha
