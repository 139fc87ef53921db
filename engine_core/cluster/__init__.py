"""Running executions on a Dask cluster (issue 12): what the engine and the Dask workers share.

The engine (``runtime/backends/dask.py``) submits one Dask task per execution run,
``engine_core.cluster.supervisor.supervise(ticket)``; the task connects back to the engine's
relay (``relay.py``), says hello with the ticket's token, and relays the frames of a flow process
on its Dask worker. The ticket is everything a supervisor needs: no database URL, no workspace,
no secrets travel through the scheduler (RUN, with the flow's code, comes over the relay once
the engine has claimed the run).

Importing this package does not import ``distributed``: the engine's CLI resolves cluster
options for every run, local ones too.
"""

from __future__ import annotations

from dataclasses import dataclass

from .config import ClusterError, ClusterOptions

__all__ = ["PROTOCOL", "ClusterError", "ClusterOptions", "Ticket", "task_key"]

PROTOCOL = 1
"""The relay protocol's version (protocol.py's docstring has its messages). A Dask worker whose
plugin speaks another one refuses the engine's executions, naming both versions."""


@dataclass(frozen=True)
class Ticket:
    """What the engine hands a supervisor task through the scheduler (pickled by Dask)."""

    execution_id: int
    root_id: int
    attempt: int
    """The execution's attempt counter when this run was submitted: the claim at hello
    succeeds only if it is still this (a run Dask starts twice is refused the second time)."""
    token: str
    """128 random bits the hello must carry: on plain tcp:// the relay's only credential."""
    relay: str
    """``host:port`` of the engine's relay listener."""
    tls: bool
    """Connect with TLS (the worker's Dask certificates; the engine requires them)."""
    packages: tuple[str, str] | None
    """The workspace's package set: (sha256 of requirements.txt, its text); None: none."""
    memory_limit_mb: int | None
    max_runs: int
    cancel_grace_s: float
    heartbeat_s: float
    flowdesk_version: str
    protocol: int = PROTOCOL


def task_key(session_id: int | None, execution_id: int, attempt: int) -> str:
    """The Dask task key of one run: unique per engine session, execution and attempt, and
    readable on the dashboard."""
    return f"flowdesk-{session_id}-{execution_id}-{attempt}"
