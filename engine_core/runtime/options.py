"""Tunables of an engine, with defaults that suit a workstation."""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

if TYPE_CHECKING:  # pragma: no cover
    from ..cluster.config import ClusterOptions


def _cpus() -> int:
    return os.cpu_count() or 2


@dataclass(frozen=True)
class EngineOptions:
    warm_workers: int = 2
    """Idle worker processes kept ready, so a new execution starts without a process spawn."""
    max_parallel: int = field(default_factory=lambda: max(4, 2 * _cpus()))
    """Root executions running at once; more wait as ``queued``."""
    max_workers: int = 64
    """Worker processes at once, not counting those blocked waiting for a child."""
    max_depth: int = 32
    """How deep child executions may nest (guards against runaway recursion)."""
    memory_limit_mb: int | None = 4096
    """Address-space limit of each worker; a flow over it ends in error with MemoryError."""
    worker_max_runs: int = 500
    """A worker is replaced after this many executions, so leaks in flows cannot pile up."""
    cancel_grace_s: float = 2.0
    """After a cancel, how long a flow may run its ``finally:`` blocks before it is killed."""
    journal: bool = True
    """Journal durable executions' flow API calls (resume after a dead engine needs it).
    ``False`` exists only as the benchmark's baseline (tests/bench): without a journal no
    execution is durable, and an engine that stops leaves them in error as before."""
    cluster: "ClusterOptions | None" = None
    """Run executions on this Dask cluster instead of worker processes of this machine
    (``runtime/backends``); debugged ones still run here. None (the default) keeps the local
    path as it was, and never imports ``distributed``."""
