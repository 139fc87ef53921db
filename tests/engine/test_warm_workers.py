"""EngineOptions: ``warm_workers`` idle processes are kept ready "so a new execution starts without
a process spawn", and ``max_workers`` caps the worker processes. A configuration where the two are
equal must still run flows."""

from __future__ import annotations

import pytest

from engine_core import Engine, EngineOptions

BROKEN = ("Dispatcher.start() spawns warm_workers processes but never puts them in the idle list "
          "(pool.spawn() without pool.release()); they count against max_workers and are never used. "
          "With max_workers == warm_workers no worker is left to run anything: the root stays queued "
          "until the timeout cancels it.")


@pytest.mark.xfail(strict=True, reason=BROKEN)
@pytest.mark.parametrize("workers", [1, 2])
def test_flows_run_when_max_workers_equals_warm_workers(workspace, workers):
    options = EngineOptions(warm_workers=workers, max_workers=workers, memory_limit_mb=1024)
    with Engine(workspace.root, options=options) as engine:
        record = engine.run("Calculator", {"initial_value": 4}, timeout=5)
    assert (record["status"], record["outputs"]) == ("success", {"result": 4}), record["message"]
