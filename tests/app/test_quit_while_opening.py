"""Closing the IDE while its engine is still opening (a slow disk, a user who changed their
mind) ends quietly: the engine that finishes opening afterwards closes itself, and nothing
prints a traceback (it used to: the forkserver was gone under it, then the GUI's courier)."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]

IDE_CHILD = r"""
import sys
from PySide6.QtCore import QTimer
from PySide6.QtWidgets import QApplication
from app.application import run_ide

app = QApplication(sys.argv[:1])

def close_at_once():
    window = next(w for w in app.topLevelWidgets() if type(w).__name__ == "MainWindow")
    print("OPEN" if window.bridge.is_open else "STILL OPENING", flush=True)
    window.close()

QTimer.singleShot(0, close_at_once)  # the first thing the event loop does: the engine is still opening
code = run_ide(sys.argv[1])
print("EXIT", code, flush=True)
"""


def test_closing_the_ide_while_its_engine_opens_prints_no_traceback(tmp_path):
    workspace = tmp_path / "ws"
    shutil.copytree(ROOT / "resources" / "examples", workspace, ignore=shutil.ignore_patterns(".flowdesk"))
    env = {**os.environ, "QT_QPA_PLATFORM": "offscreen", "FLOWDESK_CONFIG_DIR": str(tmp_path / "config"),
           "PYTHONPATH": str(ROOT)}
    done = subprocess.run([sys.executable, "-c", IDE_CHILD, str(workspace)], capture_output=True, text=True,
                          env=env, cwd=tmp_path, timeout=90)
    assert done.stdout.split() == ["STILL", "OPENING", "EXIT", "0"], (done.stdout, done.stderr)
    assert "Traceback" not in done.stderr and "Error" not in done.stderr, done.stderr
