"""Dask's own diagnostics, slowed down where Flowdesk runs: they cost CPU the flows need and
tell nothing about them.

A Flowdesk task is a supervisor thread that waits on its relay while the flow runs in a
process of its own. Measured on a 2-core machine with a LocalCluster of 2 workers standing
idle: Dask's defaults keep ~15 % of one core busy (each worker ~4.5 %, the scheduler with the
nannies ~6 %); with the settings below ~3 %. On a machine whose cores all run flows, that
difference comes off the flows.

- the statistical profiler (every thread's stack each 10 ms, for the dashboard's Profile
  page) only ever finds the supervisor's wait: the flow's code is in another process;
- the event-loop tick every 20 ms only feeds the "event loop was unresponsive" warning,
  which fires after 3 s: a tick every 0.5 s still catches it;
- the memory monitor (every 100 ms) watches the Dask worker process, not the flow processes,
  which have memory limits of their own (``memory_limit_mb``): once a second is plenty.

``FLOWDESK_DASK_DIAGNOSTICS=1`` (in the environment of the engine, or of a ``dask worker``)
keeps Dask's settings as they are."""

from __future__ import annotations

import os

ENV = "FLOWDESK_DASK_DIAGNOSTICS"

CONFIG = {
    "distributed.worker.profile.enabled": False,
    "distributed.admin.tick.interval": "500ms",
    "distributed.worker.memory.monitor-interval": "1s",
}
"""For the servers Flowdesk starts itself (``flowdesk cluster local``, ``--cluster local:N``)."""

_RETIMED_MS = {"tick": 500, "memory_monitor": 1000}
"""The same, for a running worker that someone else started (``dask worker``)."""


def kept() -> bool:
    """True when the user asked for Dask's diagnostics as Dask sets them."""
    return os.environ.get(ENV, "").strip().lower() in ("1", "true", "yes", "on")


def local_cluster(distributed, **kwargs):
    """``distributed.LocalCluster(**kwargs)`` with :data:`CONFIG` (unless :func:`kept`): the
    scheduler and nannies read it as they start, and the nannies hand it to their workers."""
    if kept():
        return distributed.LocalCluster(**kwargs)
    import dask

    with dask.config.set(CONFIG):
        return distributed.LocalCluster(**kwargs)


def quiet_worker(worker) -> list[str]:
    """Stop the profiler of a running Dask worker and slow its tick and memory monitor (unless
    :func:`kept`); the names of the callbacks changed. Runs on the worker's event loop."""
    if kept():
        return []
    callbacks = getattr(worker, "periodic_callbacks", None) or {}
    changed = []
    for name in ("profile", "profile-cycle"):
        # Removed, not only stopped: a worker that joins after the plugin was registered runs
        # its setup before Worker.start_periodic_callbacks, which starts whatever is listed.
        callback = callbacks.pop(name, None)
        if callback is not None:
            callback.stop()
            changed.append(name)
    for name, every_ms in _RETIMED_MS.items():
        callback = callbacks.get(name)
        if callback is not None and callback.callback_time < every_ms:
            callback.callback_time = every_ms
            changed.append(name)
    return changed
