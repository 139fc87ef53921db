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

import hashlib
import os
import socket
from dataclasses import dataclass

from .config import ClusterError, ClusterOptions

__all__ = ["PROTOCOL", "ClusterError", "ClusterOptions", "Ticket", "task_key", "workspace_key"]

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
    workspace_key: str | None = None
    """Identifies the engine's workspace (its machine and folder): warm flow processes are
    reused only by tickets with the same value, since a flow's module globals, ``os.environ``
    and ``sys.modules`` carry over between the runs of one process."""


def task_key(session_id: int | None, execution_id: int, attempt: int) -> str:
    """The Dask task key of one run: unique per engine session, execution and attempt, and
    readable on the dashboard."""
    return f"flowdesk-{session_id}-{execution_id}-{attempt}"


def workspace_key(root: str | os.PathLike) -> str:
    """:attr:`Ticket.workspace_key` of a workspace folder on this machine: the same folder on
    two machines is two workspaces; two engines on one folder share, as local reuse does."""
    where = f"{socket.gethostname()}\0{os.path.realpath(root)}"
    return hashlib.sha256(where.encode()).hexdigest()[:16]
