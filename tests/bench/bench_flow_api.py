#!/usr/bin/env python3
"""Flow API benchmark (issue: the rest of the flow API).

1. Locks: 8 root executions, each in its own worker process, add 1 to one setting 50 times
   under ``acquire()`` / ``release()``. Per increment: the time from ``acquire`` to the end of
   ``release`` (acquire + read + save + release), p50/p95 with all 8 contending; the final
   counter must equal the number of increments.
2. Forms: a flow asks ``this.message(subject, body=FORM)``; the answer is given with the real
   ``flowdesk respond ID JSON`` command in another process. Measured from starting the
   command to the flow running again (the flow notes the time it continued), p50 over a few
   rounds; the same with ``Engine.respond`` in-process for comparison.
3. The child round trip of ``bench_engine.py`` (a parent calling a trivial child 200 times),
   compared with the figure before this issue (1.45 ms p50).
4. The floor under figure 1 on this machine (``lock_floor.py``): the same increments against a
   bare loop that only answers over the same pipes, without and with the SQLite writes and
   commits the engine makes. On a noisy 2-core machine even the SQLite floor misses 3 ms.

Run from the set-up venv:  python tests/bench/bench_flow_api.py [--rounds 5]
The last line printed is one JSON object with the figures."""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
import tempfile
import textwrap
import threading
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from bench_engine import bench_flowdesk, percentile  # noqa: E402
from lock_floor import lock_floor  # noqa: E402

from engine_core import Engine, EngineOptions, events  # noqa: E402

CONTENDERS = 8
INCREMENTS = 50
CHILD_ROUNDTRIP_BEFORE_MS = 1.45  # README, before this issue

INCREMENTER = f"""
import time
def handler(system, this, inputs):
    counter = system.setting('counter')
    times, held = [], []
    for _ in range({INCREMENTS}):
        started = time.perf_counter()
        counter.acquire()
        granted = time.perf_counter()
        counter.save(value=counter.get('value') + 1)
        counter.release()
        ended = time.perf_counter()
        times.append((ended - started) * 1000)
        held.append((ended - granted) * 1000)
    this.set_output(times_ms=times, held_ms=held)
"""

ASKER = """
import time
def handler(system, this, inputs):
    message = this.message('Go on?', body={
        'type': 'object',
        'properties': {
            'note': {'label': 'Note', 'element': 'string', 'type': 'string', 'order': 1},
            'Go': {'element': 'submit', 'type': 'boolean', 'order': 2},
        },
        'required': ['note'],
    })
    this.set_output(continued_at=time.time(), response=message.get('response'))
"""


def _increments(root: Path, contenders: int) -> tuple[list[float], list[float], int]:
    options = EngineOptions(max_parallel=contenders, warm_workers=contenders)
    with Engine(root, options=options) as engine:
        engine.run("Setup", timeout=60)
        ids = engine.submit_many([("Incrementer", None, None)] * contenders)
        records = [engine.wait(i, timeout=300) for i in ids]
        counter = engine.store.settings()["counter"]
    assert all(r["status"] == "success" for r in records), [r["message"] for r in records]
    times = [t for r in records for t in r["outputs"]["times_ms"]]
    held = [t for r in records for t in r["outputs"]["held_ms"]]
    return times, held, counter


def bench_locks(root: Path) -> dict:
    alone, _, _ = _increments(root, 1)
    times, held, counter = _increments(root, CONTENDERS)
    return {
        # As a flow sees one increment with 8 contending: the wait in line behind the 7 others is in it.
        "lock_roundtrip_p50_ms": round(statistics.median(times), 3),
        "lock_roundtrip_p95_ms": round(percentile(times, 0.95), 3),
        # The same, from the moment the lock is granted (get + save + release), 8 contending.
        "lock_held_p50_ms": round(statistics.median(held), 3),
        # One execution alone: acquire + get + save + release.
        "lock_uncontended_p50_ms": round(statistics.median(alone), 3),
        "lock_counter_expected": CONTENDERS * INCREMENTS,
        "lock_counter_actual": counter,
        # The same increments with no engine: pipes only, and pipes plus the SQLite commits.
        "lock_floor_bare_p50_ms": round(lock_floor(CONTENDERS, INCREMENTS, with_sqlite=False), 3),
        "lock_floor_sqlite_p50_ms": round(lock_floor(CONTENDERS, INCREMENTS, with_sqlite=True), 3),
    }


