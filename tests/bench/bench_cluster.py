#!/usr/bin/env python3
"""Cluster benchmark (issue 12): the same flows on a Dask cluster with a shared PostgreSQL.

1. CPU-bound scaling: 200 root executions that each burn 0.2 s of CPU (a busy loop on
   ``time.process_time``), on a LocalCluster of 1 worker process × 1 thread, then of 2 × 1
   (``max_parallel`` 200: Dask places them); ``cpu_speedup = t1 / t2``.
2. I/O-bound: 200 executions that each ``time.sleep(0.5)``, 50 at once (``max_parallel`` 50, a
   LocalCluster of 2 × 25 threads, after an untimed warm-up round of 50); executions per second.
3. Per-execution overhead: a parent times 200 sequential ``this.flow('Trivial')`` calls with
   ``perf_counter``; the p50 on the cluster (2 × 1) beside the local engine's, both on the same
   PostgreSQL database, so the difference is the cluster path alone.
4. Lost: executions created minus executions that ended in a terminal status, over every phase.

PostgreSQL: ``--db postgresql://…`` (an empty database), or a throw-away server started here with
tests/pg_server.py (needs initdb/pg_ctl on PATH). Run from the set-up venv:
    python tests/bench/bench_cluster.py [--count 200] [--calls 200] [--db URL]
Targets are printed beside the figures; the last line printed is one JSON object."""

from __future__ import annotations

import argparse
import contextlib
import json
import logging
import shutil
import statistics
import sys
import tempfile
import textwrap
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))         # bench_engine
sys.path.insert(0, str(HERE.parent))  # pg_server, support

TARGETS = {"cpu_speedup": 1.7, "cluster_child_roundtrip_p50_ms": 30.0, "executions_lost": 0}
TERMINAL = ("success", "error", "cancelled")

FLOWS = {
    "Burn": """
        import time
        def handler(system, this, inputs):
            end = time.process_time() + inputs['cpu_s']
            loops = 0
            while time.process_time() < end:
                loops += 1
            this.set_output(loops=loops)
    """,
    "IO Wait": """
        import time
        def handler(system, this, inputs):
            time.sleep(inputs['wait_s'])
    """,
    "Trivial": """
        def handler(system, this, inputs):
            return this.success('ok')
    """,
    "Roundtrip": """
        import time
        def handler(system, this, inputs):
            times = []
            for i in range(inputs['calls']):
                started = time.perf_counter()
                this.flow('Trivial')
                times.append((time.perf_counter() - started) * 1000)
            this.set_output(times_ms=times)
            return this.success('done')
    """,
}


def make_workspace(root: Path) -> None:
    flows = root / "flows"
    flows.mkdir(parents=True)
    for name, source in FLOWS.items():
        (flows / f"{name}.py").write_text(textwrap.dedent(source).lstrip())


@contextlib.contextmanager
def cluster_engine(root: Path, db_url: str, workers: int, threads: int, **options):
    """A LocalCluster as ``flowdesk cluster local`` starts it (worker processes under Nannies, as
    ``dask worker`` runs them; Dask's diagnostics slowed as cluster/diagnostics.py says, or left
    as Dask sets them with FLOWDESK_DASK_DIAGNOSTICS=1) and an Engine running its executions
    there; both closed afterwards."""
    import distributed

    from engine_core import Engine, EngineOptions
    from engine_core.cluster.config import ClusterOptions
    from engine_core.cluster.diagnostics import local_cluster

    cluster_options = options.pop("cluster_options", {})
    cluster = local_cluster(distributed, n_workers=workers, threads_per_worker=threads, processes=True,
                            dashboard_address=None, silence_logs=logging.ERROR)
    try:
        engine_options = EngineOptions(cluster=ClusterOptions(cluster.scheduler_address, **cluster_options),
                                       **{"warm_workers": 1, "memory_limit_mb": 1024, **options})
        with Engine(root, db_url=db_url, options=engine_options) as engine:
            record = engine.run("Trivial", timeout=120)  # the client, the relay, warm flow processes
            assert record["status"] == "success", record["message"]
            yield engine
    finally:
        cluster.close(timeout=30)


