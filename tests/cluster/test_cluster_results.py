"""The same flows give the same results on a Dask cluster as on this machine (issue 12, Tests):
the seed examples, a 3-level tree with 20 parallel children, and a 32-deep chain on 2 workers
with one thread each (a parent waiting on its child gives its worker slot back)."""

from __future__ import annotations

import socket
import time

import pytest

from cluster_support import rows, shape
from engine_core import Engine, EngineOptions

pytestmark = pytest.mark.timeout(180)

SEED_RUNS = [
    ("Main Process", None),
    ("Create Child", None),
    ("Handle Errors", None),
    ("Pass a Setting", None),
    ("Calculator", {"initial_value": 7}),
    ("my_other_flow_name", {"should_fail": True}),  # an error, with the flow's line in its message
]

TREE = {
    "Tree": """
        def handler(system, this):
            branches = [this.flow('Branch', i=i, run=False) for i in range(20)]
            for branch in branches:
                branch.run_async()
            this.wait_for(*branches)
            values = [branch.get('output_value')['value'] for branch in branches]
            this.save(output_value={'values': values, 'total': sum(values)})
            return this.success('20 branches')
    """,
    "Branch": """
        def handler(system, this):
            i = this.get('input_value')['i']
            square = this.flow('Leaf', name=f'leaf {i}', i=i).get('output_value')['square']
            this.log(f'branch {i} got {square}')
            this.set_output(value=square + i)
            return this.success(f'branch {i}')
    """,
    "Leaf": """
        def handler(system, this, inputs):
            this.set_output(square=inputs['i'] ** 2)
    """,
}

CHAIN = """
    def handler(system, this, inputs):
        level = inputs['level']
        if level < inputs['depth'] - 1:
            deepest = this.flow('Chain', level=level + 1, depth=inputs['depth']).get('output_value')['deepest']
        else:
            deepest = level
        this.set_output(level=level, deepest=deepest)
"""


def _run_locally(workspace, runs) -> tuple[list[dict], dict]:
    """The trees of ``runs`` run by a local engine (SQLite in the workspace), and its settings."""
    with Engine(workspace.root, options=EngineOptions(warm_workers=1, memory_limit_mb=1024)) as engine:
        trees = []
        for flow, inputs in runs:
            record = engine.run(flow, inputs, timeout=60)
            trees.append(engine.tree(record["id"]))
        return trees, engine.store.settings()


def test_seed_examples_end_the_same_on_the_cluster(make_workspace, cluster_2x1, cluster_engine, pg_url):
    workspace = make_workspace(examples=True)
    local, settings = _run_locally(workspace, SEED_RUNS)
    assert [t["status"] for t in local] == ["success"] * 5 + ["error"]
    assert settings == {"my-setting": "my value"}

    engine = cluster_engine(workspace, cluster_2x1, pg_url)
    assert engine.describe_backend()["runs_on"] == "cluster"
    remote = []
    for flow, inputs in SEED_RUNS:
        record = engine.run(flow, inputs, timeout=60)
        remote.append(engine.tree(record["id"]))
    for here, there in zip(local, remote):
        assert shape(there) == shape(here)
    # The setting the child wrote through the resource its parent passed is in the shared database.
    assert engine.store.settings() == {"my-setting": "my value"}
    for tree in remote:
        placed = rows(engine, tree["id"])
        assert all(r["worker_host"] and r["worker_address"] in cluster_2x1.scheduler_info["workers"]
                   for r in placed), placed


def test_tree_of_3_levels_with_20_parallel_children(make_workspace, cluster_2x1, cluster_engine, pg_url):
    workspace = make_workspace(TREE)
    [local], _ = _run_locally(workspace, [("Tree", None)])
    assert local["outputs"]["total"] == sum(i * i + i for i in range(20))

    engine = cluster_engine(workspace, cluster_2x1, pg_url)
    record = engine.run("Tree", timeout=120)
    assert (record["status"], record["message"]) == ("success", "20 branches"), record["message"]
    tree = engine.tree(record["id"])
    assert shape(tree) == shape(local)
    placed = rows(engine, record["id"])
    assert len(placed) == 41
    workers = set(cluster_2x1.scheduler_info["workers"])
    # Every execution ran on a worker of the cluster (this machine's, for a LocalCluster), once.
    assert {r["worker_host"] for r in placed} == {socket.gethostname()}
    assert {r["worker_address"] for r in placed} <= workers
    assert {r["attempt"] for r in placed} == {1}


def test_chain_32_deep_on_2_workers_with_1_thread_each(make_workspace, cluster_2x1, cluster_engine, pg_url):
    # Without giving the slot back while it waits, a 4-deep chain deadlocks 2 workers × 1 thread.
    workspace = make_workspace({"Chain": CHAIN})
    engine = cluster_engine(workspace, cluster_2x1, pg_url)
    assert all(w["nthreads"] == 1 for w in cluster_2x1.scheduler_info["workers"].values())
    started = time.monotonic()
    record = engine.run("Chain", {"level": 0, "depth": 32}, timeout=60)
    elapsed = time.monotonic() - started
    assert record["status"] == "success", record["message"]
    assert record["outputs"] == {"level": 0, "deepest": 31}
    chain = rows(engine, record["id"])
    assert len(chain) == 32 and {r["status"] for r in chain} == {"success"}
    assert elapsed < 60, f"the 32-deep chain took {elapsed:.1f} s"
    print(f"32-deep chain on 2 workers x 1 thread: {elapsed:.2f} s")
