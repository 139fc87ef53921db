"""README: "Workers notice a dead engine within a second and exit, even mid-loop."

test_restart_and_events.py::test_engine_killed_mid_run_then_restarted checks that an orphaned
looping worker exits at all (it allows 5 s); this one holds the "within a second"."""

from __future__ import annotations

import signal
import subprocess
import sys
import time

from support import process_alive

LOOPERS = 8
SPACING_S = 0.25
# engine_core/lifeline.py checks every 1.0 s whether the engine is alive, so a worker exits at
# most ~1 s after the engine died. 0.5 s of slack covers the sleep/GIL jitter of the watcher
# thread in a worker whose flow spins in a Python loop, the worker's os._exit and its reaping,
# this test's 10 ms polling, and a loaded machine. A watcher checking only every 2 s or more is
# caught: the workers started SPACING_S apart over (LOOPERS - 1) * SPACING_S = 1.75 s, so their
# checks are spread over that long and at least one of them is more than 1.5 s off.
BOUND_S = 1.5




def test_orphaned_looping_workers_exit_within_a_second_of_the_engine_dying(workspace, tmp_path):
    pids_dir = tmp_path / "pids"
    pids_dir.mkdir()
    workspace.write_flow("Looper", f"""
        import os
        def handler(system, this, inputs):
            with open(os.path.join({str(pids_dir)!r}, str(inputs['n'])), 'w') as f:
                f.write(str(os.getpid()))
            while True:
                pass
    """)
    # Each child needs a worker of its own; workers are started as the previous one is taken,
    # so starting the children SPACING_S apart spreads the workers' start (and lifeline) times.
    workspace.write_flow("Spreader", f"""
        def handler(system, this, inputs):
            children = []
            for n in range({LOOPERS}):
                children.append(this.flow('Looper', n=n, wait=False))
                this.sleep({SPACING_S})
            for child in children:
                child.wait()
    """)
    cli = subprocess.Popen([sys.executable, "-m", "engine_core.cli", "run", "Spreader", "-w", str(workspace)],
                           stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        deadline = time.monotonic() + 30
        while len([p for p in pids_dir.iterdir() if p.read_text()]) < LOOPERS:
            assert cli.poll() is None, "the CLI ended before all loopers were running"
            assert time.monotonic() < deadline, "the loopers did not all start"
            time.sleep(0.05)
        pids = [int(p.read_text()) for p in pids_dir.iterdir()]
        assert len(set(pids)) == LOOPERS and all(process_alive(pid) for pid in pids)
        time.sleep(0.3)  # the last worker's lifeline is watching too

        killed_at = time.monotonic()
        cli.send_signal(signal.SIGKILL)
        cli.wait(timeout=5)  # a shell reaps its dead child at once; an unreaped zombie still "exists"
    finally:
        cli.kill()
        cli.wait()

    exited_after: dict[int, float] = {}
    while len(exited_after) < LOOPERS and time.monotonic() - killed_at < 10:
        for pid in pids:
            if pid not in exited_after and not process_alive(pid):
                exited_after[pid] = time.monotonic() - killed_at
        time.sleep(0.01)
    print("orphaned workers exited after (s):", sorted(round(t, 3) for t in exited_after.values()))
    assert len(exited_after) == LOOPERS, f"{LOOPERS - len(exited_after)} looping workers outlived their engine by 10 s"
    assert max(exited_after.values()) <= BOUND_S, \
        f"a worker noticed its dead engine only after {max(exited_after.values()):.2f} s: {exited_after}"
