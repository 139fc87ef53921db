"""Other engines' events (issue 12, design §8): an engine opened with ``follow_others=True`` (the
IDE's) publishes what another engine on the same database (a CLI's, another machine's) does —
the same events, per execution in the same order, as that engine publishes for itself — at most
0.5 s after the change (the median; tens of milliseconds on PostgreSQL, through LISTEN/NOTIFY), and never
publishes its own changes twice. Two cluster engines running trees at once on one PostgreSQL
claim every execution exactly once.

Real parts only: two Engines with their worker processes on a SQLite file or on the real
PostgreSQL server (tests/pg_server.py); for the cluster test a Dask LocalCluster of worker
processes. This file needs only the root conftest (``postgres_server``): PostgreSQL cases skip
without the server binaries, the cluster case without ``distributed``."""

from __future__ import annotations

import contextlib
import importlib.util
import statistics
import time
from pathlib import Path

import pytest
import sqlalchemy as sa

from engine_core import Engine, EngineOptions
from engine_core import events as ev
from cluster_support import Recorder
from support import FlowWorkspace, wait_until

TALKER = """
    import time

    import flow_api


    def handler(system: flow_api.System, this: flow_api.Execution, inputs: dict):
        for i in range(3):
            this.log(f"step {i} of {inputs['k']}", n=i)
            time.sleep(0.15)
        this.set_output(done=inputs["k"])
        this.flow("Echo", k=inputs["k"])
        return this.success("talked")
"""
ECHO = """
    import flow_api


    def handler(system: flow_api.System, this: flow_api.Execution, inputs: dict):
        this.log("echo", k=inputs["k"])
        this.set_output(echo=inputs["k"])
        return this.success("echoed")
"""
LAG_S = 0.5
"""The issue's bound on how far behind the change another engine's events arrive: the median
must keep it. Single events only get a loose bound (LOOSE_LAG_S): each lag holds the other
engine's round and commit, the feed's poll and this engine's round, and on a loaded 2-CPU
machine any of them can wait for a CPU."""
LOOSE_LAG_S = 3.0
OPTIONS = dict(warm_workers=1, memory_limit_mb=1024)


@pytest.fixture
def make_workspace(tmp_path):
    def make(flows: dict[str, str]) -> FlowWorkspace:
        workspace = FlowWorkspace(tmp_path / "ws")
        (workspace.root / "flows").mkdir(parents=True)
        for flow, source in flows.items():
            workspace.write_flow(flow, source)
        return workspace

    return make


@pytest.fixture
def new_pg_database(request):
    """A new, empty database on the session's PostgreSQL server (skips without the binaries)."""
    from pg_server import new_database

    return new_database(request.getfixturevalue("postgres_server"))


def tree_ids(engine: Engine, root_id: int) -> list[int]:
    with engine.store.engine.connect() as conn:
        return list(conn.execute(sa.text("SELECT id FROM executions WHERE root_id = :r ORDER BY id"),
                                 {"r": root_id}).scalars())


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def shared_db(request, tmp_path):
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'shared.db'}"
    return request.getfixturevalue("new_pg_database")


