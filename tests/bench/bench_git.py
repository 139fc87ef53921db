"""Benchmark of the Git panel on a workspace of 2,000 flows with 100 changed (and 20 new
settings, exported as files by each refresh): the panel refresh (settings sync and status
snapshot off the GUI thread, then the model filled on it; target <= 300 ms)
with the longest GUI stall meanwhile, and the side-by-side diff tab of one changed flow (what
a click in the panel opens) and of a 5,000-line rewrite, with the longest GUI stall. The last line printed is one JSON object."""

from __future__ import annotations

import json
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path
from types import SimpleNamespace

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
sys.path.insert(0, str(Path(__file__).resolve().parents[2]))
for key, value in {"GIT_AUTHOR_NAME": "Bench", "GIT_AUTHOR_EMAIL": "bench@example.com",
                   "GIT_COMMITTER_NAME": "Bench", "GIT_COMMITTER_EMAIL": "bench@example.com"}.items():
    os.environ.setdefault(key, value)  # commits work on a machine without a git identity

from PySide6.QtCore import QElapsedTimer, QEvent, QTimer  # noqa: E402
from PySide6.QtWidgets import QApplication  # noqa: E402

from engine_core import Workspace  # noqa: E402
from engine_core.vcs import GitRepository  # noqa: E402

FLOWS, CHANGED, RUNS, SETTINGS = 2000, 100, 7, 20
BODY = "import flow_api\n\n\ndef handler(system, this, inputs):\n" + "".join(
    f"    this.log('step {i}')\n" for i in range(30)) + "    return this.success('ok')\n"


