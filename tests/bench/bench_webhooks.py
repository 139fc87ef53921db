#!/usr/bin/env python3
"""Webhook benchmark (issue 10).

`flowdesk serve` runs in its own process on loopback, as a user starts it; 20 client threads,
each on its own keep-alive http.client connection, make 2,000 calls of a webhook starting a
trivial flow: once with ``async=1`` (answered when the execution is committed) and once
synchronously (answered when it has ended). Prints requests/s, p50/p99 latency and the count
of executions created beside the calls accepted (they must be equal).
Targets: async ≥ 300 req/s and p99 ≤ 150 ms; synchronous ≥ 150 req/s.

Run from the set-up venv:  python tests/bench/bench_webhooks.py [--calls 2000] [--clients 20]
The last line printed is one JSON object with the figures."""

from __future__ import annotations

import argparse
import http.client
import json
import os
import signal
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

from engine_core.runtime.engine import resolve_db_url
from engine_core.store import Store
from engine_core.webhooks import URL_PREFIX, Webhooks
from engine_core.workspace import Workspace

TRIVIAL = "def handler(system, this, inputs):\n    return this.success('ok')\n"


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(round(q * (len(ordered) - 1))))]


def start_server(root: Path) -> tuple[subprocess.Popen, int]:
    process = subprocess.Popen([sys.executable, "-m", "engine_core.cli", "serve", "-w", str(root), "--port", "0"],
                               stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    line = process.stdout.readline()
    if "127.0.0.1:" not in line:
        process.kill()
        raise SystemExit(f"flowdesk serve did not start: {line!r} {process.stderr.read()}")
    return process, int(line.split("127.0.0.1:", 1)[1].split("/", 1)[0])


def phase(port: int, path: str, calls: int, clients: int) -> dict:
    """``calls`` POSTs of ``path`` from ``clients`` threads; latencies and statuses."""
    latencies: list[float] = []
    statuses: dict[int, int] = {}
    lock = threading.Lock()
    per_client = [calls // clients + (1 if i < calls % clients else 0) for i in range(clients)]
    barrier = threading.Barrier(clients + 1)

    def client(count: int) -> None:
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=120)
        conn.connect()
        mine, codes = [], []
        barrier.wait()
        for i in range(count):
            started = time.perf_counter()
            conn.request("POST", path, body=b'{"n": %d}' % i, headers={"Content-Type": "application/json"})
            response = conn.getresponse()
            response.read()
            mine.append((time.perf_counter() - started) * 1000)
            codes.append(response.status)
        conn.close()
        with lock:
            latencies.extend(mine)
            for code in codes:
                statuses[code] = statuses.get(code, 0) + 1

    threads = [threading.Thread(target=client, args=(n,)) for n in per_client]
    for thread in threads:
        thread.start()
    barrier.wait()
    started = time.perf_counter()
    for thread in threads:
        thread.join()
    elapsed = time.perf_counter() - started
    return {"req_per_s": round(calls / elapsed, 1), "p50_ms": round(percentile(latencies, 0.50), 2),
            "p99_ms": round(percentile(latencies, 0.99), 2), "seconds": round(elapsed, 2),
            "accepted": statuses.get(200, 0), "statuses": statuses}


def tree_cpu_s(pid: int) -> float:
    """CPU seconds of process ``pid`` and every process under it (the engine's forkserver and
    workers), ended children they reaped included: where the server side's time goes."""
    ticks = os.sysconf("SC_CLK_TCK")
    parents: dict[int, int] = {}
    cpu: dict[int, float] = {}
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        proc = int(stat.parent.name)
        parents[proc] = int(fields[1])
        cpu[proc] = sum(int(f) for f in fields[11:15]) / ticks  # utime stime cutime cstime
    total, todo = 0.0, [pid]
    while todo:
        proc = todo.pop()
        total += cpu.get(proc, 0.0)
        todo.extend(child for child, parent in parents.items() if parent == proc)
    return total


def own_cpu_s(pid: int) -> float:
    fields = (Path("/proc") / str(pid) / "stat").read_text().rsplit(")", 1)[1].split()
    return sum(int(f) for f in fields[11:13]) / os.sysconf("SC_CLK_TCK")


def count_roots(store: Store, ended_only: bool = False) -> int:
    rows = store.executions(limit=10_000_000, roots_only=True)
    return sum(1 for r in rows if not ended_only or r["status"] in ("success", "error", "cancelled"))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--calls", type=int, default=2000)
    parser.add_argument("--clients", type=int, default=20)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp) / "ws"
        (root / "flows").mkdir(parents=True)
        (root / "flows" / "Trivial.py").write_text(TRIVIAL)
        workspace = Workspace.open(root)
        hooks = Webhooks(workspace)
        key = hooks.create("bench", "Trivial")
        hooks.enable("bench")
        store = Store(resolve_db_url(workspace, None))
        process, port = start_server(root)
        try:
            base = f"{URL_PREFIX}/bench/call?key={key}"
            warm = phase(port, base, 40, 4)  # workers forked, connections warm
            time_before = count_roots(store)
            results = {}
            for name, path in (("async", base + "&async=1"), ("sync", base)):
                before = count_roots(store)
                cpu_before = (own_cpu_s(process.pid), tree_cpu_s(process.pid), time.process_time())
                results[name] = phase(port, path, args.calls, args.clients)
                deadline = time.monotonic() + 120  # the async runs go on after their answers
                while count_roots(store, ended_only=True) < before + results[name]["accepted"] \
                        and time.monotonic() < deadline:
                    time.sleep(0.1)
                results[name]["executions_created"] = count_roots(store) - before
                r = results[name]
                server_s = own_cpu_s(process.pid) - cpu_before[0]
                r["cpu_ms_per_call"] = {"server_process": round(server_s * 1000 / args.calls, 3),
                                        "engine_workers": round((tree_cpu_s(process.pid) - cpu_before[1] - server_s)
                                                                * 1000 / args.calls, 3),
                                        "clients": round((time.process_time() - cpu_before[2]) * 1000 / args.calls, 3)}
                print(f"{name:>5}: {r['req_per_s']:7.1f} req/s  p50 {r['p50_ms']:6.2f} ms  p99 {r['p99_ms']:7.2f} ms  "
                      f"accepted {r['accepted']}/{args.calls}  executions created {r['executions_created']}  "
                      f"({r['seconds']} s; statuses {r['statuses']})", flush=True)
                print(f"       CPU per call: {r['cpu_ms_per_call']} ms ({os.cpu_count()} CPUs here)",
                      flush=True)
            assert warm["accepted"] == 40 and time_before == 40
        finally:
            process.send_signal(signal.SIGINT)
            process.communicate(timeout=60)
            store.close()
    a, s = results["async"], results["sync"]
    print(f"targets: async ≥ 300 req/s {'met' if a['req_per_s'] >= 300 else 'MISSED'}, "
          f"p99 ≤ 150 ms {'met' if a['p99_ms'] <= 150 else 'MISSED'}; "
          f"sync ≥ 150 req/s {'met' if s['req_per_s'] >= 150 else 'MISSED'}")
    print(json.dumps({"req_per_s": a["req_per_s"], "p50_ms": a["p50_ms"], "p99_ms": a["p99_ms"],
                      "sync_req_per_s": s["req_per_s"], "sync_p50_ms": s["p50_ms"], "sync_p99_ms": s["p99_ms"],
                      "accepted": a["accepted"] + s["accepted"],
                      "executions_created": a["executions_created"] + s["executions_created"],
                      "async_accepted": a["accepted"], "async_executions_created": a["executions_created"],
                      "sync_accepted": s["accepted"], "sync_executions_created": s["executions_created"],
                      "cpu_ms_per_call_async": a["cpu_ms_per_call"], "cpu_ms_per_call_sync": s["cpu_ms_per_call"],
                      "calls_per_mode": args.calls, "clients": args.clients}))


if __name__ == "__main__":
    main()
