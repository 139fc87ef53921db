"""Fixtures of the cluster tests (issue 12): a real PostgreSQL database, real Dask LocalClusters
(worker processes, as ``dask worker`` runs them), workspaces whose flows the test writes, and
engines that run their executions on such a cluster.

A test here that uses a cluster is skipped, with the reason, when ``distributed`` (the
``cluster`` extra) is not installed, and one that uses the database when the PostgreSQL server
binaries are not on PATH: a cluster's engines and IDEs share one PostgreSQL database, so that is
what these tests run on."""

from __future__ import annotations

import importlib.util
import shutil
from pathlib import Path

import pytest

from support import EXAMPLES, FlowWorkspace

HERE = Path(__file__).resolve().parent

_NO_DASK = "distributed (Dask) is not installed: pip install 'flowdesk[cluster]' to run the cluster tests"
_NO_PG = ("PostgreSQL server binaries (initdb, pg_ctl) are not on PATH: the cluster tests run on a real "
          "PostgreSQL server, as a cluster's engines share one")
_CLUSTER_FIXTURES = {"local_cluster", "cluster_2x1", "cluster_engine"}
_PG_FIXTURES = {"pg_url", "postgres_server"}


def pytest_collection_modifyitems(config, items) -> None:
    """Skip, with the reason, the tests here that need what is missing (a conftest's hook sees
    every collected item: only this folder's are looked at, by the fixtures they use)."""
    no_dask = importlib.util.find_spec("distributed") is None
    no_pg = not (shutil.which("initdb") and shutil.which("pg_ctl"))
    if not (no_dask or no_pg):
        return
    for item in items:
        if HERE not in Path(item.path).parents:
            continue
        used = set(getattr(item, "fixturenames", ()))
        if no_dask and used & _CLUSTER_FIXTURES:
            item.add_marker(pytest.mark.skip(reason=_NO_DASK))
        elif no_pg and used & _PG_FIXTURES:
            item.add_marker(pytest.mark.skip(reason=_NO_PG))


@pytest.fixture(scope="module")
def pg_url(postgres_server) -> str:
    """A new, empty database on the session's PostgreSQL server, for one test module."""
    from pg_server import new_database

    return new_database(postgres_server)


@pytest.fixture
def local_cluster():
    """``make(workers=2, threads=1, **kw)``: a Dask LocalCluster of ``workers`` worker processes
    (each under a Nanny, as ``dask worker`` starts them) with ``threads`` threads each; every
    cluster made is closed after the test (after the engines on it: see ``cluster_engine``)."""
    from distributed import LocalCluster

    made = []

    def make(workers: int = 2, threads: int = 1, **kwargs):
        cluster = LocalCluster(n_workers=workers, threads_per_worker=threads, processes=True,
                               dashboard_address=None, **kwargs)
        made.append(cluster)
        return cluster

    yield make
    for cluster in reversed(made):
        cluster.close(timeout=30)


@pytest.fixture(scope="module")
def cluster_2x1():
    """One LocalCluster of 2 worker processes × 1 thread for a module's tests that leave its
    workers as they found them (no kills): saves a cluster start per test."""
    from distributed import LocalCluster

    cluster = LocalCluster(n_workers=2, threads_per_worker=1, processes=True, dashboard_address=None)
    yield cluster
    cluster.close(timeout=30)


@pytest.fixture
def make_workspace(tmp_path):
    """``make(flows, examples=False, name='ws')``: a workspace folder whose ``flows/`` holds
    ``flows`` (name → source, dedented), on top of a copy of the example workspace when
    ``examples``."""

    def make(flows: dict[str, str] | None = None, *, examples: bool = False, name: str = "ws") -> FlowWorkspace:
        root = tmp_path / name
        if examples:
            shutil.copytree(EXAMPLES, root, ignore=shutil.ignore_patterns(".flowdesk"))
        else:
            (root / "flows").mkdir(parents=True)
        workspace = FlowWorkspace(root)
        for flow, source in (flows or {}).items():
            workspace.write_flow(flow, source)
        return workspace

    return make


@pytest.fixture
def cluster_engine(local_cluster):
    """``make(workspace, cluster, db_url, follow_others=False, cluster_options=None, **options)``:
    a started Engine whose executions run on ``cluster`` (a LocalCluster or a scheduler
    address); ``options`` are EngineOptions fields, ``cluster_options`` ClusterOptions fields.
    Closed after the test, before the clusters (this fixture depends on ``local_cluster``)."""
    from engine_core import Engine, EngineOptions
    from engine_core.cluster.config import ClusterOptions

    engines = []

    def make(workspace, cluster, db_url: str, *, follow_others: bool = False, cluster_options: dict | None = None,
             **options):
        address = cluster if isinstance(cluster, str) else cluster.scheduler_address
        engine_options = EngineOptions(cluster=ClusterOptions(address, **(cluster_options or {})),
                                       **{"memory_limit_mb": 1024, "warm_workers": 1, **options})
        extra = {"follow_others": True} if follow_others else {}
        engine = Engine(Path(workspace), db_url=db_url, options=engine_options, **extra)
        engines.append(engine)
        engine.start()
        return engine

    yield make
    for engine in reversed(engines):
        engine.close()
