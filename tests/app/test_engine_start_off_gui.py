"""The IDE never waits on ``Engine.start`` on its GUI thread: the start takes over what dead
engines left (resuming durable executions, 0.4-1.3 s with many), and the window stays
responsive meanwhile, saying that the engine is starting and refusing commands politely."""

from __future__ import annotations

import threading
import time

from PySide6.QtCore import QTimer

from engine_core import Engine, EngineOptions
from engine_core.runtime.engine import Engine as RuntimeEngine

SLEEPERS = 8

SLEEPER = """
def handler(system, this, inputs):
    this.sleep(60)
"""


def _leave_orphans(workspace) -> list[int]:
    """Durable executions suspended by a clean close, waiting in a journaled sleep: the next
    engine's start resumes them."""
    with Engine(workspace.root, options=EngineOptions(warm_workers=1, max_parallel=SLEEPERS)) as engine:
        ids = [engine.submit("Sleeper") for _ in range(SLEEPERS)]
        deadline = time.monotonic() + 30
        while not all(any(e["op"] == "sleep" for e in engine.store.journal(i)) for i in ids):
            assert time.monotonic() < deadline, "the sleeps were not journaled"
            time.sleep(0.05)
    return ids


def test_engine_start_runs_off_the_gui_thread_and_the_gui_stays_responsive(qtbot, make_window, workspace,
                                                                               monkeypatch):
    workspace.write_flow("Sleeper", SLEEPER)
    orphans = _leave_orphans(workspace)  # what the start takes over (tests/engine test that it resumes them)
    assert len(orphans) == SLEEPERS

    gui = threading.current_thread()
    starts: list[tuple[threading.Thread, float]] = []
    original = RuntimeEngine.start

    def start(self):
        began = time.perf_counter()
        result = original(self)
        starts.append((threading.current_thread(), time.perf_counter() - began))
        return result

    monkeypatch.setattr(RuntimeEngine, "start", start)

    window = make_window()
    ticks: list[float] = []
    ticker = QTimer(window, interval=10)
    ticker.timeout.connect(lambda: ticks.append(time.perf_counter()))
    ticker.start()
    qtbot.wait(100)

    with qtbot.waitSignal(window.bridge.opened, timeout=30000):
        began = time.perf_counter()
        assert window.open_workspace(str(workspace))
        opened_in = time.perf_counter() - began
        # Starting: said so, and commands are refused instead of waiting for the engine.
        assert not window.bridge.is_open
        assert window.statusBar().currentMessage() == "Starting the engine…"
        window.open_flow("Sleeper")
        window.debug.debug_or_pause()  # before the inputs dialog
        assert window.last_error == "the engine is still starting; try again in a moment"
        assert not window.debug.controller.active
    ready = time.perf_counter()
    qtbot.wait(50)
    ticker.stop()

    assert [thread for thread, _ in starts] != [] and all(thread is not gui for thread, _ in starts), \
        "Engine.start ran on the GUI thread"
    assert opened_in < 0.1, f"open_workspace blocked the GUI thread for {opened_in * 1000:.0f} ms"
    during = [t for t in ticks if began <= t <= ready + 0.05]
    gaps = [b - a for a, b in zip(during, during[1:])]
    assert during and max(gaps, default=0) < 0.1, \
        f"the GUI thread stalled {max(gaps) * 1000:.0f} ms while the engine started ({starts[0][1]:.2f} s)"
