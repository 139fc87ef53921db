"""The Explorer's "Recent executions" stays current: runs started from the IDE and from the
command line (another engine on the same workspace database) appear with their final status."""

from __future__ import annotations

import json
import subprocess
import sys


def recent(window) -> list[str]:
    return window.explorer.recent_texts()


def cli_run(qtbot, workspace, *args: str) -> int:
    """`flowdesk run Calculator ...` in a shell, while the IDE keeps handling its events."""
    cli = subprocess.Popen([sys.executable, "-m", "engine_core.cli", "run", "Calculator", "--workspace",
                            str(workspace.root), "--json", *args], stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                           text=True)
    qtbot.waitUntil(lambda: cli.poll() is not None, timeout=60000)
    out, err = cli.communicate()
    assert out, err
    return json.loads(out)["id"]


def test_ide_and_cli_runs_appear_with_their_final_status(qtbot, make_window, workspace):
    window = make_window(workspace)
    window.ask_run_inputs = lambda flow, remembered: {"initial_value": 1}
    window.run_flow("Calculator")
    qtbot.waitUntil(lambda: getattr(window, "last_run_id", None) is not None, timeout=10000)
    ide_run = window.last_run_id
    qtbot.waitUntil(lambda: f"#{ide_run} Calculator — success" in recent(window), timeout=10000)

    # `flowdesk run` in a shell while the IDE is open: its engine tells this IDE nothing directly.
    cli_run_id = cli_run(qtbot, workspace, "--input", "initial_value=2")
    assert cli_run_id != ide_run
    qtbot.waitUntil(lambda: f"#{cli_run_id} Calculator — success" in recent(window), timeout=5000)
    assert recent(window)[:2] == [f"#{cli_run_id} Calculator — success", f"#{ide_run} Calculator — success"]

    # One that fails from the CLI (no input) shows as failed, on top: newest first.
    failed_run = cli_run(qtbot, workspace)
    qtbot.waitUntil(lambda: recent(window)[:1] == [f"#{failed_run} Calculator — error"], timeout=5000)


def test_a_stale_list_handed_in_never_replaces_the_store(qtbot, make_window, workspace):
    """MainWindow also hands lists in (read at some earlier moment); the store's newest wins."""
    window = make_window(workspace)
    window.ask_run_inputs = lambda flow, remembered: {"initial_value": 1}
    window.run_flow("Calculator")
    qtbot.waitUntil(lambda: getattr(window, "last_run_id", None) is not None, timeout=10000)
    run = window.last_run_id
    qtbot.waitUntil(lambda: f"#{run} Calculator — success" in recent(window), timeout=10000)
    window.explorer.set_recent([])  # e.g. a read that started before the run and finished late
    qtbot.waitUntil(lambda: f"#{run} Calculator — success" in recent(window), timeout=5000)
    qtbot.wait(300)
    assert recent(window)[:1] == [f"#{run} Calculator — success"]
