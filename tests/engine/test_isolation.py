"""A flow that loops, crashes or eats memory ends alone; the engine and the rest go on."""

import os
import signal
import subprocess
import sys
import time

from support import run_cli


LOOPER = """
    def handler(system, this, inputs):
        this.log('looping')
        while True:
            pass
"""


def _wait_status(engine, execution_id, status, timeout=10):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        record = engine.store.execution(execution_id)
        if record and record["status"] == status:
            return record
        time.sleep(0.05)
    raise AssertionError(f"execution #{execution_id} never reached {status}: {engine.store.execution(execution_id)}")


def test_cancel_a_looping_tree(engine, workspace):
    workspace.write_flow("Looper", LOOPER)
    workspace.write_flow("Parent", """
        def handler(system, this, inputs):
            this.flow('Looper', name='spin')
    """)
    root = engine.submit("Parent")
    _wait_status(engine, root + 1, "running")
    started = time.monotonic()
    assert engine.cancel(root) == "cancelled"
    record = engine.wait(root, timeout=5)
    assert time.monotonic() - started < 2
    assert (record["status"], record["message"]) == ("cancelled", "cancelled by user")
    child = engine.store.execution(root + 1)
    assert (child["status"], child["message"]) == ("cancelled", "parent execution 'Parent' (#1) was cancelled")
    # The engine goes on.
    assert engine.run("Calculator", {"initial_value": 1})["status"] == "success"


def test_cancelling_a_child_fails_its_waiting_parent(engine, workspace):
    workspace.write_flow("Looper", LOOPER)
    workspace.write_flow("Parent", """
        import flow_api
        def handler(system, this, inputs):
            try:
                this.flow('Looper')
            except flow_api.DependencyFailedError as exc:
                return this.success(f'handled: {exc}')
    """)
    root = engine.submit("Parent")
    _wait_status(engine, root + 1, "running")
    engine.cancel(root + 1)
    record = engine.wait(root, timeout=5)
    assert record["status"] == "success"
    assert record["message"] == "handled: child execution 'Looper' (#2) was cancelled: cancelled by user"


def test_crashing_child_fails_alone(engine, workspace):
    workspace.write_flow("Crasher", """
        import os, signal
        def handler(system, this, inputs):
            this.log('about to crash')
            os.kill(os.getpid(), signal.SIGSEGV)
    """)
    workspace.write_flow("Parent", """
        import flow_api
        def handler(system, this, inputs):
            try:
                this.flow('Crasher')
            except flow_api.DependencyFailedError as exc:
                this.log(str(exc))
            return this.success('survived')
    """)
    record = engine.run("Parent", timeout=20)
    assert (record["status"], record["message"]) == ("success", "survived")
    tree = engine.tree(record["id"])
    crasher = tree["children"][0]
    assert crasher["status"] == "error"
    assert crasher["message"] == "the flow's worker process was killed by SIGSEGV"
    assert crasher["logs"][0]["text"] == "about to crash", "the log sent before the crash is kept"
    assert tree["logs"][0]["text"] == "child execution 'Crasher' (#2) failed: the flow's worker process was killed by SIGSEGV"


def test_os_exit(engine, workspace):
    workspace.write_flow("Quitter", """
        import os
        def handler(system, this, inputs):
            os._exit(7)
    """)
    record = engine.run("Quitter", timeout=20)
    assert record["status"] == "error"
    assert record["message"] == "the flow's worker process exited with code 7 (os._exit or a crash)"


def test_memory_hog_ends_in_error(engine, workspace):
    workspace.write_flow("Hog", """
        def handler(system, this, inputs):
            blocks = []
            while True:
                blocks.append(bytearray(50 * 1024 * 1024))
    """)
    record = engine.run("Hog", timeout=30)
    assert record["status"] == "error"
    assert record["message"].startswith("MemoryError: the flow ran out of memory")
    assert engine.run("Calculator", {"initial_value": 5})["outputs"] == {"result": 5}


def test_cancel_kills_subprocesses_of_the_flow(engine, workspace, tmp_path):
    pid_file = tmp_path / "child.pid"
    workspace.write_flow("Spawner", f"""
        import subprocess, sys
        def handler(system, this, inputs):
            proc = subprocess.Popen([sys.executable, '-c', 'import time; time.sleep(60)'])
            open({str(pid_file)!r}, 'w').write(str(proc.pid))
            proc.wait()
    """)
    root = engine.submit("Spawner")
    deadline = time.monotonic() + 10
    while not pid_file.exists() or not pid_file.read_text():
        assert time.monotonic() < deadline
        time.sleep(0.05)
    pid = int(pid_file.read_text())
    engine.cancel(root)
    deadline = time.monotonic() + 5
    while time.monotonic() < deadline:
        try:
            os.kill(pid, 0)
        except ProcessLookupError:
            break
        # A killed child stays a zombie until reaped by init; treat that as gone.
        with open(f"/proc/{pid}/stat") as stat:
            if stat.read().split()[2] == "Z":
                break
        time.sleep(0.05)
    else:
        raise AssertionError("the flow's subprocess survived the cancel")


def test_cli_timeout_cancels_the_tree(workspace):
    workspace.write_flow("Looper", LOOPER)
    started = time.monotonic()
    result = run_cli("run", "Looper", "-w", str(workspace), "--timeout", "1")
    assert result.returncode == 1
    assert time.monotonic() - started < 10
    assert "⊘ #1 Looper: cancelled — cancelled: timeout after 1 s" in result.stdout


def test_cli_cancel_from_another_shell(workspace):
    workspace.write_flow("Looper", LOOPER)
    runner = subprocess.Popen([sys.executable, "-m", "engine_core.cli", "run", "Looper", "-w", str(workspace)],
                              stdout=subprocess.PIPE, text=True)
    try:
        assert runner.stdout.readline().strip() == "▶ #1 Looper: running"
        result = run_cli("cancel", "1", "-w", str(workspace))
        assert result.returncode == 0
        assert result.stdout.strip() == "execution #1: cancelled — cancelled by user"
        assert runner.wait(timeout=10) == 1
    finally:
        runner.kill()


def test_ctrl_c_cancels_the_tree(workspace):
    workspace.write_flow("Looper", LOOPER)
    runner = subprocess.Popen([sys.executable, "-m", "engine_core.cli", "run", "Looper", "-w", str(workspace)],
                              stdout=subprocess.PIPE, text=True)
    try:
        assert runner.stdout.readline().strip() == "▶ #1 Looper: running"
        runner.send_signal(signal.SIGINT)
        assert runner.wait(timeout=10) == 1
        assert "cancelled: interrupted (Ctrl+C)" in runner.stdout.read()
    finally:
        runner.kill()