def run_roots(engine, flow: str, inputs: dict, count: int) -> float:
    """Submit ``count`` roots at once; seconds until the last one ended (every one in success)."""
    started = time.perf_counter()
    ids = engine.submit_many([(flow, inputs, None)] * count)
    failed = []
    for execution_id in ids:
        record = engine.wait(execution_id, timeout=600)
        if record["status"] != "success":
            failed.append((execution_id, record["status"], record["message"]))
    elapsed = time.perf_counter() - started
    assert not failed, f"{len(failed)} of {count} {flow} executions did not succeed, e.g. {failed[:3]}"
    return elapsed


def bench_cpu(root: Path, db_url: str, count: int, cpu_s: float) -> dict:
    times = {}
    for workers in (1, 2):
        with cluster_engine(root, db_url, workers, 1, max_parallel=count) as engine:
            times[workers] = run_roots(engine, "Burn", {"cpu_s": cpu_s}, count)
        print(f"  {count} × {cpu_s} s of CPU on {workers} worker(s) × 1 thread: {times[workers]:.2f} s", flush=True)
    return {"t1_s": round(times[1], 3), "t2_s": round(times[2], 3), "cpu_speedup": round(times[1] / times[2], 3),
            "cpu_ideal_t1_s": round(count * cpu_s, 3)}


