#!/usr/bin/env python3
"""Workspace packages benchmark (issue 14).

1. install_s: from a changed requirements.txt (one small local wheel, installed by real pip
   with --no-index --find-links) to a flow that imports it having run, in a running engine.
2. child_roundtrip_ratio: bench_engine's parent/child round trip (p50 per child call) with the
   workspace's package set on the workers' path, divided by the same without a set. Rounds
   alternate between the two workspaces and the best round of each is compared (noise only adds).

Run from the set-up venv:  python tests/bench/bench_packages.py [--calls 200] [--rounds 6]
Targets: install_s <= 5, child_roundtrip_ratio <= 1.1. The last line is one JSON object."""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
sys.path.insert(0, str(HERE.parent))

from bench_engine import make_workspace  # noqa: E402  (the same parent/child flows)
from engine_core import Engine, EngineOptions, packages  # noqa: E402
from packages.wheels import build_wheel  # noqa: E402


def requirements(root: Path, wheels: Path, line: str) -> None:
    (root / "requirements.txt").write_text(f"--no-index\n--find-links {wheels}\n{line}\n", encoding="utf-8")


def bench_install(tmp: Path) -> float:
    wheels = tmp / "wheels"
    build_wheel(wheels, "benchlib", "1.0")
    root = tmp / "install"
    make_workspace(root, 1)
    (root / "flows" / "Uses.py").write_text(
        "import benchlib\n\ndef handler(system, this, inputs):\n    return this.success(benchlib.VERSION)\n")
    with Engine(root, options=EngineOptions(warm_workers=1)) as engine:
        engine.run("Trivial")  # engine and workers up: what is timed is the change, not the start
        started = time.perf_counter()
        requirements(root, wheels, "benchlib==1.0")
        packages.install(root)
        record = engine.run("Uses", timeout=60)
        elapsed = time.perf_counter() - started
    assert record["message"] == "1.0", record
    return elapsed


def child_p50(engine: Engine) -> float:
    record = engine.run("Parent", timeout=300)
    assert record["status"] == "success", record["message"]
    return statistics.median(record["outputs"]["times_ms"])


def bench_roundtrip(tmp: Path, calls: int, rounds: int) -> tuple[float, float]:
    wheels = tmp / "wheels"
    plain, with_set = tmp / "plain", tmp / "with-set"
    make_workspace(plain, calls)
    make_workspace(with_set, calls)
    requirements(with_set, wheels, "benchlib==1.0")
    packages.install(with_set)
    assert packages.site_dir(with_set) is not None
    without, within = [], []
    with Engine(plain) as a, Engine(with_set) as b:
        a.run("Trivial"), b.run("Trivial")
        for i in range(rounds):  # alternating which goes first: no order bias
            if i % 2:
                within.append(child_p50(b))
                without.append(child_p50(a))
            else:
                without.append(child_p50(a))
                within.append(child_p50(b))
    # The best round of each: noise from other processes on the machine only ever adds time.
    return min(without), min(within)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--calls", type=int, default=200)
    parser.add_argument("--rounds", type=int, default=6)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        install_s = bench_install(Path(tmp))
        print(f"requirements.txt changed -> pip install of one local wheel -> flow importing it: "
              f"{install_s:.2f} s (target <= 5 s)")
        without, within = bench_roundtrip(Path(tmp), args.calls, args.rounds)
    ratio = within / without
    print(f"child round trip p50 over {args.calls} calls (best of {args.rounds} rounds): without a package set "
          f"{without:.3f} ms, with one {within:.3f} ms; ratio {ratio:.2f} (target <= 1.1)")
    print(json.dumps({"install_s": round(install_s, 3), "child_roundtrip_ratio": round(ratio, 3),
                      "child_roundtrip_without_ms": round(without, 3), "child_roundtrip_with_ms": round(within, 3)}))


if __name__ == "__main__":
    main()
