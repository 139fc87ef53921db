"""What ``flowdesk run`` loads and leaves behind: only what the command needs (no Alembic when
the schema is current, no GitPython, no Qt), and no worker process once its engine is closed.
(Its speed is measured in tests/bench/bench_packaging.py, not here.)"""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
from multiprocessing import forkserver

from support import ROOT

WATCHED = {"alembic", "git", "PySide6", "mako"}


def run_cli_watching_imports(*args: str) -> tuple[subprocess.CompletedProcess, set[str]]:
    """``flowdesk`` (the launcher's entry point) in a new process; also which of the
    ``WATCHED`` top-level packages it had imported when it exited."""
    code = textwrap.dedent(f"""
        import atexit, sys
        atexit.register(lambda: print("IMPORTED", ",".join(sorted({{m.split(".")[0] for m in sys.modules}}
                                                                  & set({sorted(WATCHED)!r}))), file=sys.stderr))
        from app.launcher import main
        sys.exit(main(sys.argv[1:]))
    """)
    result = subprocess.run([sys.executable, "-c", code, *args], capture_output=True, text=True, timeout=60, cwd=ROOT)
    line = next(line for line in result.stderr.splitlines() if line.startswith("IMPORTED "))
    return result, set(filter(None, line.removeprefix("IMPORTED ").split(",")))


def test_run_on_a_current_schema_imports_neither_alembic_nor_git(workspace):
    # The first run makes the database: that is a migration, and Alembic does it.
    first, imported = run_cli_watching_imports("run", "Calculator", "-w", str(workspace), "-i", "initial_value=3")
    assert first.returncode == 0, first.stderr
    assert "alembic" in imported
    again, imported = run_cli_watching_imports("run", "Calculator", "-w", str(workspace), "-i", "initial_value=4")
    assert again.returncode == 0, again.stderr
    assert "✔ #2 Calculator: success — all done" in again.stdout
    assert imported == set()


def test_read_only_commands_import_neither_alembic_nor_git(workspace):
    assert run_cli_watching_imports("run", "Calculator", "-w", str(workspace), "-i", "initial_value=1")[0].returncode == 0
    for args in (["executions"], ["show", "1"], ["flows"]):
        result, imported = run_cli_watching_imports(*args, "-w", str(workspace))
        assert result.returncode == 0, result.stderr
        assert imported == set(), args


def forkserver_children() -> list[int]:
    """Live processes forked by this test process's forkserver: the workers."""
    server = forkserver._forkserver._forkserver_pid
    children = []
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/stat") as stat:
                fields = stat.read().rsplit(")", 1)[1].split()
        except OSError:
            continue
        if int(fields[1]) == server and fields[0] != "Z":
            children.append(int(entry))
    return children


def test_closing_an_engine_leaves_no_worker_process(workspace):
    from engine_core import Engine, EngineOptions

    with Engine(workspace.root, options=EngineOptions(warm_workers=2, memory_limit_mb=1024)) as engine:
        # Helpers of other tests in this process (the IDE's analysis process) are no workers of it.
        others = set(forkserver_children()) - {w.pid for w in engine._dispatcher.backend.workers}
        assert engine.run("Calculator", {"initial_value": 1}, timeout=60)["status"] == "success"
        assert len(set(forkserver_children()) - others) >= 2
    # The round that stopped the pool used to top it up with two fresh warm workers, which
    # then lived as long as the process that had closed the engine (the IDE: until it quit).
    assert set(forkserver_children()) - others == set()
