"""The workspace as a Git working copy: init, clone, status, stage, commit, fetch, pull,
push, branches and the history of a file, wrapping GitPython. Every failure is a
:class:`GitError` whose message says what to do. No Qt here: the CLI and the IDE share it."""

from __future__ import annotations

import os
import shutil
import threading
from dataclasses import dataclass, field
from pathlib import Path

import git

from ..fileio import read_text, write_atomically
from .gitcmd import GitError, configured, translate
from .status import StatusSnapshot, snapshot

GITIGNORE_LINES = [
    "# Flowdesk: local state (database, executions, logs, secrets) never leaves this machine.",
    ".flowdesk/", "*.db", "*.db-wal", "*.db-shm", "*.log",
    "# Python caches and environments", "__pycache__/", "*.py[cod]", ".venv/", "venv/",
    "# editor and OS leftovers", ".DS_Store", "*.swp", "*~",
]
# What "commit everything" stages: the workspace's flows, files, settings, and the records of
# connectors, webhooks and schedules (their secrets live in the keyring, never in these files).
SYNCED_PATHS = ("flows", "files", "settings", "connectors", "webhooks", "schedules", ".gitignore",
                "requirements.txt")


@dataclass(frozen=True)
class CommitInfo:
    sha: str
    author: str
    when: int  # seconds since the epoch
    subject: str


@dataclass
class PullResult:
    outcome: str  # "up-to-date" | "fast-forward" | "merged" | "conflicts"
    changed: list[str] = field(default_factory=list)  # paths the pull changed (merged/ff)
    conflicts: list[str] = field(default_factory=list)
    message: str = ""


