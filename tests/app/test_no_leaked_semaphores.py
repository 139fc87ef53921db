"""No run of Flowdesk leaves multiprocessing semaphores behind. Python's resource tracker
prints "There appear to be N leaked semaphore objects" when a process that created named
semaphores (a ProcessPoolExecutor's queues, say) ends without unlinking them: with os._exit, a
crash, a kill. The IDE and the engine run as separate processes here, each until it ends, and
their whole stderr (the tracker's too, which outlives them) is read."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]

# The real IDE start (run_ide), a flow with a lint problem open, the markers shown, then the
# window closed as a user would; "abrupt" ends the process as a crash or bench_ide.py does.
IDE_CHILD = r"""
import os, sys
from PySide6.QtCore import QTimer
from PySide6.QtWidgets import QApplication
from app.application import run_ide

workspace, ending = sys.argv[1], sys.argv[2]
app = QApplication(sys.argv[:1])

def window():
    return next(w for w in app.topLevelWidgets() if type(w).__name__ == "MainWindow")

def linted():
    w = window()
    if not w.bridge.is_open or not w.problems_model.problems("Linted"):
        return QTimer.singleShot(20, linted)
    print("LINTED", flush=True)
    if ending == "abrupt":
        os._exit(0)
    w.close()

def open_flow():
    window().open_flow("Linted")
    linted()

QTimer.singleShot(0, open_flow)
sys.exit(run_ide(workspace))
"""


def _run(args: list[str], tmp_path: Path) -> subprocess.CompletedProcess:
    env = {**os.environ, "QT_QPA_PLATFORM": "offscreen", "FLOWDESK_CONFIG_DIR": str(tmp_path / "config"),
           "PYTHONPATH": str(ROOT)}
    process = subprocess.Popen([sys.executable, *args], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                               env=env, cwd=ROOT)
    try:
        # Reaped first, as a shell would: helpers end when their owner is gone, and a zombie
        # still counts as there. Then the pipes are read to the end: the resource tracker
        # (which prints the warning) holds stderr until it has cleaned up after the process.
        process.wait(timeout=90)
        out, err = process.communicate(timeout=30)
    finally:
        process.kill()
    return subprocess.CompletedProcess(process.args, process.returncode, out, err)


def _assert_no_leak(result: subprocess.CompletedProcess) -> None:
    assert "leaked semaphore" not in result.stderr, result.stderr
    assert "resource_tracker" not in result.stderr, result.stderr


@pytest.mark.parametrize("ending", ["closed", "abrupt"])
def test_the_ide_linting_a_flow_leaves_no_semaphores(workspace, tmp_path, ending):
    workspace.write_flow("Linted", "def handler(system, this, inputs):\n    return undefined_thing\n")
    result = _run(["-c", IDE_CHILD, str(workspace.root), ending], tmp_path)
    assert "LINTED" in result.stdout, result.stderr
    assert result.returncode == 0, result.stderr
    _assert_no_leak(result)


def test_an_engine_run_leaves_no_semaphores(workspace, tmp_path):
    result = _run(["-m", "engine_core.cli", "run", "Main Process", "--workspace", str(workspace.root)], tmp_path)
    assert result.returncode == 0, result.stderr
    _assert_no_leak(result)
