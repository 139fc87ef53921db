"""Benchmark of the visuals. Graph: a generated workspace of 500 flows with 2,000 calls,
extraction time and layout+render time (target <= 1 s together). Timeline: 10,000 executions
arriving as engine events; the longest gap between ticks of a 1 ms timer is the longest GUI
stall (target <= 50 ms). The last line printed is one JSON object."""

from __future__ import annotations

import json
import os
import random
import sys
import tempfile
import time
from pathlib import Path

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from PySide6.QtCore import QElapsedTimer, QTimer  # noqa: E402
from PySide6.QtGui import QImage, QPainter  # noqa: E402
from PySide6.QtWidgets import QApplication  # noqa: E402

from engine_core import Workspace  # noqa: E402
from engine_core import events as ev  # noqa: E402
from engine_core.graph import build_graph  # noqa: E402

FLOWS, CALLS, EXECUTIONS = 500, 2000, 10_000


def make_workspace(root: Path) -> Workspace:
    """Flows call mostly "later" flows (a realistic, mostly layered shape) with a few calls
    back (cycles), a few unknown names, dynamic names, settings and connectors."""
    rng = random.Random(6)
    (root / "flows").mkdir(parents=True)
    calls: dict[int, list[str]] = {i: [] for i in range(FLOWS)}
    pairs: set[tuple[int, str]] = set()
    while len(pairs) < CALLS:  # distinct (caller, callee): 2,000 arrows, not fewer
        a = rng.randrange(FLOWS - 1)
        b = rng.randrange(a + 1, min(FLOWS, a + 60)) if rng.random() > 0.02 else rng.randrange(FLOWS)
        target = f"Flow {b:03d}" if rng.random() > 0.005 else f"Missing {b}"
        if (a, target) not in pairs:
            pairs.add((a, target))
            calls[a].append(target)
    for i, targets in calls.items():
        body = [f"    this.flow({t!r}, name='step {n}')" for n, t in enumerate(targets)]
        if i % 25 == 0:
            body.append("    this.flow(inputs['next'])")
        if i % 10 == 0:
            body.append(f"    system.setting('setting-{i % 40}').save(value=1)")
        if i % 33 == 0:
            body.append("    this.connect('REST', url='http://x')")
        text = "import flow_api\n\ndef handler(system, this, inputs):\n" + "\n".join(body + ["    return this.success('ok')"])
        (root / "flows" / f"Flow {i:03d}.py").write_text(text + "\n")
    return Workspace.open(root)


def bench_graph(app: QApplication, workspace: Workspace) -> dict:
    from app.visual.graph_view import GraphView

    started = time.perf_counter()
    graph = build_graph(workspace)
    extract = time.perf_counter() - started
    view = GraphView()
    view.resize(1200, 800)
    view.show()
    started = time.perf_counter()
    view.set_graph(graph)  # layout + scene items
    view.canvas.fit()
    image = QImage(view.canvas.viewport().size(), QImage.Format.Format_ARGB32)
    painter = QPainter(image)
    view.canvas.render(painter)  # one full paint of what the user sees
    painter.end()
    app.processEvents()
    layout_render = time.perf_counter() - started
    calls = sum(e.kind == "call" for e in graph.edges.values())
    print(f"graph: {len(graph.nodes)} nodes ({FLOWS} flows), {calls} call edges, {len(graph.cycles)} cycles")
    print(f"graph: extraction {extract * 1000:.0f} ms, layout+render {layout_render * 1000:.0f} ms "
          f"(total {(extract + layout_render) * 1000:.0f} ms, target <= 1000 ms)")
    view.close()
    return {"graph_500_extract_s": round(extract, 4), "graph_500_layout_render_s": round(layout_render, 4),
            "graph_500_nodes": len(graph.nodes), "graph_500_call_edges": calls}


def timeline_events() -> list[list]:
    """10,000 executions in one tree (root, 100 parents, 99 children each), each created,
    running and ended, delivered in batches like the engine bridge delivers them."""
    rng = random.Random(7)
    now = time.time() - 60
    events: list = [ev.ExecutionCreated(1, None, 1, "Root", "Root", "flow", "running", {}, now)]
    ends: list = []
    next_id = 2
    while next_id <= EXECUTIONS:
        parent = 1 if next_id < 102 else rng.randrange(2, 102)
        at = now + next_id * 0.004
        events.append(ev.ExecutionCreated(next_id, parent, 1, f"Flow {next_id % 50}", f"child {next_id}", "flow",
                                          "running", {}, at))
        if next_id % 7:  # most end, some keep running (bars that grow)
            ends.append(ev.StatusChanged(next_id, "success" if next_id % 13 else "error", None, at + rng.random()))
        next_id += 1
    stream = events + ends
    return [stream[i:i + 500] for i in range(0, len(stream), 500)]


def bench_timeline(app: QApplication) -> dict:
    from app.visual.timeline_view import TimelineView

    view = TimelineView()
    view.resize(1200, 700)
    view.show()
    app.processEvents()
    batches = timeline_events()
    gaps: list[float] = []
    clock = QElapsedTimer()
    clock.start()
    last = [clock.nsecsElapsed()]

    def tick() -> None:
        now = clock.nsecsElapsed()
        gaps.append((now - last[0]) / 1e6)
        last[0] = now

    ticker = QTimer(interval=1)
    ticker.timeout.connect(tick)
    ticker.start()
    feeder = QTimer(interval=2)  # the bridge delivers a batch every few ms during a burst
    feeder.timeout.connect(lambda: view.on_events(batches.pop(0)) if batches else feeder.stop())
    started = time.perf_counter()
    feeder.start()
    while batches or view.model.pending:
        app.processEvents()
    applied = time.perf_counter() - started
    view.canvas.verticalScrollBar().setValue(view.canvas.verticalScrollBar().maximum() // 2)  # scroll while live
    end_at = time.perf_counter() + 0.5
    while time.perf_counter() < end_at:
        app.processEvents()
    ticker.stop()
    stall = max(gaps)
    print(f"timeline: {len(view.model.rows)} executions applied in {applied:.2f} s; "
          f"{view.counter.text()}; longest GUI stall {stall:.1f} ms (target <= 50 ms)")
    view.close()
    return {"timeline_10k_max_stall_ms": round(stall, 1), "timeline_10k_apply_s": round(applied, 3)}


def main() -> None:
    app = QApplication.instance() or QApplication(sys.argv)
    with tempfile.TemporaryDirectory() as tmp:
        results = bench_graph(app, make_workspace(Path(tmp) / "ws"))
    results.update(bench_timeline(app))
    print(json.dumps(results))


if __name__ == "__main__":
    main()
