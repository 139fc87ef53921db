#!/usr/bin/env python3
"""Engine benchmark (issue: engine core).

1. Child-flow round trip: a parent calls a trivial child 200 times; p50/p95 per call,
   SQLite in WAL mode, every state change committed.
2. Throughput: 1,000 trivial root executions submitted at once; executions per second.
3. The same parent/child loop as a Prefect 3 flow calling a subflow, in a throw-away venv
   (cached under ~/.cache/flowdesk-bench); ratio Prefect ÷ Flowdesk per child call.

Run from the set-up venv:  python tests/bench/bench_engine.py [--calls 200] [--roots 1000]
The last line printed is one JSON object with the figures."""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import textwrap
import time
import traceback
from pathlib import Path

from engine_core import Engine, EngineOptions

PREFECT_VENV = Path.home() / ".cache" / "flowdesk-bench" / "prefect-venv"
PREFECT_CALLS = 20  # Prefect takes over a second per subflow here; 20 calls keep the run short


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(round(q * (len(ordered) - 1))))]


def run_phase(name: str, run, figures: dict, errors: dict) -> None:
    """Add ``run()``'s figures to ``figures``; if it fails, print why and note it in ``errors``
    (``name`` -> the exception, short): the other phases' figures still count."""
    try:
        figures.update(run())
    except Exception as exc:
        traceback.print_exc()
        errors[name] = f"{type(exc).__name__}: {exc}"[:500]
        print(f"{name}: FAILED: {errors[name]}", flush=True)


def make_workspace(root: Path, calls: int) -> None:
    flows = root / "flows"
    flows.mkdir(parents=True)
    (flows / "Child.py").write_text(textwrap.dedent("""
        def handler(system, this, inputs):
            this.set_output(value=inputs['i'])
            return this.success('ok')
    """))
    (flows / "Parent.py").write_text(textwrap.dedent(f"""
        import time
        def handler(system, this, inputs):
            times = []
            for i in range({calls}):
                started = time.perf_counter()
                this.flow('Child', i=i)
                times.append((time.perf_counter() - started) * 1000)
            this.set_output(times_ms=times)
            return this.success('done')
    """))
    (flows / "Trivial.py").write_text("def handler(system, this, inputs):\n    return this.success('ok')\n")


def bench_flowdesk(calls: int, roots: int) -> dict:
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        make_workspace(root, calls)
        with Engine(root, options=EngineOptions()) as engine:
            engine.run("Trivial")  # warm the workers and the code cache
            record = engine.run("Parent", timeout=300)
            assert record["status"] == "success", record["message"]
            times = record["outputs"]["times_ms"]
            started = time.perf_counter()
            ids = engine.submit_many([("Trivial", None, None)] * roots)
            for execution_id in ids:
                assert engine.wait(execution_id, timeout=300)["status"] == "success"
            elapsed = time.perf_counter() - started
    return {
        "child_roundtrip_p50_ms": round(statistics.median(times), 3),
        "child_roundtrip_p95_ms": round(percentile(times, 0.95), 3),
        "throughput_per_s": round(roots / elapsed, 1),
        "throughput_elapsed_s": round(elapsed, 3),
    }


PREFECT_SCRIPT = textwrap.dedent("""
    import json, statistics, sys, time
    from prefect import flow

    @flow
    def child(i: int) -> int:
        return i

    @flow
    def parent(n: int) -> list:
        times = []
        for i in range(n):
            started = time.perf_counter()
            child(i)
            times.append((time.perf_counter() - started) * 1000)
        return times

    times = parent(int(sys.argv[1]))
    print("RESULT " + json.dumps({"p50": statistics.median(times[1:] or times)}))
""")


def ensure_prefect() -> tuple[Path | None, str | None]:
    python = PREFECT_VENV / "bin" / "python"
    if python.exists():
        ok = subprocess.run([str(python), "-c", "import prefect"], capture_output=True).returncode == 0
        if ok:
            return python, None
    print(f"installing Prefect 3 into {PREFECT_VENV} (once; takes a minute)...", flush=True)
    try:
        subprocess.run([sys.executable, "-m", "venv", "--clear", str(PREFECT_VENV)], check=True, capture_output=True)
        subprocess.run([str(python), "-m", "pip", "install", "--quiet", "prefect>=3,<4"], check=True,
                       capture_output=True, timeout=900)
    except (subprocess.CalledProcessError, subprocess.TimeoutExpired) as exc:
        detail = getattr(exc, "stderr", b"") or b""
        return None, f"could not install Prefect: {detail.decode(errors='replace').strip()[-300:] or exc}"
    return python, None


def bench_prefect() -> tuple[float | None, str | None]:
    python, problem = ensure_prefect()
    if python is None:
        return None, problem
    with tempfile.TemporaryDirectory() as home:
        env = {**os.environ, "PREFECT_HOME": home, "PREFECT_LOGGING_LEVEL": "WARNING",
               "PREFECT_SERVER_ANALYTICS_ENABLED": "false", "DO_NOT_TRACK": "1"}
        script = Path(home) / "prefect_bench.py"
        script.write_text(PREFECT_SCRIPT)
        try:
            result = subprocess.run([str(python), str(script), str(PREFECT_CALLS)], capture_output=True, text=True,
                                    env=env, timeout=900)
        except subprocess.TimeoutExpired:
            return None, "Prefect run took longer than 15 minutes"
    for line in result.stdout.splitlines():
        if line.startswith("RESULT "):
            return json.loads(line[7:])["p50"], None
    return None, f"Prefect run failed: {(result.stderr or result.stdout).strip()[-300:]}"


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--calls", type=int, default=200)
    parser.add_argument("--roots", type=int, default=1000)
    parser.add_argument("--skip-prefect", action="store_true")
    args = parser.parse_args()

    figures = bench_flowdesk(args.calls, args.roots)
    print(f"child round trip over {args.calls} calls: p50 {figures['child_roundtrip_p50_ms']} ms, "
          f"p95 {figures['child_roundtrip_p95_ms']} ms (target p50 <= 5 ms)")
    print(f"throughput: {args.roots} trivial roots in {figures['throughput_elapsed_s']} s = "
          f"{figures['throughput_per_s']}/s (target >= 300/s)")
    prefect_ms, problem = (None, "--skip-prefect given") if args.skip_prefect else bench_prefect()
    figures["prefect_child_ms"] = None if prefect_ms is None else round(prefect_ms, 3)
    figures["prefect_ratio"] = None if prefect_ms is None else round(prefect_ms / figures["child_roundtrip_p50_ms"], 1)
    if prefect_ms is None:
        figures["prefect_skipped"] = problem
        print(f"prefect: skipped — {problem}")
    else:
        print(f"prefect 3 subflow call p50 over {PREFECT_CALLS} calls: {prefect_ms:.1f} ms; "
              f"Flowdesk is {figures['prefect_ratio']}x faster per child call (target >= 10x)")
    print(json.dumps(figures))


if __name__ == "__main__":
    main()