def make_repository(root: Path) -> GitRepository:
    (root / "flows").mkdir(parents=True)
    for i in range(FLOWS):
        (root / "flows" / f"Flow {i:04d}.py").write_text(BODY.replace("'ok'", f"'ok {i}'"))
    repo = GitRepository.init(root)
    repo.stage_workspace()
    repo.commit("2,000 flows")
    for i in range(0, FLOWS, FLOWS // CHANGED):  # 100 flows edited in the middle
        path = root / "flows" / f"Flow {i:04d}.py"
        path.write_text(path.read_text().replace("step 15", "step fifteen, edited"))
    return repo


def bench_core(repo: GitRepository) -> dict:
    times = []
    for _ in range(RUNS):
        started = time.perf_counter()
        snapshot = repo.status()
        times.append((time.perf_counter() - started) * 1000)
    assert len(snapshot.files) == CHANGED, len(snapshot.files)
    return {"status_snapshot_ms": round(statistics.median(times), 1)}


class StallMeter:
    """A 1 ms timer on the GUI thread: the longest gap between its ticks is the longest stall."""

    def __init__(self):
        self.clock = QElapsedTimer()
        self.clock.start()
        self.last = self.clock.nsecsElapsed()
        self.longest = 0.0
        self.timer = QTimer(interval=1)
        self.timer.timeout.connect(self._tick)
        self.timer.start()

    def _tick(self) -> None:
        now = self.clock.nsecsElapsed()
        self.longest = max(self.longest, (now - self.last) / 1e6)
        self.last = now

    def reset(self) -> None:
        self.last = self.clock.nsecsElapsed()
        self.longest = 0.0


def wait_for(app: QApplication, condition, timeout: float = 30) -> None:
    deadline = time.perf_counter() + timeout
    while not condition():
        if time.perf_counter() > deadline:
            raise TimeoutError("the panel did not update in time")
        app.processEvents()
        time.sleep(0.0005)


def bench_panel(app: QApplication, root: Path) -> dict:
    from app.git.controller import GitController
    from app.git.panel import GitPanel

    panel = GitPanel()
    panel.resize(700, 900)
    panel.show()
    from engine_core.store import Store

    workspace = Workspace.open(root)
    store = Store(workspace.default_db_url())
    for i in range(SETTINGS):  # each refresh also syncs the settings files with the database
        store.save_setting(f"setting {i}", {"value": i, "nested": {"list": list(range(5))}})
    # The controller reads only these attributes of a main window.
    window = SimpleNamespace(workspace=workspace, bridge=SimpleNamespace(engine=SimpleNamespace(store=store),
                                                                         is_open=True),
                             tabs=None, show_error=print)
    controller = GitController(window, panel)
    meter = StallMeter()
    refresh, stalls = [], []
    for _ in range(RUNS):
        panel.model.set_files([])
        app.processEvents()
        meter.reset()
        started = time.perf_counter()
        controller.refresh()
        wait_for(app, lambda: panel.model.rowCount() == CHANGED + SETTINGS)
        refresh.append((time.perf_counter() - started) * 1000)
        stalls.append(meter.longest)
    path = next(f.path for f in panel.model.files() if f.path.startswith("flows/"))
    panel.close()
    store.close()
    diffs, _ = _diff_page_times(app, root, path, meter)
    return {"status_refresh_ms": round(statistics.median(refresh), 1),
            "status_refresh_max_ms": round(max(refresh), 1),
            "refresh_longest_gui_stall_ms": round(max(stalls), 1),
            "diff_one_flow_ms": round(statistics.median(diffs), 1)}


def _diff_page_times(app: QApplication, root: Path, path: str, meter: StallMeter) -> tuple[list[float], list[float]]:
    """The diff tab of ``path`` (what a click in the panel opens): from reload to every row
    painted, and the longest GUI stall meanwhile (the comparison runs on a worker thread)."""
    from app.git.diff_page import DiffPage

    times, stalls = [], []
    for _ in range(RUNS):
        page = DiffPage(path, None, lambda: root, lambda: "light")
        page.resize(1200, 800)
        page.show()
        app.processEvents()
        meter.reset()
        started = time.perf_counter()
        page.reload()
        wait_for(app, lambda: page.ready)  # compared, shown, every row painted
        times.append((time.perf_counter() - started) * 1000)
        stalls.append(meter.longest)
        page.close()
        page.deleteLater()
        app.sendPostedEvents(None, QEvent.Type.DeferredDelete)
    return times, stalls


def bench_large_diff(app: QApplication, root: Path) -> dict:
    """A 5,000-line flow rewritten in full (difflib's slow case): the diff tab's time to show
    it and the longest GUI stall (filling the editors is on the GUI thread)."""
    big = root / "flows" / "Big.py"
    big.write_text("".join(f"value_{i} = {i}\n" for i in range(5000)))
    GitRepository.open(root).stage(["flows/Big.py"])
    git_repo = GitRepository.open(root)
    git_repo.repo.git.commit("-q", "-m", "big", "--", "flows/Big.py")
    big.write_text("".join(f"total_{i} = {i} * 2\n" for i in range(5000)))
    times, stalls = _diff_page_times(app, root, "flows/Big.py", StallMeter())
    return {"diff_5000_line_rewrite_ms": round(statistics.median(times), 1),
            "diff_5000_line_rewrite_gui_stall_ms": round(max(stalls), 1)}


def main() -> None:
    app = QApplication.instance() or QApplication([])
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp) / "big workspace"
        started = time.perf_counter()
        repo = make_repository(root)
        print(f"setup: {FLOWS} flows committed, {CHANGED} edited ({time.perf_counter() - started:.1f} s)")
        result = {"flows": FLOWS, "changed": CHANGED, **bench_core(repo), **bench_panel(app, root)}
        result.update(bench_large_diff(app, root))
    print(f"status snapshot (one git status call, parsed): {result['status_snapshot_ms']} ms (median of {RUNS})")
    print(f"Git panel refresh, request to model filled: {result['status_refresh_ms']} ms median, "
          f"{result['status_refresh_max_ms']} ms worst (target <= 300 ms), done off the GUI thread; "
          f"longest GUI stall meanwhile {result['refresh_longest_gui_stall_ms']} ms")
    print(f"side-by-side diff of one changed flow (click to shown): {result['diff_one_flow_ms']} ms")
    print(f"diff tab of a 5,000-line rewrite: {result['diff_5000_line_rewrite_ms']} ms to show, longest GUI "
          f"stall {result['diff_5000_line_rewrite_gui_stall_ms']} ms (the comparison runs off the GUI thread)")
    result["target_status_refresh_ms"] = 300
    print(json.dumps(result))


if __name__ == "__main__":
    main()