def test_an_ide_engine_shows_another_engines_run_live(shared_db, make_workspace):
    workspace = make_workspace({"Talker": TALKER, "Echo": ECHO})
    with Engine(Path(workspace), db_url=shared_db, options=EngineOptions(**OPTIONS), follow_others=True) as ide, \
            Engine(Path(workspace), db_url=shared_db, options=EngineOptions(**OPTIONS)) as cli:
        seen_by_ide, seen_by_cli = Recorder(ide), Recorder(cli)
        theirs = cli.submit("Talker", {"k": 1})
        ours = ide.submit("Talker", {"k": 2})  # the IDE engine's own run, at the same time
        assert cli.wait(theirs, 60)["status"] == "success"
        assert ide.wait(ours, 60)["status"] == "success"
        # A sentinel: the feed publishes in commit order, so once the IDE has the end of an
        # execution the CLI started after both trees ended, anything of the trees published
        # late (or twice) has arrived too.
        sentinel = cli.submit("Echo", {"k": 99})
        assert cli.wait(sentinel, 60)["status"] == "success"
        seen_by_ide.wait(lambda e: isinstance(e, ev.StatusChanged) and e.id == sentinel and e.status == "success",
                         30, "the end of the CLI's sentinel in the IDE engine")
        their_ids, our_ids = tree_ids(cli, theirs), tree_ids(ide, ours)
        assert len(their_ids) == len(our_ids) == 2

        # The CLI's tree: the same events, per execution in the same order, as the CLI published.
        ide_view, cli_view = seen_by_ide.by_execution(their_ids), seen_by_cli.by_execution(their_ids)
        for execution_id in their_ids:
            assert ide_view[execution_id] == cli_view[execution_id], execution_id
            kinds = [type(e).__name__ for e in ide_view[execution_id]]
            assert kinds[0] == "ExecutionCreated" and kinds[-1] == "StatusChanged", kinds
            assert {"LogAppended", "OutputChanged"} <= set(kinds), kinds
            assert [e.status for e in ide_view[execution_id] if isinstance(e, ev.StatusChanged)] == ["running", "success"]
        root_events = ide_view[theirs]
        assert [e.text for e in root_events if isinstance(e, ev.LogAppended)] == [f"step {i} of 1" for i in range(3)]
        assert [e.outputs for e in root_events if isinstance(e, ev.OutputChanged)] == [{"done": 1}]
        assert ide.tree(theirs)["outputs"] == {"done": 1}

        # ...0.5 s behind the change (event arrival vs the row's time): the median; no single one very late.
        lags = [arrived - event.at for arrived, event in seen_by_ide.events
                if getattr(event, "id", None) in their_ids and isinstance(getattr(event, "at", None), float)]
        assert lags
        print(f"other engine's events behind the change: p50 {statistics.median(lags) * 1000:.0f} ms, "
              f"max {max(lags) * 1000:.0f} ms ({len(lags)} events)")
        assert statistics.median(lags) <= LAG_S and max(lags) <= LOOSE_LAG_S, sorted(lags)[-5:]

        # The IDE engine's own run: each event once (not again from the feed); the CLI saw none.
        own = seen_by_ide.by_execution(our_ids)
        for execution_id in our_ids:
            created = [e for e in own[execution_id] if isinstance(e, ev.ExecutionCreated)]
            statuses = [e.status for e in own[execution_id] if isinstance(e, ev.StatusChanged)]
            logs = [e for e in own[execution_id] if isinstance(e, ev.LogAppended)]
            assert len(created) == 1 and statuses == ["running", "success"], own[execution_id]
            assert [(e.text, e.at) for e in logs] == [(entry["text"], entry["at"]) for entry in ide.store.logs(execution_id)]
        assert all(events == [] for events in seen_by_cli.by_execution(our_ids).values()), \
            "a CLI engine does not follow"


@pytest.mark.postgres
@pytest.mark.skipif(importlib.util.find_spec("distributed") is None, reason="distributed (Dask) is not installed")
def test_two_cluster_engines_on_one_database_claim_each_execution_once(new_pg_database, make_workspace):
    from distributed import LocalCluster

    from engine_core import ClusterOptions

    workspace = make_workspace({"Talker": TALKER, "Echo": ECHO})
    with LocalCluster(n_workers=2, threads_per_worker=1, processes=True, dashboard_address=None) as cluster:
        options = EngineOptions(cluster=ClusterOptions(cluster.scheduler_address), **OPTIONS)
        with Engine(Path(workspace), db_url=new_pg_database, options=options, follow_others=True) as ide, \
                Engine(Path(workspace), db_url=new_pg_database, options=options) as cli:
            _run_two_cluster_engines(ide, cli)


def _run_two_cluster_engines(ide: Engine, cli: Engine) -> None:
    seen_by_ide = Recorder(ide)
    theirs = [cli.submit("Talker", {"k": k}) for k in range(3)]
    ours = [ide.submit("Talker", {"k": 10 + k}) for k in range(3)]
    for engine, roots in ((cli, theirs), (ide, ours)):
        for root in roots:
            assert engine.wait(root, 120)["status"] == "success"
    with ide.store.engine.connect() as conn:
        rows = conn.execute(sa.text(
            "SELECT e.id, e.status, e.attempt, e.worker_address, e.engine_session_id,"
            " (SELECT count(*) FROM status_changes s WHERE s.execution_id = e.id AND s.status = 'running') AS runs"
            " FROM executions e ORDER BY e.id")).mappings().all()
    assert len(rows) == 12
    for row in rows:
        assert (row["status"], row["attempt"], row["runs"]) == ("success", 1, 1), dict(row)
        assert row["worker_address"], dict(row)
    assert len({r["engine_session_id"] for r in rows}) == 2
    # The IDE engine was told where the CLI's executions ran.
    their_ids = [i for root in theirs for i in tree_ids(cli, root)]
    wait_until(lambda: all(any(isinstance(e, ev.ExecutionPlaced) for e in events)
                           for events in seen_by_ide.by_execution(their_ids).values()),
               10, "placements of the CLI's runs")
    placed = {e.id: e for events in seen_by_ide.by_execution(their_ids).values() for e in events
              if isinstance(e, ev.ExecutionPlaced)}
    by_id = {r["id"]: r for r in rows}
    assert all((p.attempt, p.address) == (1, by_id[i]["worker_address"]) for i, p in placed.items())


