"""``flowdesk cluster local|status``, and the cluster part of ``flowdesk run --cluster``.

``cluster local --workers N`` starts a Dask ``LocalCluster`` of N worker processes on this
machine (for trying the cluster path, and for tests) and keeps it until Ctrl+C or SIGTERM;
``cluster status`` lists the workers of a scheduler. A plugged command of ``engine_core.cli``.

``cluster_options`` is what ``flowdesk run`` asks: without ``--cluster``, ``FLOWDESK_CLUSTER`` or a
``[cluster]`` table in the workspace's config it answers None without importing anything of the
cluster, so a local run neither imports ``distributed`` nor gets slower. ``distributed`` itself is
imported only in engine_core/cluster (``cluster.local`` for the two commands here) and by the
engine's Dask backend.

Exit codes: 0 done (a cluster stopped by Ctrl+C/SIGTERM too); 1 the scheduler answered but the
request failed; 2 usage: no cluster named, no scheduler at the address, no ``distributed``."""

from __future__ import annotations

import argparse
import importlib.util
import os
import signal
import sys
import threading
from typing import TYPE_CHECKING

from .cli_args import EXIT_OK, add_action_command
from .cluster.config import reason
from .errors import UsageError

if TYPE_CHECKING:
    from .cluster.config import ClusterOptions
    from .workspace import Workspace

CLUSTER_HELP = "start a local Dask cluster to run flows on, or list the workers of one"
EXTRA_HINT = "pip install 'flowdesk[cluster]'"


# -- flowdesk run --cluster -----------------------------------------------------------------
def cluster_options(workspace: "Workspace", cli_cluster: str | None, cli_local: bool, *,
                    otherwise: str = "run without --cluster, or with --local") -> "ClusterOptions | None":
    """Where ``flowdesk run`` runs the tree: ``--local`` → this machine; otherwise
    ``resolve_cluster`` (``--cluster``, ``FLOWDESK_CLUSTER``, ``[cluster]`` in config.toml).
    Raises UsageError when a cluster is asked for and ``distributed`` is missing (its text ends
    with ``otherwise``: what to do instead)."""
    if cli_local:
        return None
    if cli_cluster is None and not os.environ.get("FLOWDESK_CLUSTER") and "cluster" not in workspace.config():
        return None  # the common case: nothing of the cluster is imported
    from .cluster.config import resolve_cluster

    options = resolve_cluster(workspace, cli_cluster, cli_local)
    if options is not None:
        require_distributed(f"running on the Dask cluster {options.scheduler}", otherwise)
    return options


def require_distributed(what: str, otherwise: str | None) -> None:
    """UsageError (one line saying what to install) unless ``distributed`` can be imported.
    The frozen app never carries it (packaging/bundle_contents.py keeps it out)."""
    try:
        if importlib.util.find_spec("distributed") is not None:
            return
    except (ImportError, ValueError):  # a broken installation: as good as none
        pass
    tail = f" ({otherwise})" if otherwise else ""
    if getattr(sys, "frozen", False):
        raise UsageError(f"{what} needs Flowdesk installed with its cluster extra ({EXTRA_HINT}); "
                         f"this app runs flows on this machine only{tail}")
    raise UsageError(f"{what} needs Dask's 'distributed', which is not installed: {EXTRA_HINT}{tail}")


def is_local_cluster(scheduler: str) -> bool:
    """``local`` / ``local:N``: a cluster the engine starts on this machine itself."""
    return scheduler == "local" or scheduler.startswith("local:")


def sqlite_warning(db_url: str, scheduler: str) -> str | None:
    """The warning ``flowdesk run`` prints for a cluster run on SQLite (None: no warning). A
    ``local`` cluster is on this machine: the database is as visible as for a local run."""
    if not db_url.startswith("sqlite") or is_local_cluster(scheduler):
        return None
    return (f"flowdesk: warning: running on {scheduler} with the SQLite database of this machine: other machines' "
            "engines and IDEs cannot see this database; use --db postgresql://…")


# -- flowdesk cluster ... -------------------------------------------------------------------
def add_parser(sub) -> argparse.ArgumentParser:
    parser, action = add_action_command(sub, "cluster", CLUSTER_HELP)
    local = action("local", "start a Dask cluster of worker processes on this machine until Ctrl+C",
                   workspace=False)
    local.add_argument("--workers", "-n", type=_positive, default=2, metavar="N", help="worker processes (default: 2)")
    local.add_argument("--threads", type=_positive, default=1, metavar="T",
                       help="threads per worker: executions each runs at once (default: 1)")
    local.add_argument("--host", default="127.0.0.1",
                       help="address the scheduler listens on (default: 127.0.0.1; 0.0.0.0 lets other machines' "
                            "workers and engines connect)")
    local.add_argument("--port", type=int, default=8786, help="the scheduler's port (default: 8786)")
    local.add_argument("--dashboard-port", type=int, default=8787, help="the dashboard's port (default: 8787)")
    status = action("status", "list the workers of a Dask cluster (the workspace's, or --cluster ADDR)",
                    workspace=False)
    status.add_argument("--workspace", "-w", metavar="DIR",
                        help="the workspace whose [cluster] settings apply (default: . when no --cluster is given)")
    status.add_argument("--cluster", metavar="ADDR",
                        help="the scheduler (tcp://HOST:8786); default: [cluster] scheduler in the workspace's config")
    return parser


