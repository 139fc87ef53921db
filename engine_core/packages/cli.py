"""``flowdesk packages install|list -w DIR``: the workspace's third-party packages from a
script. The main CLI adds it with ``add_parser(subparsers)`` and dispatches to ``run(args)``.
Exit codes: 0 done; 1 the install failed (the message names the package and pip's reason);
2 usage (no workspace)."""

from __future__ import annotations

import argparse
import json
import sys

from ..errors import FlowdeskError, WorkspaceError
from ..cli_args import EXIT_FAILED, EXIT_OK, EXIT_USAGE, add_action_command
from ..workspace import Workspace
from . import PackagesError, install, status

HELP = "install and list the workspace's third-party packages (requirements.txt)"


def add_parser(subparsers) -> argparse.ArgumentParser:
    parser, action = add_action_command(subparsers, "packages", HELP)
    action("install", "install requirements.txt into the workspace's package folder (progress on stderr)")
    listing = action("list", "list the requirements with installed versions and state")
    listing.add_argument("--json", action="store_true")
    return parser


def run(args: argparse.Namespace) -> int:
    try:
        root = Workspace.open(args.workspace).root
    except WorkspaceError as exc:
        print(f"flowdesk: {exc}", file=sys.stderr)
        return EXIT_USAGE
    try:
        if args.packages_command == "install":
            return _install(root)
        return _list(root, args)
    except FlowdeskError as exc:
        print(f"flowdesk: {exc}", file=sys.stderr)
        return EXIT_FAILED


def progress(line: str) -> None:
    print(line, file=sys.stderr, flush=True)


def _install(root) -> int:
    try:
        result = install(root, on_line=progress)
    except PackagesError as exc:
        print(f"flowdesk: {exc}", file=sys.stderr)
        return EXIT_FAILED
    where = result.set_dir or "Flowdesk's own environment"
    print(f"workspace packages: {len(result.installed)} installed in {where}")
    return EXIT_OK


def _list(root, args) -> int:
    found = status(root)
    if args.json:
        print(json.dumps({"up_to_date": found.up_to_date, "missing": found.missing,
                          "set_dir": None if found.set_dir is None else str(found.set_dir),
                          "rows": [row.__dict__ for row in found.rows]}, indent=2))
        return EXIT_OK
    if not found.rows:
        print(f"no requirements; declare packages in {root / 'requirements.txt'} (pip's format)")
        return EXIT_OK
    table = [("NAME", "WANTED", "INSTALLED", "STATE")]
    table += [(r.name, r.wanted or "any", r.installed or "-", r.state) for r in found.rows]
    widths = [max(len(row[i]) for row in table) for i in range(4)]
    for row in table:
        print("  ".join(cell.ljust(width) for cell, width in zip(row, widths)).rstrip())
    for row in found.rows:
        if row.state in ("conflict", "error"):
            print(f"{row.name}: {row.detail}")
    if not found.up_to_date:
        print(f"requirements.txt changed since the last install; run: flowdesk packages install -w {root}")
    return EXIT_OK
