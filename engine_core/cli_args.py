"""Arguments that several ``flowdesk`` commands share: ``--workspace/-w DIR`` (with ``--db URL``
for the commands that read the database) and the ``ACTION`` sub-commands of ``git``,
``webhook``, ``schedule``, ``connector`` and ``packages``.

Imports nothing but argparse: the plugged commands are imported only when they run."""

from __future__ import annotations

import argparse
from typing import Callable

# Every command's exit codes, one definition: 0 done, 1 the work failed, 2 a usage error
# (bad arguments, unknown flow or workspace, a refusal such as --no-install).
EXIT_OK, EXIT_FAILED, EXIT_USAGE = 0, 1, 2
WORKSPACE_HELP = "workspace folder (default: .)"
DB_HELP = "database URL (default: SQLite in DIR/.flowdesk/)"


def add_workspace(p: argparse.ArgumentParser, *, db: bool = False) -> argparse.ArgumentParser:
    """Add ``--workspace/-w DIR`` (and ``--db URL`` when ``db``) to ``p``; returns ``p``."""
    p.add_argument("--workspace", "-w", default=".", metavar="DIR", help=WORKSPACE_HELP)
    if db:
        p.add_argument("--db", metavar="URL", help=DB_HELP)
    return p


def add_workspace_db(p: argparse.ArgumentParser) -> argparse.ArgumentParser:
    """``--workspace/-w DIR`` and ``--db URL``."""
    return add_workspace(p, db=True)


def add_action_command(subparsers, name: str, help_text: str, *, db: bool = False
                       ) -> tuple[argparse.ArgumentParser, Callable[..., argparse.ArgumentParser]]:
    """The command ``name`` with required ``ACTION`` sub-commands (chosen one in
    ``args.<name>_command``). Returns the command's parser and ``action(name, help)``, which
    adds an action that takes ``--workspace`` (and ``--db`` when ``db``) and returns its parser.
    ``action(..., workspace=False)`` leaves them out, for an action that lists other options first."""
    parser = subparsers.add_parser(name, help=help_text)
    actions = parser.add_subparsers(dest=f"{name}_command", metavar="ACTION", required=True)

    def action(action_name: str, action_help: str, *, workspace: bool = True) -> argparse.ArgumentParser:
        p = actions.add_parser(action_name, help=action_help)
        return add_workspace(p, db=db) if workspace else p  # without: the caller adds it later

    return parser, action


CLUSTER_HELP = ("run the executions on a Dask cluster: its scheduler (tcp://HOST:8786, tls://...) or "
                "'local[:N]' for a cluster of N worker processes on this machine (default: "
                "[cluster] in .flowdesk/config.toml, or FLOWDESK_CLUSTER)")


def add_cluster(p: argparse.ArgumentParser) -> argparse.ArgumentParser:
    """``--cluster ADDR|local[:N]`` and ``--local`` (this machine, whatever the workspace's
    config says); returns ``p``. ``engine_core.cli_cluster.cluster_options`` reads them."""
    where = p.add_mutually_exclusive_group()
    where.add_argument("--cluster", metavar="ADDR", help=CLUSTER_HELP)
    where.add_argument("--local", action="store_true",
                       help="run on this machine even if the workspace's config names a cluster")
    return p