# -- the feed's reads, driven by hand on the real databases -----------------------------------

def _writer_with_session(store, host: str = "node-b"):
    from engine_core.store.writer import Writer

    writer = Writer(store.engine)
    session = writer.open_session(4242, host)
    writer.commit()
    return writer, session


def _new(writer, session: int, flow: str = "Flow") -> int:
    return writer.create_execution(flow=flow, name=flow, kind="flow", mode="productive", inputs="{}",
                                   parent_id=None, root_id=None, session_id=session, at=time.time())


@contextlib.contextmanager
def _feed_beside_a_writer(db: str, tmp_path, request):
    """(writer, its session, a feed of an engine that is not that session) on a new database."""
    from engine_core import Store
    from engine_core.cluster.feed import OtherEngines

    url = f"sqlite:///{tmp_path / 'feed.db'}" if db == "sqlite" else request.getfixturevalue("new_pg_database")
    store = Store(url)
    writer, session = _writer_with_session(store)
    feed = OtherEngines(store, ev.EventBus(), session_id=None).open()
    try:
        yield store, writer, session, feed
    finally:
        feed.stop()
        writer.close()
        store.close()


@pytest.mark.parametrize("db", ["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def test_rows_committed_out_of_order_are_published_once(db, tmp_path, request):
    """PostgreSQL hands out ids when rows are inserted, not when they commit: a log line of a
    long transaction can appear after lines with higher ids were read. It is still published,
    once (SQLite serialises writers; the test shows the same there)."""
    with _feed_beside_a_writer(db, tmp_path, request) as (store, first, session, feed):
        execution_id = _new(first, session)
        first.commit()
        assert [type(e).__name__ for e in feed.read()] == ["ExecutionCreated"]
        first.append_log(execution_id, time.time(), "info", "early id, late commit", None)
        if db == "postgresql":  # a second engine's transaction takes a later id and commits first
            second, _ = _writer_with_session(store, "node-c")
            second.append_log(execution_id, time.time(), "info", "later id, early commit", None)
            second.commit()
            assert [e.text for e in feed.read()] == ["later id, early commit"]
            second.close()
        first.commit()
        assert [e.text for e in feed.read()] == ["early id, late commit"]
        assert feed.read() == [], "nothing twice"


@pytest.mark.parametrize("db", ["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def test_placement_resume_and_end_of_another_engines_execution(db, tmp_path, request):
    with _feed_beside_a_writer(db, tmp_path, request) as (_, writer, session, feed):
        execution_id = _new(writer, session)
        writer.commit()
        assert writer.claim_run(execution_id, 0, "node-b", "tcp://10.0.0.6:40123")
        writer.set_status(execution_id, "running", time.time(), started=True)
        writer.commit()
        events = feed.read()
        assert [type(e).__name__ for e in events] == ["ExecutionCreated", "ExecutionPlaced", "StatusChanged"]
        placed = events[1]
        assert (placed.id, placed.host, placed.address, placed.attempt) == (execution_id, "node-b", "tcp://10.0.0.6:40123", 1)

        # The worker was lost: resumed and claimed again elsewhere; then it ends with outputs.
        writer.mark_resumed_many([(execution_id, time.time(), 2.5, "resumed on another worker: gone")])
        assert writer.claim_run(execution_id, 1, "node-c", "tcp://10.0.0.7:40123")
        writer.commit()
        events = feed.read()
        kinds = [type(e).__name__ for e in events]
        assert "ExecutionPlaced" in kinds and "ExecutionResumed" in kinds, kinds
        again = next(e for e in events if isinstance(e, ev.ExecutionPlaced))
        assert (again.host, again.attempt) == ("node-c", 2)
        assert next(e for e in events if isinstance(e, ev.ExecutionResumed)).lost_s == 2.5

        writer.set_outputs(execution_id, '{"n": 7}')
        writer.set_status(execution_id, "success", time.time(), ended=True, message="all done")
        writer.commit()
        events = feed.read()
        assert [type(e).__name__ for e in events] == ["OutputChanged", "StatusChanged"]
        assert events[0].outputs == {"n": 7}
        assert (events[1].status, events[1].message) == ("success", "all done")
        assert feed.read() == []
