"""Running git through GitPython with an environment fit for an IDE, and turning git's
failures into messages that say what happened and what to do (never a traceback)."""

from __future__ import annotations

import os
import re
from pathlib import Path

import git

from .. import redact
from ..errors import FlowdeskError


class GitError(FlowdeskError):
    """A git operation failed; ``str(error)`` says why and what to do. Credentials inside any
    URL it quotes (a remote's ``https://user:TOKEN@host``) are masked, wherever it is shown."""

    def __init__(self, message: object = "", *args: object):
        super().__init__(redact.mask_urls(str(message)), *args)


class AuthenticationError(GitError):
    """The remote refused our credentials (or asked for some we cannot give)."""


class RemoteUnreachableError(GitError):
    """The remote could not be reached or is not a repository."""


class PushRejectedError(GitError):
    """The remote has commits we do not have (non-fast-forward)."""


def git_env() -> dict[str, str]:
    """No command may wait for a password on a terminal the IDE does not have: git fails
    instead, and we say how to set up credentials. Messages in English so we can read them."""
    env = {"GIT_TERMINAL_PROMPT": "0", "LC_ALL": "C", "LANGUAGE": "C"}
    if "GIT_SSH_COMMAND" not in os.environ and "GIT_SSH" not in os.environ:
        env["GIT_SSH_COMMAND"] = "ssh -o BatchMode=yes -o ConnectTimeout=15"
    return env


def configured(handle: git.Git) -> git.Git:
    handle.update_environment(**git_env())
    return handle


_AUTH = re.compile(r"Authentication failed|could not read (Username|Password)|terminal prompts disabled|"
                   r"Permission denied \(publickey|Host key verification failed|HTTP Basic: Access denied|"
                   r"returned error: 40[13]|401 Unauthorized", re.I)
_UNREACHABLE = re.compile(r"Could not resolve host|Connection refused|unable to connect|Connection timed out|"
                          r"does not appear to be a git repository|Could not read from remote repository|"
                          r"repository .* not found|No route to host|Network is unreachable|"
                          r"unable to access|Failed to connect|not found: did you run git update-server-info|"
                          r"The remote end hung up unexpectedly|service not enabled|repository .* does not exist", re.I)
_REJECTED = re.compile(r"non-fast-forward|\[rejected\]|fetch first|Updates were rejected", re.I)


def translate(exc: git.GitCommandError, action: str, remote: str | None = None) -> GitError:
    """The FlowdeskError for a failed git command. ``action`` is what the user asked for
    ("pull", "push", ...), ``remote`` the URL when a remote was involved."""
    stderr = _clean(exc.stderr)
    where = f" {remote}" if remote else " the remote"
    if remote is not None or action in ("clone", "fetch", "pull", "push"):
        if _AUTH.search(stderr):
            return AuthenticationError(
                f"{action} failed: {where.strip()} refused the credentials (or needs some). Set up access outside "
                f"the IDE — an SSH key in your agent (ssh-add) or a git credential helper for HTTPS "
                f"(git config --global credential.helper store) — then {action} again. Git said: {stderr}")
        if _REJECTED.search(stderr):
            return PushRejectedError(
                f"push rejected: the remote branch has commits you do not have (non-fast-forward). "
                f"Pull first, resolve any conflicts, then push again. Git said: {stderr}")
        if _UNREACHABLE.search(stderr):
            return RemoteUnreachableError(
                f"{action} failed: cannot reach{where}. Check the URL, your network, and that the repository "
                f"exists (git remote -v shows the URL). Git said: {stderr}")
    if "Please tell me who you are" in stderr or "empty ident" in stderr:
        return GitError(f"{action} failed: git does not know your name and email. Set them with "
                        f"git config --global user.name \"Your Name\" and "
                        f"git config --global user.email you@example.com, then {action} again.")
    return GitError(f"{action} failed: {stderr or f'git exited with status {exc.status}'}")


def _clean(stderr: str | bytes | None) -> str:
    if isinstance(stderr, bytes):
        stderr = stderr.decode("utf-8", "replace")
    text = (stderr or "").strip()
    text = re.sub(r"^stderr: '?", "", text).rstrip("'").strip()
    lines = [line.strip() for line in text.splitlines() if line.strip() and not line.startswith("hint:")]
    return " ".join(lines)


def is_repository(path: str | os.PathLike) -> bool:
    return (Path(path) / ".git").exists()