class GitRepository:
    def __init__(self, repo: git.Repo):
        self.repo = repo
        configured(repo.git)

    # -- getting one ---------------------------------------------------------------------------
    @classmethod
    def open(cls, path: str | os.PathLike) -> "GitRepository":
        try:
            return cls(git.Repo(Path(path)))
        except (git.InvalidGitRepositoryError, git.NoSuchPathError):
            raise GitError(f"{path} is not a Git repository: use File ▸ Init Repository "
                           f"(or git init) to make it one, or clone one with File ▸ Clone Workspace") from None

    @classmethod
    def init(cls, path: str | os.PathLike, branch: str = "main") -> "GitRepository":
        """Make ``path`` a repository (if it is not one) with a .gitignore for local state."""
        root = Path(path)
        if (root / ".git").exists():
            repository = cls.open(root)
        else:
            try:
                repository = cls(git.Repo.init(root, initial_branch=branch))
            except git.GitCommandError as exc:
                raise translate(exc, "init") from None
        repository.ensure_gitignore()
        return repository

    @classmethod
    def clone(cls, url: str, dest: str | os.PathLike, progress: git.RemoteProgress | None = None,
              cancel: threading.Event | None = None) -> "GitRepository":
        """Clone ``url`` into ``dest`` (new or empty). ``cancel`` set from another thread kills
        git and removes the half-made folder; GitError("clone cancelled") is raised then."""
        from .clone import run_clone  # the process juggling lives in its own module

        return cls(run_clone(url, Path(dest), progress, cancel))

    # -- basics --------------------------------------------------------------------------------
    @property
    def root(self) -> Path:
        return Path(self.repo.working_tree_dir)

    def _git(self, action: str, *args: str, remote: str | None = None, **kwargs) -> str:
        try:
            return self.repo.git.execute(["git", *args], **kwargs)
        except git.GitCommandError as exc:
            raise translate(exc, action, remote) from None

    def status(self) -> StatusSnapshot:
        try:
            return snapshot(self.repo)
        except git.GitCommandError as exc:
            raise translate(exc, "status") from None

    def ensure_gitignore(self) -> None:
        """Add our ignore lines to .gitignore, keeping whatever the user had there."""
        path = self.root / ".gitignore"
        current = read_text(path) or ""
        have = set(current.splitlines())
        missing = [line for line in GITIGNORE_LINES if line not in have]
        if missing:
            glue = "" if not current or current.endswith("\n") else "\n"
            write_atomically(path, current + glue + "\n".join(missing) + "\n")

    def remote_name(self) -> str:
        names = [r.name for r in self.repo.remotes]
        if not names:
            raise GitError("this repository has no remote: add one with "
                           "git remote add origin URL (or clone the workspace from its URL)")
        return "origin" if "origin" in names else names[0]

    def remote_url(self) -> str | None:
        try:
            return self.repo.remote(self.remote_name()).url
        except GitError:
            return None

    def current_branch(self, action: str) -> str:
        """The checked-out branch; a detached HEAD is an error that says how to get out."""
        if self.repo.head.is_detached:
            raise GitError(f"cannot {action}: HEAD is detached (at {self.repo.head.commit.hexsha[:8]}), so there "
                           f"is no branch to {action}. Switch to a branch (Git panel ▸ Branch, or "
                           f"git switch main), or create one here (git switch -c NAME), then {action} again.")
        return self.repo.active_branch.name

    def has_commits(self) -> bool:
        return self.repo.head.is_valid()

    # -- staging and committing ----------------------------------------------------------------
    def stage(self, paths: list[str]) -> None:
        if paths:
            self._git("stage", "add", "-A", "--", *paths)

    def unstage(self, paths: list[str]) -> None:
        if not paths:
            return
        if self.has_commits():
            self._git("unstage", "restore", "--staged", "--", *paths)
        else:  # before the first commit there is no HEAD to restore from
            self._git("unstage", "rm", "--cached", "-r", "-q", "--", *paths)

    def stage_workspace(self) -> None:
        """Stage every change (new, edited, deleted) to flows, files, settings and .gitignore."""
        tracked = set(self._git("stage", "ls-files", "--", *SYNCED_PATHS).splitlines())
        present = [p for p in SYNCED_PATHS
                   if (self.root / p).exists() or any(t == p or t.startswith(p + "/") for t in tracked)]
        self.stage(present)

    def commit(self, message: str) -> str:
        if not message.strip():
            raise GitError("a commit needs a message: say what changed")
        self.current_branch("commit")
        merging = (Path(self.repo.git_dir) / "MERGE_HEAD").exists()
        if not merging and not self._staged_anything():
            raise GitError("nothing to commit: no change is staged (stage files in the Git panel, "
                           "or commit everything with flowdesk git commit)")
        if self.status().conflicts:
            raise GitError("cannot commit: some files still have conflicts; resolve them first")
        self._git("commit", "commit", "-q", "-m", message)
        return self.repo.head.commit.hexsha

    def _staged_anything(self) -> bool:
        return any(f.staged for f in self.status().files)

    # -- files and history ---------------------------------------------------------------------
    def show(self, path: str, rev: str = "HEAD") -> str | None:
        """Text of ``path`` at ``rev`` (a commit, or ':2' style index stage); None if absent."""
        try:
            return self.repo.git.execute(["git", "show", f"{rev}:{path}"], strip_newline_in_stdout=False)
        except git.GitCommandError:
            return None

    def working_text(self, path: str) -> str | None:
        return read_text(self.root / path)

    def diff_texts(self, path: str) -> tuple[str, str]:
        """(last committed, working copy) texts of ``path``; '' for a side that has none."""
        old = self.show(path, "HEAD") if self.has_commits() else None
        return old or "", self.working_text(path) or ""

    def history(self, path: str, limit: int = 200) -> list[CommitInfo]:
        if not self.has_commits():
            return []
        out = self._git("history", "log", f"-n{limit}", "--follow", "--format=%H%x00%an%x00%at%x00%s", "--", path)
        commits = []
        for line in out.splitlines():
            sha, author, when, subject = line.split("\0", 3)
            commits.append(CommitInfo(sha, author, int(when), subject))
        return commits

    def restore(self, path: str, rev: str) -> None:
        """Put ``path`` as it was at ``rev`` into the working copy (not committed: the user
        reviews it in the panel and commits it like any edit)."""
        text = self.show(path, rev)
        if text is None:
            raise GitError(f"{path} does not exist in commit {rev[:8]}")
        write_atomically(self.root / path, text)

    # -- branches ------------------------------------------------------------------------------
    def branches(self) -> list[str]:
        return sorted(h.name for h in self.repo.heads)

    def remote_branches(self) -> list[str]:
        return sorted(ref.name for r in self.repo.remotes for ref in r.refs if not ref.name.endswith("/HEAD"))

    def switch(self, name: str, create: bool = False) -> None:
        if create:
            self._git("create branch", "switch", "-c", name)
        else:
            self._git("switch branch", "switch", name)

    # -- remotes -------------------------------------------------------------------------------
    def fetch(self) -> None:
        remote = self.remote_name()
        self._git("fetch", "fetch", "--prune", remote, remote=self.remote_url())

    def upstream(self) -> str | None:
        """The branch to pull from: the configured upstream, else <remote>/<branch> if it exists."""
        branch = self.repo.active_branch
        tracking = branch.tracking_branch()
        if tracking is not None and tracking.is_valid():
            return tracking.name
        candidate = f"{self.remote_name()}/{branch.name}"
        known = {ref.name for r in self.repo.remotes for ref in r.refs}
        return candidate if candidate in known else None

    def pull(self) -> PullResult:
        from .pull import pull  # the merge logic has its own module

        return pull(self)

    def push(self) -> str:
        branch = self.current_branch("push")
        if not self.has_commits():
            raise GitError("nothing to push: make a first commit")
        remote = self.remote_name()
        tracking = self.repo.active_branch.tracking_branch()
        target = tracking.remote_head if tracking is not None else branch
        self._git("push", "push", "--set-upstream", remote, f"HEAD:refs/heads/{target}",
                  remote=self.remote_url())
        return f"pushed {branch} to {remote}/{target}"


def remove_tree(path: Path) -> None:
    shutil.rmtree(path, ignore_errors=True)
