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
