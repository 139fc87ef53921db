"""The IDE's analysis process (lint, completion): a killed one is replaced, and the edit that
found it dead is still linted."""

from __future__ import annotations

import os
import signal


def test_lint_goes_on_after_the_analysis_process_is_killed(qtbot, make_window, workspace):
    from app.analysis_service import analysis

    workspace.write_flow("Linted", "def handler(system, this, inputs):\n    return undefined_one\n")
    window = make_window(workspace)
    window.open_flow("Linted")
    editor = window.tabs.current_editor()

    def problems() -> str:
        return " ".join(p.message for p in window.problems_model.problems("Linted"))

    qtbot.waitUntil(lambda: "undefined_one" in problems(), timeout=10000)
    helper = analysis().helper_process
    os.kill(helper.pid, signal.SIGKILL)
    qtbot.waitUntil(lambda: not helper.is_alive(), timeout=5000)
    editor.set_text(editor.text().replace("undefined_one", "undefined_two"))
    window.tabs.linter_for(editor).lint_now()
    qtbot.waitUntil(lambda: "undefined_two" in problems(), timeout=10000)
    assert analysis().helper_process is not helper and analysis().helper_process.is_alive()


def test_a_helper_that_cannot_start_is_not_restarted_for_every_job(tmp_path):
    """A helper that dies as it starts gets one warning, not a process per keystroke. To make
    it die, the script (read from stdin: no main file) renames the helper, so that it no longer
    skips re-importing the main module as flowdesk-… helpers do: the import fails."""
    import subprocess
    import sys
    from pathlib import Path

    script = "\n".join([
        "import logging, time",
        "from PySide6.QtCore import QCoreApplication",
        "logging.basicConfig()",
        "app = QCoreApplication([])",
        "import app.analysis_service",
        "app.analysis_service.HELPER_NAME = 'renamed-helper'",
        "from app.analysis_service import analysis",
        "for _ in range(20):",
        "    analysis().submit(len, 'abc', on_done=print)",
        "    time.sleep(0.05)",
        "time.sleep(0.5)",
        "analysis().shutdown()",
        "print('DONE')",
    ])
    root = Path(__file__).resolve().parents[2]
    result = subprocess.run([sys.executable, "-"], input=script, capture_output=True, text=True, timeout=60,
                            cwd=tmp_path, env={**os.environ, "PYTHONPATH": str(root)})
    assert "DONE" in result.stdout, result.stderr
    assert result.stderr.count("could not start") == 1, result.stderr
    assert result.stderr.count("FileNotFoundError") <= 2, result.stderr  # each dead start prints its traceback
