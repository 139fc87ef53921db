"""The command line's cluster part: ``flowdesk run --cluster``/``--local`` and ``flowdesk cluster
local|status``, as a user runs them (subprocesses, a real LocalCluster of worker processes).
Full runs on a cluster are tests/cluster's."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
import time

import pytest

from support import ROOT, free_port, process_alive, run_cli

pytest.importorskip("distributed")


def write_config(workspace, text: str) -> None:
    path = workspace.root / ".flowdesk" / "config.toml"
    path.parent.mkdir(exist_ok=True)
    path.write_text(textwrap.dedent(text), encoding="utf-8")


def test_a_scheduler_nobody_runs_is_one_clear_line_and_exit_2(workspace):
    address = f"tcp://127.0.0.1:{free_port()}"
    result = run_cli("run", "Calculator", "-w", str(workspace), "-i", "initial_value=1", "--cluster", address)
    assert result.returncode == 2, result.stderr
    assert "Traceback" not in result.stderr
    lines = result.stderr.strip().splitlines()
    # SQLite on a cluster: said once, then the failure naming the scheduler and what to do.
    assert lines[0].startswith("flowdesk: warning:")
    assert "other machines' engines and IDEs cannot see this database; use --db postgresql://" in lines[0]
    assert len(lines) == 2 and address in lines[1] and "flowdesk cluster local" in lines[1], lines
    assert result.stdout == ""


def test_the_config_names_the_cluster_and_local_overrides_it(workspace):
    write_config(workspace, """
        [cluster]
        run_on = "cluster"
    """)
    result = run_cli("run", "Calculator", "-w", str(workspace), "-i", "initial_value=1")
    assert result.returncode == 2 and "Traceback" not in result.stderr
    assert 'says run_on = "cluster" but gives no scheduler' in result.stderr
    result = run_cli("run", "Calculator", "-w", str(workspace), "-i", "initial_value=1", "--local")
    assert result.returncode == 0, result.stderr
    assert "✔ #1 Calculator: success" in result.stdout


def test_a_bad_cluster_address_is_a_usage_error(workspace):
    result = run_cli("run", "Calculator", "-w", str(workspace), "--cluster", "http://sched:8786")
    assert result.returncode == 2 and "Traceback" not in result.stderr
    assert "is not a Dask scheduler address" in result.stderr


def test_without_distributed_the_cluster_asks_for_the_extra(workspace):
    # A Python without the cluster extra: `distributed` cannot be imported (None in sys.modules,
    # Python's own "not importable" mark, stands in for uninstalling it from the shared venv).
    code = textwrap.dedent("""
        import sys
        sys.modules["distributed"] = sys.modules["dask"] = None
        from engine_core.cli import main
        sys.exit(main(sys.argv[1:]))
    """)
    result = subprocess.run([sys.executable, "-c", code, "run", "Calculator", "-w", str(workspace),
                             "--cluster", "local:2"], capture_output=True, text=True, timeout=60, cwd=ROOT)
    assert result.returncode == 2, result.stderr
    assert "Traceback" not in result.stderr
    assert "pip install 'flowdesk[cluster]'" in result.stderr and "local:2" in result.stderr


def test_a_local_run_does_not_import_distributed(workspace):
    code = textwrap.dedent("""
        import atexit, sys
        atexit.register(lambda: print("IMPORTED", sorted({m.split(".")[0] for m in sys.modules}
                                                         & {"distributed", "dask", "tornado"}), file=sys.stderr))
        from engine_core.cli import main
        sys.exit(main(sys.argv[1:]))
    """)
    result = subprocess.run([sys.executable, "-c", code, "run", "Calculator", "-w", str(workspace),
                             "-i", "initial_value=2"], capture_output=True, text=True, timeout=60, cwd=ROOT)
    assert result.returncode == 0, result.stderr
    assert "IMPORTED []" in result.stderr


def descendants(pid: int) -> set[int]:
    """Every live process under ``pid`` (from /proc's parent links)."""
    children: dict[int, list[int]] = {}
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                with open(f"/proc/{entry}/stat") as stat:
                    fields = stat.read().rsplit(")", 1)[1].split()
            except OSError:
                continue
            if fields[0] != "Z":
                children.setdefault(int(fields[1]), []).append(int(entry))
    found, todo = set(), [pid]
    while todo:
        for child in children.get(todo.pop(), []):
            found.add(child)
            todo.append(child)
    return found




def test_cluster_local_starts_answers_status_and_stops_on_sigterm(workspace):
    port, dashboard = free_port(), free_port()
    process = subprocess.Popen([sys.executable, "-m", "engine_core.cli", "cluster", "local", "--workers", "1",
                                "--port", str(port), "--dashboard-port", str(dashboard)],
                               stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, cwd=ROOT,
                               start_new_session=True)
    try:
        first = process.stdout.readline()
        assert first.strip() == (f"scheduler tcp://127.0.0.1:{port} · dashboard http://127.0.0.1:{dashboard}/status"
                                 " · Ctrl+C stops"), first + process.stderr.read() if not first else first
        status = run_cli("cluster", "status", "--cluster", f"tcp://127.0.0.1:{port}")
        assert status.returncode == 0, status.stderr
        lines = status.stdout.splitlines()
        assert lines[0].startswith(f"scheduler tcp://127.0.0.1:{port}")
        assert lines[1] == "1 worker, 1 thread"
        assert len(lines) == 3 and "1 thread" in lines[2] and "flowdesk " in lines[2], lines

        # The workspace's config names the same scheduler: `status -w` asks it.
        write_config(workspace, f"""
            [cluster]
            run_on = "local"
            scheduler = "tcp://127.0.0.1:{port}"
        """)
        assert run_cli("cluster", "status", "-w", str(workspace)).stdout.splitlines()[1] == "1 worker, 1 thread"

        spawned = descendants(process.pid)
        assert spawned, "no worker process"
        process.send_signal(signal.SIGTERM)
        assert process.wait(timeout=30) == 0
        assert "stopping the cluster" in process.stdout.read()
        assert "Traceback" not in process.stderr.read()
        deadline = time.monotonic() + 10
        while any(process_alive(pid) for pid in spawned) and time.monotonic() < deadline:
            time.sleep(0.1)
        assert not [pid for pid in spawned if process_alive(pid)], "processes left after SIGTERM"
    finally:
        if process.poll() is None:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait()


def test_status_of_a_scheduler_nobody_runs(workspace):
    address = f"tcp://127.0.0.1:{free_port()}"
    result = run_cli("cluster", "status", "--cluster", address)
    assert result.returncode == 2 and "Traceback" not in result.stderr
    assert f"cannot reach the Dask scheduler at {address}: Connection refused" in result.stderr


def test_a_taken_port_is_named(workspace):
    import socket

    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        result = run_cli("cluster", "local", "--workers", "1", "--port", str(port), "--dashboard-port", str(free_port()))
    assert result.returncode == 2, result.stderr
    assert f"cannot start a Dask scheduler on 127.0.0.1:{port}: Address already in use" in result.stderr
    assert "Traceback" not in result.stderr
