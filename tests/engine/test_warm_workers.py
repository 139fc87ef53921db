"""EngineOptions: ``warm_workers`` idle processes are kept ready "so a new execution starts without
a process spawn", and ``max_workers`` caps the worker processes. A configuration where the two are
equal must still run flows."""

from __future__ import annotations

import pytest

from engine_core import Engine, EngineOptions

@pytest.mark.parametrize("workers", [1, 2])
def test_flows_run_when_max_workers_equals_warm_workers(workspace, workers):
    options = EngineOptions(warm_workers=workers, max_workers=workers, memory_limit_mb=1024)
    with Engine(workspace.root, options=options) as engine:
        record = engine.run("Calculator", {"initial_value": 4}, timeout=5)
    assert (record["status"], record["outputs"]) == ("success", {"result": 4}), record["message"]