def _positive(text: str) -> int:
    value = int(text)
    if value < 1:
        raise argparse.ArgumentTypeError(f"{text} is not a positive number")
    return value


def run(args) -> int:
    if args.cluster_command == "local":
        return cmd_local(args)
    return cmd_status(args)


def cmd_local(args) -> int:
    require_distributed("a local Dask cluster", None)
    stop = threading.Event()
    # The worker processes ignore SIGINT (they inherit it ignored): a Ctrl+C reaches the whole
    # terminal's process group, and workers dying on it before the cluster closes them spilled
    # tracebacks. This process stops them in order instead.
    previous_int = signal.signal(signal.SIGINT, signal.SIG_IGN)
    previous_term = signal.getsignal(signal.SIGTERM)
    cluster = None
    try:
        cluster = _start_local(args)
        signal.signal(signal.SIGINT, lambda *_: stop.set())
        signal.signal(signal.SIGTERM, lambda *_: stop.set())
        print(f"scheduler {cluster.scheduler_address} · dashboard {cluster.dashboard_link} · Ctrl+C stops", flush=True)
        print(f"{args.workers} worker process{'es' if args.workers != 1 else ''} × {args.threads} "
              f"thread{'s' if args.threads != 1 else ''}; run flows on it with: flowdesk run FLOW "
              f"--cluster {cluster.scheduler_address}", flush=True)
        while not stop.wait(0.5):
            pass
        print("stopping the cluster", flush=True)
    finally:
        signal.signal(signal.SIGINT, signal.SIG_IGN)  # a second Ctrl+C must not cut the close short
        try:
            if cluster is not None:
                cluster.close(timeout=20)
        finally:
            signal.signal(signal.SIGINT, previous_int)
            signal.signal(signal.SIGTERM, previous_term)
    return EXIT_OK


def _start_local(args):
    from .cluster.local import start_local

    try:
        return start_local(args.workers, args.threads, args.host, args.port, args.dashboard_port)
    except (OSError, RuntimeError) as exc:  # the port is taken, the host is not this machine's
        cause = _root_cause(exc)
        raise UsageError(f"cannot start a Dask scheduler on {args.host}:{args.port}: "
                         f"{getattr(cause, 'strerror', None) or reason(cause)}; "
                         "choose another --port (and --dashboard-port), or --host") from None


def _root_cause(exc: BaseException) -> BaseException:
    """Dask wraps the OSError that says why ("Address already in use") in RuntimeErrors."""
    while exc.__cause__ is not None:
        exc = exc.__cause__
    return exc


def cmd_status(args) -> int:
    options = _status_options(args)
    require_distributed(f"asking the Dask cluster {options.scheduler}", None)
    from .cluster.local import query_status

    info, facts, dashboard = query_status(options)  # ClusterError: the scheduler and what to do
    print(describe_cluster(options.scheduler, info, facts, dashboard))
    return EXIT_OK


def _status_options(args) -> "ClusterOptions":
    """The cluster ``status`` asks: ``--cluster``, else the workspace's (its scheduler also when
    ``run_on`` is local). The workspace's TLS settings apply either way."""
    from .cluster.config import resolve_cluster
    from .workspace import Workspace

    workspace = None
    if args.workspace is not None or not args.cluster:
        workspace = Workspace.open(args.workspace or ".")
    scheduler = args.cluster or os.environ.get("FLOWDESK_CLUSTER")
    if not scheduler and workspace is not None:
        scheduler = workspace.config().get("cluster", {}).get("scheduler")
    if not scheduler:
        raise UsageError("no cluster given: use --cluster tcp://HOST:8786, or set scheduler in the [cluster] "
                         "section of the workspace's .flowdesk/config.toml")
    options = resolve_cluster(workspace, scheduler, False)
    if options.local_workers is not None:
        raise UsageError(f"'{scheduler}' is a cluster that each engine starts for itself and stops with it; "
                         "for one that stays, start it with: flowdesk cluster local --workers N")
    return options


def describe_cluster(scheduler: str, info: dict, facts: dict, dashboard: str | None) -> str:
    """What ``cluster status`` prints: the scheduler, totals, a line per worker."""
    workers = info.get("workers", {})
    threads = sum(w.get("nthreads", 0) for w in workers.values())
    lines = [f"scheduler {scheduler}" + (f" · dashboard {dashboard}" if dashboard else ""),
             f"{len(workers)} worker{'s' if len(workers) != 1 else ''}, {threads} thread{'s' if threads != 1 else ''}"]
    for address, worker in sorted(workers.items()):
        fact = facts.get(address)
        host = worker.get("host", "?")
        if isinstance(fact, dict) and fact.get("host") and fact["host"] != host:
            host = f"{fact['host']} ({host})"  # the machine's name, then the address Dask knows it by
        count = worker.get("nthreads", 0)
        parts = [address, f"host {host}", f"{count} thread{'s' if count != 1 else ''}"]
        if worker.get("memory_limit"):
            parts.append(f"memory {worker['memory_limit'] / 2**30:.1f} GiB")
        if isinstance(fact, dict):
            parts.append(f"flowdesk {fact['flowdesk']}" if fact.get("flowdesk") else "flowdesk not installed")
            if fact.get("package_sets"):
                parts.append(f"package sets {', '.join(fact['package_sets'])}")
        else:
            parts.append(f"flowdesk not found ({reason(fact) if isinstance(fact, BaseException) else 'no answer'})")
        lines.append("  " + " · ".join(parts))
    return "\n".join(lines)
