"""``flowdesk graph``: the workspace's dependency graph as dot, JSON or SVG on stdout (or a
file). The main CLI adds this with ``add_parser(subparsers)`` and dispatches to ``run``."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from ..cli_args import add_workspace
from ..errors import FlowdeskError
from ..workspace import Workspace
from .dependencies import build_graph
from .export import to_dot, to_json, to_svg

EXIT_OK, EXIT_USAGE = 0, 2
FORMATS = {"dot": to_dot, "json": to_json, "svg": to_svg}


def add_parser(subparsers) -> argparse.ArgumentParser:
    parser = subparsers.add_parser("graph", help="print the flows' dependency graph (dot, json or svg)")
    add_workspace(parser)
    parser.add_argument("--format", "-f", choices=sorted(FORMATS), default="dot")
    parser.add_argument("--output", "-o", metavar="FILE", help="write here instead of stdout")
    parser.add_argument("--observed", action="store_true",
                        help="add calls seen in past executions (reads the workspace's database)")
    parser.add_argument("--db", metavar="URL", help="database URL for --observed")
    return parser


def run(args: argparse.Namespace) -> int:
    try:
        workspace = Workspace.open(args.workspace)
        observed = _observed(workspace, getattr(args, "db", None)) if getattr(args, "observed", False) else ()
    except FlowdeskError as exc:
        print(f"flowdesk: {exc}", file=sys.stderr)
        return EXIT_USAGE
    text = FORMATS[args.format](build_graph(workspace, observed))
    output = getattr(args, "output", None)
    if output:
        Path(output).write_text(text, encoding="utf-8")
    else:
        sys.stdout.write(text)
    return EXIT_OK


def _observed(workspace: Workspace, db_url: str | None) -> list[tuple[str, str, str]]:
    # Imported here: plain `graph` must not need the database layer at all.
    from ..runtime.engine import resolve_db_url
    from ..store import Store
    from .dependencies import observed_edges

    store = Store(resolve_db_url(workspace, db_url))
    try:
        return observed_edges(store)
    finally:
        store.close()
