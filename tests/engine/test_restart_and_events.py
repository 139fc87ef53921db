"""Nothing is lost: restart after the engine is killed, and events only after commits."""

import signal
import subprocess
import sys
import time

from engine_core import Engine, Store, events
from engine_core.runtime.engine import resolve_db_url
from engine_core.workspace import Workspace
from support import process_alive


def test_engine_killed_mid_run_then_restarted(workspace, tmp_path):
    pid_file = tmp_path / "looper.pid"
    # Resume turned off for this flow: the next engine ends it as before durable executions
    # (test_durable_resume.py covers what it does when resume is on).
    workspace.write_flow("Worker Bee", """
        FLOWDESK_RESUME = False
        def handler(system, this, inputs):
            this.set_output(step=1)
            this.log('before the kill')
            this.flow('Looper')
    """)
    workspace.write_flow("Looper", f"""
        import os
        def handler(system, this, inputs):
            open({str(pid_file)!r}, 'w').write(str(os.getpid()))
            while True:
                pass
    """)
    cli = subprocess.Popen([sys.executable, "-m", "engine_core.cli", "run", "Worker Bee", "-w", str(workspace)],
                           stdout=subprocess.PIPE, text=True)
    lines = []
    while "Looper: running" not in "".join(lines):
        line = cli.stdout.readline()
        assert line, "the CLI ended before the tree was running"
        lines.append(line)
    cli.send_signal(signal.SIGKILL)
    cli.wait(timeout=5)

    store = Store(resolve_db_url(Workspace.open(workspace.root), None))
    before = {r["id"]: r["status"] for r in store.executions()}
    assert before == {1: "running", 2: "running"}, "nothing marks them yet: the engine is just gone"

    with Engine(workspace.root) as engine:  # the next start cleans up
        after = {r["id"]: (r["status"], r["message"]) for r in engine.store.executions()}
        assert after == {1: ("error", "engine stopped while running"), 2: ("error", "engine stopped while running")}
        record = engine.store.execution(1)
        assert record["outputs"] == {"step": 1}
        assert [e["text"] for e in engine.store.logs(1)] == ["before the kill"]
        # ...and runs new work.
        assert engine.run("Calculator", {"initial_value": 3})["outputs"] == {"result": 3}
    store.close()

    # The orphaned worker, looping, notices its engine is gone and exits by itself.
    looper_pid = int(pid_file.read_text())
    deadline = time.monotonic() + 5
    while time.monotonic() < deadline and process_alive(looper_pid):
        time.sleep(0.1)
    assert not process_alive(looper_pid), "a looping worker outlived its engine"




def test_two_engines_on_one_workspace_do_not_reap_each_other(workspace):
    workspace.write_flow("Sleeper", """
        def handler(system, this, inputs):
            this.sleep(1.0)
    """)
    with Engine(workspace.root) as first:
        execution_id = first.submit("Sleeper")
        with Engine(workspace.root) as second:
            assert second.store.execution(execution_id)["status"] in ("queued", "running")
            assert second.wait(execution_id, timeout=10)["status"] == "success"


def test_events_arrive_in_order_and_after_commit(engine, workspace):
    seen = []
    checks = []
    reader = Store(engine.store.url)

    def on_event(event):
        seen.append(event)
        # Whatever an event announces is already readable by another connection.
        if isinstance(event, events.StatusChanged):
            checks.append(reader.execution(event.id)["status"] == event.status)
        elif isinstance(event, events.LogAppended):
            checks.append(any(e["text"] == event.text for e in reader.logs(event.id)))

    unsubscribe = engine.subscribe(on_event)
    workspace.write_flow("Chatty", """
        def handler(system, this, inputs):
            this.log('hello')
            this.set_output(x=1)
            this.message('Note', 'done soon')
            return this.success('bye')
    """)
    execution_id = engine.submit("Chatty", {"a": 1})
    engine.wait(execution_id, timeout=10)
    unsubscribe()
    reader.close()
    kinds = [(type(e).__name__, getattr(e, "status", None)) for e in seen if e.id == execution_id]
    assert kinds == [
        ("ExecutionCreated", "queued"),
        ("StatusChanged", "running"),
        ("LogAppended", None),
        ("OutputChanged", None),
        ("MessageAdded", None),
        ("StatusChanged", "success"),
    ]
    assert seen[0].inputs == {"a": 1}
    assert checks and all(checks)


def test_a_failing_subscriber_does_not_stop_the_engine(engine):
    def broken(event):
        raise RuntimeError("subscriber bug")

    engine.subscribe(broken)
    assert engine.run("Main Process", timeout=20)["status"] == "success"
