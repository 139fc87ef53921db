"""Packaging benchmark: the app bundle's size, the frozen IDE's start-up beside the venv's,
Stop Debugging to no process left, and `flowdesk run` of a trivial flow as a whole process.

    python tests/bench/bench_packaging.py        # from the venv; builds dist/flowdesk if missing

Start-up is measured the same way for both: the wall time from starting the process to the
line the driver tests/packaging/frozen_drivers/ide_window.py prints on the event loop's first
turn with the main window shown (run as `dist/flowdesk/flowdesk ide_window.py WS` and as
`python ide_window.py WS`; offscreen). The last line is one JSON object."""

from __future__ import annotations

import json
import os
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT / "tests" / "packaging"))
sys.path.insert(0, str(ROOT / "tests"))  # support
from packaging_support import DRIVERS, bundle_size_mb, clean_env, example_workspace  # noqa: E402
from support import process_alive, warm_pid  # noqa: E402

BUNDLE = ROOT / "dist" / "flowdesk"
FROZEN = BUNDLE / "flowdesk"
VENV_FLOWDESK = Path(sys.executable).with_name("flowdesk")
STARTUP_RUNS = 5
CLI_RUNS = 7
DEBUG_RUNS = 3
MARKER = "FLOWDESK-WINDOW-SHOWN"

HELLO = "def handler(system, this, inputs):\n    return this.success('hello')\n"


def ensure_bundle() -> None:
    if FROZEN.exists():
        return
    print("bench_packaging: no dist/flowdesk yet; building it (about two minutes)", flush=True)
    subprocess.run([sys.executable, str(ROOT / "packaging" / "bootstrap.py"), "bundle"], cwd=ROOT, check=True)