def bench_forms(root: Path, rounds: int) -> dict:
    cli, in_process = [], []
    with Engine(root) as engine:
        asked: dict[int, int] = {}
        ready = threading.Condition()

        def on_event(event) -> None:
            if isinstance(event, events.MessageAdded) and event.form is not None:
                with ready:
                    asked[event.id] = event.message_id
                    ready.notify_all()

        engine.subscribe(on_event)
        for round_no in range(rounds * 2):
            execution_id = engine.submit("Asker")
            with ready:
                ready.wait_for(lambda: execution_id in asked, timeout=30)
            message_id = asked[execution_id]
            answer = {"note": f"round {round_no}", "Go": True}
            started = time.time()
            if round_no % 2 == 0:
                subprocess.run([sys.executable, "-m", "engine_core.cli", "respond", str(message_id), json.dumps(answer),
                                "--workspace", str(root)], check=True, capture_output=True, timeout=60)
            else:
                engine.respond(message_id, answer)
            record = engine.wait(execution_id, timeout=60)
            assert record["status"] == "success", record["message"]
            assert record["outputs"]["response"]["note"] == answer["note"]
            (cli if round_no % 2 == 0 else in_process).append((record["outputs"]["continued_at"] - started) * 1000)
    return {
        "form_answer_ms": round(statistics.median(cli), 1),
        "form_answer_in_process_ms": round(statistics.median(in_process), 2),
        "form_rounds": rounds,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rounds", type=int, default=5, help="forms answered each way")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        (root / "flows").mkdir()
        (root / "flows" / "Incrementer.py").write_text(textwrap.dedent(INCREMENTER))
        (root / "flows" / "Setup.py").write_text("def handler(system, this, inputs):\n"
                                                 "    system.setting('counter').save(value=0)\n")
        (root / "flows" / "Asker.py").write_text(textwrap.dedent(ASKER))
        locks = bench_locks(root)
        exact = "exact" if locks["lock_counter_actual"] == locks["lock_counter_expected"] else "WRONG"
        print(f"locks: {CONTENDERS} executions x {INCREMENTS} increments under acquire/release: "
              f"acquire+get+save+release p50 {locks['lock_roundtrip_p50_ms']} ms, p95 {locks['lock_roundtrip_p95_ms']} ms "
              f"(waiting behind the other holders included; target p50 <= 3 ms: "
              f"{'met' if locks['lock_roundtrip_p50_ms'] <= 3 else 'NOT met'}); from the grant on (get+save+release) "
              f"p50 {locks['lock_held_p50_ms']} ms; one execution alone p50 {locks['lock_uncontended_p50_ms']} ms; "
              f"counter {locks['lock_counter_actual']} of {locks['lock_counter_expected']} ({exact})", flush=True)
        print(f"lock floor on this machine (no engine, same pipes and increments): p50 {locks['lock_floor_bare_p50_ms']} ms "
              f"answering only, {locks['lock_floor_sqlite_p50_ms']} ms with the SQLite commits", flush=True)
        forms = bench_forms(root, args.rounds)
        print(f"forms: answered with 'flowdesk respond' -> flow running again: p50 {forms['form_answer_ms']} ms "
              f"(a new Python process for the command included); with Engine.respond in-process: "
              f"p50 {forms['form_answer_in_process_ms']} ms", flush=True)
    child = bench_flowdesk(200, 1000)
    ratio = child["child_roundtrip_p50_ms"] / CHILD_ROUNDTRIP_BEFORE_MS
    print(f"child round trip: p50 {child['child_roundtrip_p50_ms']} ms, p95 {child['child_roundtrip_p95_ms']} ms "
          f"(before this issue {CHILD_ROUNDTRIP_BEFORE_MS} ms: x{ratio:.2f}); "
          f"throughput {child['throughput_per_s']} executions/s", flush=True)
    print(json.dumps({**locks, **forms, "child_roundtrip_p50_ms": child["child_roundtrip_p50_ms"],
                      "child_roundtrip_p95_ms": child["child_roundtrip_p95_ms"],
                      "child_roundtrip_before_ms": CHILD_ROUNDTRIP_BEFORE_MS,
                      "child_roundtrip_ratio": round(ratio, 2), "throughput_per_s": child["throughput_per_s"]}))


if __name__ == "__main__":
    main()
