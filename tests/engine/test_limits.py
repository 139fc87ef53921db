"""The limits the README promises: nesting depth, worker reuse and replacement, the memory limit.

Each asserts what a user can see: the stored execution tree, the worker pid a flow reports,
the address-space limit a flow reads."""

from __future__ import annotations

import pytest

from engine_core import Engine, EngineOptions

RECURSE = """
    import flow_api
    def handler(system, this, inputs):
        level = inputs['level']
        this.set_output(level=level)
        try:
            this.flow('Recurse', level=level + 1)
        except Exception as exc:  # the deepest one is refused its child
            this.set_output(refused=str(exc), flow_api_error=isinstance(exc, flow_api.FlowApiError))
        return this.success(f'level {level}')
"""

PID = """
    import os
    def handler(system, this, inputs):
        this.set_output(pid=os.getpid())
"""


def _chain(tree: dict) -> list[dict]:
    """The executions of a tree that is a single chain, root first."""
    chain = [tree]
    while chain[-1]["children"]:
        assert len(chain[-1]["children"]) == 1, "a recursion tree has one child per level"
        chain.append(chain[-1]["children"][0])
    return chain


@pytest.mark.parametrize("max_depth", [None, 3], ids=["default-32", "max_depth-3"])
def test_children_nest_up_to_max_depth_and_the_next_level_is_refused(workspace, max_depth):
    options = EngineOptions(warm_workers=1, memory_limit_mb=1024) if max_depth is None else \
        EngineOptions(warm_workers=1, memory_limit_mb=1024, max_depth=max_depth)
    limit = options.max_depth
    assert limit == (32 if max_depth is None else max_depth)
    workspace.write_flow("Recurse", RECURSE)
    with Engine(workspace.root, options=options) as engine:
        record = engine.run("Recurse", {"level": 0}, timeout=120)
        assert (record["status"], record["message"]) == ("success", "level 0")
        chain = _chain(engine.tree(record["id"]))
        # The root is level 0; child executions nest ``limit`` deep: limit + 1 executions in all.
        assert len(chain) == limit + 1
        assert [node["outputs"]["level"] for node in chain] == list(range(limit + 1))
        assert all(node["status"] == "success" for node in chain)
        stored = engine.store.executions(limit=1000)
        assert len(stored) == limit + 1, "no execution was stored for the refused level"
        # Only the deepest was refused, and the message names the limit and the likely cause.
        refused = [node["outputs"].get("refused") for node in chain]
        assert refused[:-1] == [None] * limit
        deepest = chain[-1]
        assert deepest["outputs"]["flow_api_error"] is True, "the flow can catch it as a flow API error"
        assert refused[-1] == (
            f"child executions nest deeper than {limit} levels (starting 'Recurse' from "
            f"'Recurse' (#{deepest['id']})); is a flow calling itself without end?"
        )


def test_a_worker_that_hit_memory_error_is_not_reused(engine, workspace):
    workspace.write_flow("Pid", PID)
    workspace.write_flow("Hog", """
        import os
        def handler(system, this, inputs):
            this.set_output(pid=os.getpid())
            blocks = []
            while True:
                blocks.append(bytearray(100 * 1024 * 1024))
    """)
    # Sequential executions share a worker...
    first = engine.run("Pid", timeout=30)["outputs"]["pid"]
    assert engine.run("Pid", timeout=30)["outputs"]["pid"] == first
    # ...also the one that then runs out of memory...
    hog = engine.run("Hog", timeout=60)
    assert hog["status"] == "error"
    assert hog["message"].startswith("MemoryError: the flow ran out of memory")
    assert hog["outputs"]["pid"] == first
    # ...but after the MemoryError that worker is replaced, and the next one is reused again.
    after = engine.run("Pid", timeout=30)["outputs"]["pid"]
    assert after != first
    assert engine.run("Pid", timeout=30)["outputs"]["pid"] == after


@pytest.mark.parametrize("max_runs", [1, 3])
def test_a_worker_is_replaced_after_worker_max_runs_executions(workspace, max_runs):
    workspace.write_flow("Pid", PID)
    options = EngineOptions(warm_workers=1, max_workers=2, memory_limit_mb=1024, worker_max_runs=max_runs)
    with Engine(workspace.root, options=options) as engine:
        pids = [engine.run("Pid", timeout=30)["outputs"]["pid"] for _ in range(3 * max_runs + 1)]
    # Runs 1..N in one worker, N+1..2N in the next, and so on: the pid changes exactly every N runs.
    groups = [pids[i:i + max_runs] for i in range(0, len(pids), max_runs)]
    assert all(len(set(group)) == 1 for group in groups), pids
    assert len({group[0] for group in groups}) == len(groups), pids


def test_default_memory_limit_is_4_gib(workspace):
    assert EngineOptions().memory_limit_mb == 4096
    workspace.write_flow("Limit", """
        import resource
        def handler(system, this, inputs):
            soft, hard = resource.getrlimit(resource.RLIMIT_AS)
            this.set_output(soft=soft, hard=hard)
    """)
    with Engine(workspace.root) as engine:  # no options: the defaults users get
        record = engine.run("Limit", timeout=30)
    assert record["status"] == "success"
    assert record["outputs"] == {"soft": 4096 * 1024 * 1024, "hard": 4096 * 1024 * 1024}