def time_to_marker(command: list[str], env: dict, cwd: Path) -> float:
    start = time.perf_counter()
    process = subprocess.Popen(command, env=env, cwd=cwd, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
    shown = None
    for line in process.stdout:
        if line.strip() == MARKER and shown is None:
            shown = time.perf_counter() - start
    process.wait(timeout=120)
    if shown is None:
        raise RuntimeError(f"{command[0]} never showed its window (exit {process.returncode})")
    return shown


def startup(home: Path, workspace: Path) -> tuple[float, float]:
    env = clean_env(home)
    frozen = [str(FROZEN), str(DRIVERS / "ide_window.py"), str(workspace)]
    venv = [sys.executable, str(DRIVERS / "ide_window.py"), str(workspace)]
    time_to_marker(frozen, env, home)  # warm-up: first start, page cache
    time_to_marker(venv, env, home)
    frozen_times, venv_times = [], []
    for _ in range(STARTUP_RUNS):  # interleaved, so a busy moment of the machine hits both
        frozen_times.append(time_to_marker(frozen, env, home))
        venv_times.append(time_to_marker(venv, env, home))
    return statistics.median(frozen_times), statistics.median(venv_times)


def median_wall(command: list[str], env: dict, cwd: Path) -> float:
    """Median wall time of ``command`` as a whole process, after one run that warms the caches."""
    subprocess.run(command, env=env, cwd=cwd, check=True, capture_output=True)
    times = []
    for _ in range(CLI_RUNS):
        start = time.perf_counter()
        subprocess.run(command, env=env, cwd=cwd, check=True, capture_output=True)
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def cli_run(program: Path, home: Path, workspace: Path, **env: str) -> float:
    # The first (warming) run also creates the database.
    return median_wall([str(program), "run", "Hello", "-w", str(workspace)], clean_env(home, **env), home)


def warm_cli_run(program: Path, home: Path, workspace: Path) -> tuple[float, float]:
    """`flowdesk run` as a user gets it from the second command on: handed to the warm process
    the first one left behind (engine_core/warm). Returns (the first command's wall time, which
    runs on its own and starts the warm process; the median of CLI_RUNS after it)."""
    folder = Path(tempfile.mkdtemp(prefix="fw-bench-"))  # a short path: a socket's has at most 107 bytes
    env = clean_env(home, FLOWDESK_WARM="1", FLOWDESK_WARM_DIR=str(folder))
    command = [str(program), "run", "Hello", "-w", str(workspace)]
    try:
        start = time.perf_counter()
        subprocess.run(command, env=env, cwd=home, check=True, capture_output=True)
        first = time.perf_counter() - start
        deadline = time.monotonic() + 30
        while warm_pid(folder) is None:
            if time.monotonic() > deadline:
                raise SystemExit("bench_packaging: the warm process did not start; see its log in " + str(folder))
            time.sleep(0.05)
        return first, median_wall(command, env, home)
    finally:
        if (pid := warm_pid(folder)) is not None:
            os.kill(pid, signal.SIGTERM)
        shutil.rmtree(folder, ignore_errors=True)


def python_and_sqlalchemy(home: Path) -> float:
    """The floor under any command that opens the store: the venv's Python starting and
    importing SQLAlchemy, nothing else."""
    return median_wall([sys.executable, "-c", "import sqlalchemy"], clean_env(home), home)




def _adapter_pids() -> set[int]:
    pids = set()
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                cmdline = (entry / "cmdline").read_bytes().split(b"\0")
            except OSError:
                continue
            if any(part.rstrip(b"/").endswith(b"debugpy/adapter") for part in cmdline):
                pids.add(int(entry.name))
    return pids


def debug_stop_clean(workspace: Path) -> list[float]:
    """Debug *Main Process* with a breakpoint, press Stop Debugging (DebugSession.stop), and
    time until its debuggee (the worker) and its debug adapter are gone."""
    from engine_core import Engine
    from engine_core.debug import DebugSession

    figures = []
    with Engine(str(workspace)) as engine:
        for _ in range(DEBUG_RUNS):
            before = _adapter_pids()
            session = DebugSession(engine)
            path = str(engine.workspace.flow_path("Main Process"))
            session.start("Main Process", {}, {path: [{"line": 4}]})
            session.wait_for_stop(timeout=30)
            deadline = time.monotonic() + 5
            while session.debuggee_pid is None and time.monotonic() < deadline:
                time.sleep(0.01)
            pids = (_adapter_pids() - before) | ({session.debuggee_pid} if session.debuggee_pid else set())
            start = time.perf_counter()
            session.stop()
            while any(process_alive(pid) for pid in pids) and time.perf_counter() - start < 30:
                time.sleep(0.005)
            figures.append(time.perf_counter() - start)
    return figures


def main() -> int:
    ensure_bundle()
    size = bundle_size_mb(BUNDLE)
    with tempfile.TemporaryDirectory(prefix="bench-packaging-") as tmp:
        tmp = Path(tmp)
        home = tmp / "home"
        home.mkdir()
        workspace = example_workspace(tmp)
        hello = tmp / "hello"
        (hello / "flows").mkdir(parents=True)
        (hello / "flows" / "Hello.py").write_text(HELLO)
        frozen_start, venv_start = startup(home, workspace)
        cold_cli = cli_run(VENV_FLOWDESK, home, hello, FLOWDESK_WARM="0")
        first_cli, cli = warm_cli_run(VENV_FLOWDESK, home, hello)
        frozen_cold_cli = cli_run(FROZEN, home, hello, FLOWDESK_WARM="0")
        _, frozen_cli = warm_cli_run(FROZEN, home, hello)
        floor = python_and_sqlalchemy(home)
        debug_workspace = tmp / "debug"
        shutil.copytree(workspace, debug_workspace, ignore=shutil.ignore_patterns(".flowdesk"))
        stops = debug_stop_clean(debug_workspace)
    stop_clean = statistics.median(stops)
    ratio = frozen_start / venv_start
    print(f"bundle size (dist/flowdesk):            {size:7.1f} MB   target <= 250 MB   {'ok' if size <= 250 else 'MISSED'}")
    print(f"IDE start-up to main window, frozen:    {frozen_start:7.3f} s    (median of {STARTUP_RUNS}, offscreen)")
    print(f"IDE start-up to main window, venv:      {venv_start:7.3f} s    frozen/venv = {ratio:.2f}   target <= 1.2   "
          f"{'ok' if ratio <= 1.2 else 'MISSED'}")
    print(f"Stop Debugging to no process left:      {stop_clean:7.3f} s    (median of {DEBUG_RUNS}: "
          f"{', '.join(f'{s:.2f}' for s in stops)})   target <= 2 s   {'ok' if stop_clean <= 2 else 'MISSED'}")
    print(f"`flowdesk run` of a trivial flow, venv: {cli:7.3f} s    (median of {CLI_RUNS}, handed to the warm "
          f"process)   target <= 0.3 s   {'ok' if cli <= 0.3 else 'MISSED'}")
    print(f"  the first command (on its own; it leaves the warm process behind): {first_cli:5.3f} s")
    print(f"  every command on its own (FLOWDESK_WARM=0): {cold_cli:5.3f} s  (median of {CLI_RUNS})")
    print(f"`flowdesk run` of a trivial flow, frozen: {frozen_cli:5.3f} s  (median of {CLI_RUNS}, warm); "
          f"every command on its own: {frozen_cold_cli:5.3f} s")
    print(f"  beside: `python -c 'import sqlalchemy'`: {floor:5.3f} s  (median of {CLI_RUNS}): the floor under a "
          f"command on its own that opens the store")
    print(json.dumps({
        "bundle_mb": round(size, 1), "frozen_startup_s": round(frozen_start, 3), "venv_startup_s": round(venv_start, 3),
        "startup_ratio": round(ratio, 2), "debug_stop_clean_s": round(stop_clean, 3), "cli_run_s": round(cli, 3),
        "cli_run_first_s": round(first_cli, 3), "cli_run_cold_s": round(cold_cli, 3), "frozen_cli_run_s": round(frozen_cli, 3),
        "frozen_cli_run_cold_s": round(frozen_cold_cli, 3), "python_import_sqlalchemy_s": round(floor, 3),
    }))
    return 0


if __name__ == "__main__":
    os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
    sys.exit(main())
