"""What Flowdesk spares the CPU of a cluster's machines (engine_core/cluster/diagnostics.py and
the engine's task ends): Dask's profiler and fast ticks on every worker the plugin runs on and
in the LocalClusters Flowdesk starts, unless FLOWDESK_DASK_DIAGNOSTICS=1; and no gather of a
task's result once its run ended over the relay. Real LocalClusters (worker processes)."""

from __future__ import annotations

import logging
from types import SimpleNamespace

import pytest

distributed = pytest.importorskip("distributed")
import dask  # noqa: E402  (installed with distributed)
import dask.utils  # noqa: E402

from engine_core.cluster import diagnostics  # noqa: E402
from engine_core.cluster.plugin import FlowdeskWorkerPlugin  # noqa: E402
from engine_core.runtime.backends.dask_submit import Submissions  # noqa: E402

pytestmark = pytest.mark.timeout(120)


def _worker_timers(dask_worker=None) -> dict:
    callbacks = dask_worker.periodic_callbacks
    profile = callbacks.get("profile")
    return {"profiling": profile is not None and profile.is_running(),
            "tick_ms": callbacks["tick"].callback_time,
            "memory_ms": callbacks["memory_monitor"].callback_time if "memory_monitor" in callbacks else None}


# Dask's own tick (20 ms unless this machine's Dask configuration says otherwise): what a
# server started without Flowdesk's settings ticks at.
DASK_TICK_MS = dask.utils.parse_timedelta(dask.config.get("distributed.admin.tick.interval"), default="ms") * 1000


def _with_plugin(local: bool, *, late_worker: bool = False) -> list[dict]:
    """The timers of each worker (and the scheduler's tick) with Flowdesk's plugin registered;
    ``late_worker``: one more worker joins after the plugin was registered."""
    start = diagnostics.local_cluster if local else (lambda d, **kw: d.LocalCluster(**kw))
    with start(distributed, n_workers=1, threads_per_worker=1, processes=True, dashboard_address=None,
               silence_logs=logging.ERROR) as cluster, distributed.Client(cluster) as client:
        client.register_plugin(FlowdeskWorkerPlugin(warm_per_worker=0, memory_limit_mb=1024), name="flowdesk")
        if late_worker:
            cluster.scale(2)
            client.wait_for_workers(2, timeout=60)
        timers = list(client.run(_worker_timers).values())
        scheduler_tick_ms = client.run_on_scheduler(
            lambda dask_scheduler: dask_scheduler.periodic_callbacks["tick"].callback_time)
        return [{**worker, "scheduler_tick_ms": scheduler_tick_ms} for worker in timers]


def test_the_plugin_quiets_a_worker_started_with_dasks_defaults(monkeypatch):
    monkeypatch.delenv(diagnostics.ENV, raising=False)
    for timers in _with_plugin(local=False, late_worker=True):  # the one there, and one that joined later
        assert timers["profiling"] is False
        assert timers["tick_ms"] == max(500, DASK_TICK_MS)
        assert timers["memory_ms"] in (None, 1000)  # the worker's own monitor, if its Dask runs one
        assert timers["scheduler_tick_ms"] == DASK_TICK_MS  # a scheduler someone else started keeps its own


def test_a_local_cluster_of_flowdesk_starts_quiet(monkeypatch):
    monkeypatch.delenv(diagnostics.ENV, raising=False)
    (timers,) = _with_plugin(local=True)
    assert timers["profiling"] is False
    assert timers["tick_ms"] == 500
    assert timers["scheduler_tick_ms"] == 500


def test_flowdesk_dask_diagnostics_keeps_dasks_own_settings(monkeypatch):
    monkeypatch.setenv(diagnostics.ENV, "1")  # the spawned workers inherit it
    (timers,) = _with_plugin(local=True)
    assert timers["profiling"] is dask.config.get("distributed.worker.profile.enabled")
    assert timers["tick_ms"] == DASK_TICK_MS
    assert timers["scheduler_tick_ms"] == DASK_TICK_MS


class _Future:
    """A future whose result must not be asked for (a gather: client, scheduler and worker)."""

    def __init__(self):
        self.status = "finished"
        self.asked = 0
        self.released = False

    def result(self, timeout=None):
        self.asked += 1
        return "done"

    def release(self):
        self.released = True


def test_a_run_that_ended_over_the_relay_is_not_gathered(tmp_path):
    # The dispatcher released the run (its exit came over the relay) before Dask's callback: how
    # its task ended is moot, so no round trip to the worker for the result.
    host = SimpleNamespace(options=SimpleNamespace(cluster=None), workspace=SimpleNamespace(root=tmp_path))
    tasks = Submissions(host)
    released = SimpleNamespace(released=True, dead=False, over=False, conn=object(), future=None, token="a")
    running = SimpleNamespace(released=False, dead=False, over=False, conn=object(), future=None, token="b")
    moot, wanted = _Future(), _Future()
    tasks._task_ended(released, moot)
    tasks._task_ended(running, wanted)  # connected but not released: what Dask says may end the run
    ended = {handle.token: outcome for handle, outcome in tasks.ended()}
    assert moot.asked == 0 and moot.released
    assert wanted.asked == 1 and ended["b"].detail == "done"
    tasks.close()