def bench_io(root: Path, db_url: str, count: int, at_once: int, wait_s: float) -> dict:
    threads = max(1, at_once // 2)
    with cluster_engine(root, db_url, 2, threads, max_parallel=at_once,
                        cluster_options={"warm_per_worker": threads}) as engine:
        warm = run_roots(engine, "IO Wait", {"wait_s": wait_s}, at_once)  # flow processes started
        elapsed = run_roots(engine, "IO Wait", {"wait_s": wait_s}, count)
    print(f"  {count} × sleep {wait_s} s, {at_once} at once (2 workers × {threads} threads): {elapsed:.2f} s "
          f"(warm-up round of {at_once}: {warm:.2f} s)", flush=True)
    return {"io_throughput_per_s": round(count / elapsed, 1), "io_elapsed_s": round(elapsed, 3),
            "io_ideal_per_s": round(at_once / wait_s, 1), "io_warmup_s": round(warm, 3)}


def _roundtrip(engine, calls: int) -> list[float]:
    record = engine.run("Roundtrip", {"calls": calls}, timeout=600)
    assert record["status"] == "success", record["message"]
    return record["outputs"]["times_ms"]


def bench_roundtrip(root: Path, db_url: str, calls: int) -> dict:
    from bench_engine import percentile

    from engine_core import Engine, EngineOptions

    with cluster_engine(root, db_url, 2, 1) as engine:
        remote = _roundtrip(engine, calls)
    with Engine(root, db_url=db_url, options=EngineOptions()) as engine:
        engine.run("Trivial", timeout=60)
        local = _roundtrip(engine, calls)
    return {
        "cluster_child_roundtrip_p50_ms": round(statistics.median(remote), 3),
        "cluster_child_roundtrip_p95_ms": round(percentile(remote, 0.95), 3),
        "local_child_roundtrip_p50_ms": round(statistics.median(local), 3),
        "local_child_roundtrip_p95_ms": round(percentile(local, 0.95), 3),
        "cluster_calls_per_s": round(1000 / statistics.median(remote), 1),
    }


def count_lost(db_url: str) -> dict:
    import sqlalchemy as sa

    from engine_core.store import Store

    store = Store(db_url)
    try:
        with store.engine.connect() as conn:
            created = conn.execute(sa.text("SELECT COUNT(*) FROM executions")).scalar()
            ended = conn.execute(sa.text("SELECT COUNT(*) FROM executions WHERE status IN :t")
                                 .bindparams(sa.bindparam("t", expanding=True)), {"t": list(TERMINAL)}).scalar()
    finally:
        store.close()
    return {"executions_created": created, "executions_ended": ended, "executions_lost": created - ended}


@contextlib.contextmanager
def database(db_url: str | None):
    if db_url:
        yield db_url
        return
    if not (shutil.which("initdb") and shutil.which("pg_ctl")):
        raise SystemExit("PostgreSQL server binaries (initdb, pg_ctl) are not on PATH: install them, "
                         "or pass --db postgresql://USER@HOST/EMPTY_DB")
    from pg_server import new_database, running_postgres

    with running_postgres() as port:
        yield new_database(f"postgresql://flowdesk@127.0.0.1:{port}")


def _line(label: str, value, target: str, ok: bool | None) -> str:
    mark = "" if ok is None else ("  ok" if ok else "  MISSED")
    return f"{label:<52} {value!s:>10}   target {target}{mark}"


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--count", type=int, default=200, help="executions of the CPU and I/O phases")
    parser.add_argument("--cpu-s", type=float, default=0.2)
    parser.add_argument("--wait-s", type=float, default=0.5)
    parser.add_argument("--at-once", type=int, default=50)
    parser.add_argument("--calls", type=int, default=200, help="children of the round-trip parent")
    parser.add_argument("--db", help="an empty PostgreSQL database (default: a throw-away server)")
    parser.add_argument("--only", default="cpu,io,roundtrip", help="phases to run, comma-separated")
    args = parser.parse_args()
    logging.getLogger("distributed").setLevel(logging.ERROR)

    import distributed
    from bench_engine import run_phase

    figures: dict = {"distributed": distributed.__version__}
    errors: dict = {}
    with tempfile.TemporaryDirectory() as tmp, database(args.db) as db_url:
        root = Path(tmp) / "ws"
        make_workspace(root)
        phases = (("cpu", lambda: bench_cpu(root, db_url, args.count, args.cpu_s)),
                  ("io", lambda: bench_io(root, db_url, args.count, args.at_once, args.wait_s)),
                  ("roundtrip", lambda: bench_roundtrip(root, db_url, args.calls)))
        for name, run in phases:
            if name not in args.only.split(","):
                continue
            print(f"{name}:", flush=True)
            run_phase(name, run, figures, errors)
        run_phase("lost", lambda: count_lost(db_url), figures, errors)

    def get(key):
        return figures.get(key)

    checks = {
        "cpu_speedup": get("cpu_speedup") is not None and get("cpu_speedup") >= TARGETS["cpu_speedup"],
        "cluster_child_roundtrip_p50_ms": get("cluster_child_roundtrip_p50_ms") is not None
        and get("cluster_child_roundtrip_p50_ms") <= TARGETS["cluster_child_roundtrip_p50_ms"],
        "executions_lost": get("executions_lost") == TARGETS["executions_lost"],
    }
    print()
    print(_line(f"CPU: {args.count} × {args.cpu_s} s on 1 worker (s)", get("t1_s"), "(baseline)", None))
    print(_line(f"CPU: {args.count} × {args.cpu_s} s on 2 workers (s)", get("t2_s"), "(baseline)", None))
    print(_line("CPU-bound speed-up, 2 workers × 1 thread over 1", get("cpu_speedup"), ">= 1.7x",
                checks["cpu_speedup"]))
    print(_line(f"I/O: {args.count} × sleep {args.wait_s} s, {args.at_once} at once (/s)",
                get("io_throughput_per_s"), f"(ideal {args.at_once / args.wait_s:g}/s)", None))
    print(_line(f"child round trip p50 on the cluster ({args.calls} calls, ms)",
                get("cluster_child_roundtrip_p50_ms"), "<= 30 ms", checks["cluster_child_roundtrip_p50_ms"]))
    print(_line("child round trip p50, local engine, same database (ms)", get("local_child_roundtrip_p50_ms"),
                "(for comparison)", None))
    print(_line("executions lost (created - ended)", get("executions_lost"), "0", checks["executions_lost"]))
    figures["targets"] = TARGETS
    figures["targets_met"] = checks
    if errors:
        figures["errors"] = errors
    for key in ("cpu_speedup", "cluster_child_roundtrip_p50_ms", "local_child_roundtrip_p50_ms",
                "io_throughput_per_s", "executions_lost", "t1_s", "t2_s"):
        figures.setdefault(key, None)
    print(json.dumps(figures))
    return 1 if errors else 0


if __name__ == "__main__":
    sys.exit(main())
