"""``flowdesk git status|pull|push|commit|abort|resolve|secret`` for scripted use. The main CLI adds
it with ``add_parser(subparsers)`` and dispatches to ``run(args)``.

Exit codes: 0 done; 1 git said no (conflicts, rejected push, unreachable remote, nothing to
commit...), with a message saying what to do; 2 usage (no workspace, not a repository)."""

from __future__ import annotations

import argparse
import json
import sys

from .. import redact
from ..cli_args import EXIT_FAILED, EXIT_OK, EXIT_USAGE, add_action_command, add_workspace_db
from ..errors import FlowdeskError, WorkspaceError
from ..workspace import Workspace
from .gitcmd import GitError



def add_parser(subparsers) -> argparse.ArgumentParser:
    parser, action = add_action_command(subparsers, "git", "sync the workspace with its Git repository", db=True)
    action("status", "branch, ahead/behind, changed files").add_argument("--json", action="store_true")
    action("pull", "fetch and merge; settings files are imported afterwards")
    action("push", "push the current branch")
    commit = action("commit", "export settings, stage all flow and setting changes, commit", workspace=False)
    commit.add_argument("-m", "--message", required=True, metavar="MSG")
    add_workspace_db(commit)  # after -m: the help lists it first
    action("abort", "abort a conflicted pull: everything as it was before")
    resolve = action("resolve", "settle a conflicting file with our or their version")
    resolve.add_argument("path", help="the file, relative to the workspace (e.g. 'flows/Main Process.py')")
    resolve.add_argument("choice", choices=["ours", "theirs"])
    action("secret", "keep a setting in the system keyring; only a reference is committed").add_argument(
        "name", help="the setting's name")
    return parser


def run(args: argparse.Namespace) -> int:
    try:
        workspace = Workspace.open(args.workspace)
        return _ACTIONS[args.git_command](workspace, args)
    except WorkspaceError as exc:
        return _fail(exc, EXIT_USAGE)
    except GitError as exc:
        return _fail(exc, EXIT_USAGE if "is not a Git repository" in str(exc) else EXIT_FAILED)
    except FlowdeskError as exc:
        return _fail(exc, EXIT_FAILED)


def _fail(exc: Exception, code: int) -> int:
    print(f"flowdesk: {redact.mask_urls(str(exc))}", file=sys.stderr)
    return code


def _open(workspace: Workspace, args, with_settings: bool = True):
    from .sync import WorkspaceRepo

    store = _store(workspace, getattr(args, "db", None)) if with_settings else None
    return WorkspaceRepo.open(workspace, store)


def _store(workspace: Workspace, db_url: str | None):
    # Imported here: 'git status' must not need the database layer.
    from ..runtime.engine import resolve_db_url
    from ..store import Store

    return Store(resolve_db_url(workspace, db_url))


def _warn(repo) -> None:
    for warning in repo.warnings:
        print(f"warning: {warning}", file=sys.stderr)


def cmd_status(workspace: Workspace, args) -> int:
    repo = _open(workspace, args, with_settings=False)
    snap = repo.repository.status()
    if args.json:
        print(json.dumps({"branch": snap.branch, "head": snap.head, "upstream": snap.upstream, "ahead": snap.ahead,
                          "behind": snap.behind, "merging": snap.merging,
                          "files": [{"path": f.path, "index": f.index, "worktree": f.worktree,
                                     "status": f.description} for f in snap.files]}, indent=2))
        return EXIT_OK
    print(snap.summary())
    for f in snap.files:
        print(f"  {f.index}{f.worktree} {f.path}  ({f.description})")
    return EXIT_OK


def cmd_pull(workspace: Workspace, args) -> int:
    repo = _open(workspace, args)
    result = repo.pull()
    _warn(repo)
    print(result.message)
    if result.outcome == "conflicts":
        for path in result.conflicts:
            print(f"  conflict: {path}")
        print("resolve each with: flowdesk git resolve PATH ours|theirs (or merge it by hand and commit), "
              "or undo the pull with: flowdesk git abort")
        return EXIT_FAILED
    for path in result.changed:
        print(f"  changed: {path}")
    return EXIT_OK


def cmd_push(workspace: Workspace, args) -> int:
    print(_open(workspace, args, with_settings=False).push())
    return EXIT_OK


def cmd_commit(workspace: Workspace, args) -> int:
    repo = _open(workspace, args)
    sha = repo.commit_all(args.message)
    _warn(repo)
    print(f"committed {sha[:8]}: {args.message}")
    return EXIT_OK


def cmd_abort(workspace: Workspace, args) -> int:
    _open(workspace, args, with_settings=False).abort_merge()
    print("merge aborted: your files are as they were before the pull")
    return EXIT_OK


def cmd_resolve(workspace: Workspace, args) -> int:
    from . import conflicts

    repo = _open(workspace, args)
    conflicts.resolve(repo.repository, args.path, args.choice)
    left = conflicts.conflicts(repo.repository)
    if left:
        print(f"resolved {args.path}; still conflicting: {', '.join(left)}")
        return EXIT_OK
    sha = repo.finish_merge()
    _warn(repo)
    print(f"resolved {args.path}; merge committed as {sha[:8]}")
    return EXIT_OK


def cmd_secret(workspace: Workspace, args) -> int:
    from .settings_files import mark_secret

    repo = _open(workspace, args)
    repo.export_settings()  # the setting's current value is on disk before it becomes a reference
    key = mark_secret(repo.root, repo.state_dir, repo.store, args.name)
    _warn(repo)
    print(f"setting {args.name!r} is now secret: its value is in the keyring (service 'flowdesk', key {key!r}); "
          f"settings/ holds only a reference. Commit to share the reference.")
    return EXIT_OK


_ACTIONS = {"secret": cmd_secret, "status": cmd_status, "pull": cmd_pull, "push": cmd_push, "commit": cmd_commit,
            "abort": cmd_abort, "resolve": cmd_resolve}
