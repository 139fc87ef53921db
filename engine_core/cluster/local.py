"""The Dask side of ``flowdesk cluster local|status`` (cli_cluster.py keeps the arguments,
the messages and the printing): ``distributed`` is imported only here, by the rest of
engine_core/cluster and by the engine's Dask backend, so the CLI module itself stays free of it."""

from __future__ import annotations

import inspect

import distributed

from . import diagnostics
from .config import ClusterOptions, connect


def start_local(workers: int, threads: int, host: str, port: int, dashboard_port: int) -> distributed.LocalCluster:
    """A LocalCluster of ``workers`` processes that stays until closed. OSError/RuntimeError
    when it cannot listen (the caller says what to change)."""
    return diagnostics.local_cluster(distributed, n_workers=workers, threads_per_worker=threads, processes=True,
                                     host=host, scheduler_port=port, dashboard_address=f"{host}:{dashboard_port}",
                                     silence_logs=40)


def query_status(options: ClusterOptions) -> tuple[dict, dict, str | None]:
    """What ``cluster status`` prints, asked of the scheduler: its info (every worker), each
    worker's facts (``worker_facts``, or the exception it raised) and the dashboard's link.
    ClusterError when the scheduler cannot be reached."""
    client, _ = connect(distributed, options)
    with client:
        # Newer Dask lists only some workers unless asked for all of them.
        takes_n_workers = "n_workers" in inspect.signature(client.scheduler_info).parameters
        info = client.scheduler_info(n_workers=-1) if takes_n_workers else client.scheduler_info()
        facts = client.run(worker_facts, on_error="return")
        return info, facts, client.dashboard_link


def worker_facts(dask_worker=None) -> dict:
    """Runs on each worker (``client.run``): its machine's name, the Flowdesk there, and the
    workspace package sets an engine had it install (plugin.py's PackagesPreinstall)."""
    import platform

    facts = {"host": platform.node()}
    try:
        from engine_core import version

        facts["flowdesk"] = version()
    except ImportError:
        facts["flowdesk"] = None
    plugins = getattr(dask_worker, "plugins", None) or {}
    facts["package_sets"] = sorted(name.removeprefix("flowdesk-packages-") for name in plugins
                                   if name.startswith("flowdesk-packages-"))
    return facts
