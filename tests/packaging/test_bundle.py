"""The one-folder app built by PyInstaller (packaging/flowdesk.spec), used as a user would:
its executable alone, with no Python environment around it. Slow (the build takes about two
minutes); `.ci/run` runs it with the rest. Deselect with -m "not packaging"."""

from __future__ import annotations

import json
import os
import re
import shutil
import signal
import subprocess
import tempfile
from pathlib import Path

import pytest

from engine_core.debug.dap_client import DapClient

from support import WHERE_FLOW, ancestors, wait_until, warm_pid

from packaging_support import DRIVERS, bundle_size_mb, clean_env, example_workspace, wait_no_processes_from

pytestmark = pytest.mark.packaging

STDLIB_FLOW = """\
import csv, io, smtplib, sqlite3, zipfile  # the standard library beyond what Flowdesk imports
import flow_api

def handler(system, this, inputs):
    rows = list(csv.reader(io.StringIO("a,b\\n1,2")))
    this.set_output(rows=rows, sqlite=sqlite3.sqlite_version_info[0])
    return this.success('stdlib ok')
"""


def run_frozen(app: Path, home: Path, *args: str, timeout: float = 120) -> subprocess.CompletedProcess:
    return subprocess.run([str(app), *map(str, args)], env=clean_env(home), cwd=home, capture_output=True,
                          text=True, timeout=timeout)


@pytest.fixture
def home(tmp_path):
    (tmp_path / "home").mkdir()
    return tmp_path / "home"


def test_the_bundle_is_small_and_carries_its_licences_and_resources(frozen_app):
    bundle = frozen_app.parent
    size_mb = bundle_size_mb(bundle)
    assert size_mb <= 250, f"the bundle is {size_mb:.0f} MB"
    internal = bundle / "_internal"
    licences = internal / "resources" / "app" / "licenses"
    assert "LGPL" in (licences / "qt-pyside6-shiboken6.txt").read_text()
    assert "Neil Hodgson" in (licences / "scintilla-lexilla.txt").read_text()
    index = (licences / "INDEX.txt").read_text()
    for component in ("debugpy", "jedi", "parso", "pyflakes", "SQLAlchemy", "alembic", "GitPython", "psycopg",
                      "keyring", "platformdirs"):
        assert component in index
    assert list((licences / "system").glob("*.txt")), "the copied system libraries' copyright files"
    assert (internal / "resources" / "examples" / "flows" / "Main Process.py").is_file()
    assert (internal / "resources" / "app" / "icons" / "flowdesk-256.png").is_file()
    assert not list(internal.rglob("libQt6Quick*")) and not list(internal.rglob("libQt6WebEngine*"))


def test_version_without_a_display(frozen_app, home):
    env_home = home
    result = subprocess.run([str(frozen_app), "--version"], env={**clean_env(env_home), "QT_QPA_PLATFORM": ""},
                            capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stderr
    assert re.fullmatch(r"flowdesk \d+\.\d+\.\d+\S*\n", result.stdout)


def test_the_versions_shown_in_help_about_are_readable(frozen_app, home):
    """About reads each component's version from its installed metadata, bundled too; this
    also runs code the way debugpy runs its adapter: the executable as the interpreter."""
    code = "from importlib.metadata import version as v; print(v('PySide6-Essentials'), v('pyside6-scintilla'), v('jedi'))"
    result = run_frozen(frozen_app, home, "-c", code)
    assert result.returncode == 0, result.stderr
    from importlib.metadata import version
    assert result.stdout.split() == [version("PySide6-Essentials"), version("pyside6-scintilla"), version("jedi")]


def test_a_flow_tree_runs_headless(frozen_app, home, tmp_path):
    workspace = example_workspace(tmp_path)
    result = run_frozen(frozen_app, home, "run", "Main Process", "-w", workspace)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "✔   #2 calculate new value (Calculator): success" in result.stdout
    assert "✔   #3 create message with result (Messenger): success" in result.stdout
    assert "✔ #1 Main Process: success — all done" in result.stdout
    assert not wait_no_processes_from(frozen_app.parent), "no worker or forkserver left behind"


def test_commands_after_the_first_are_handed_to_the_warm_process(frozen_app, home, tmp_path):
    workspace = example_workspace(tmp_path)
    (workspace / "flows" / "Where.py").write_text(WHERE_FLOW)
    folder = tempfile.mkdtemp(prefix="fw-")  # a short path: a socket's has at most 107 bytes
    env = clean_env(home, FLOWDESK_WARM="1", FLOWDESK_WARM_DIR=folder)
    command = [str(frozen_app), "run", "Where", "-w", str(workspace)]
    try:
        first = subprocess.run(command, env=env, cwd=home, capture_output=True, text=True, timeout=120)
        assert first.returncode == 0, first.stdout + first.stderr
        server = wait_until(lambda: warm_pid(Path(folder)), 60, "the frozen app's warm process",
                            detail=lambda: "".join(p.read_text() for p in Path(folder).glob("*.log")))
        second = subprocess.run(command, env=env, cwd=home, capture_output=True, text=True, timeout=120)
        assert second.returncode == 0, second.stdout + second.stderr
        assert server in ancestors(second.stdout) and server not in ancestors(first.stdout), second.stdout
    finally:
        if (pid := warm_pid(Path(folder))) is not None:
            os.kill(pid, signal.SIGTERM)
    assert not wait_no_processes_from(frozen_app.parent), "no warm process, worker or forkserver left behind"
    shutil.rmtree(folder)


def test_a_flow_may_import_any_of_the_standard_library(frozen_app, home, tmp_path):
    workspace = tmp_path / "ws"
    (workspace / "flows").mkdir(parents=True)
    (workspace / "flows" / "Stdlib.py").write_text(STDLIB_FLOW)
    result = run_frozen(frozen_app, home, "run", "Stdlib", "-w", workspace, "--json")
    assert result.returncode == 0, result.stdout + result.stderr
    tree = json.loads(result.stdout[result.stdout.index("{"):])
    assert tree["outputs"] == {"rows": [["a", "b"], ["1", "2"]], "sqlite": 3}


def test_debugging_stops_at_a_breakpoint_in_a_child_flow(frozen_app, home, tmp_path):
    """DebugSession (what the IDE's Debug runs) inside the frozen app: its forkserver, worker,
    debugpy and debugpy's adapter (started as `flowdesk .../debugpy/adapter`)."""
    workspace = example_workspace(tmp_path)
    result = run_frozen(frozen_app, home, DRIVERS / "debug_flow.py", workspace)
    assert result.returncode == 0, result.stdout + result.stderr
    seen = json.loads(result.stdout.strip().splitlines()[-1])
    assert seen == {"reason": "breakpoint", "stack": [["Calculator", 11], ["Main Process", 6]], "result": "42",
                    "status": "success", "frozen": True}
    assert not wait_no_processes_from(frozen_app.parent), "no worker, forkserver or debug adapter left behind"


def test_flowdesk_debug_serves_a_dap_client(frozen_app, home, tmp_path):
    """`flowdesk debug FLOW` of the frozen app, attached from here with Flowdesk's DAP client
    (as VS Code would attach)."""
    workspace = example_workspace(tmp_path)
    calculator = str(workspace / "flows" / "Calculator.py")
    process = subprocess.Popen([str(frozen_app), "debug", "Calculator", "-w", str(workspace), "--input",
                                "initial_value=5"], env=clean_env(home), stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                               text=True)
    try:
        port = None
        for line in process.stdout:
            found = re.search(r"debugpy listens on 127\.0\.0\.1:(\d+)", line)
            if found:
                port = int(found.group(1))
                break
        assert port, process.stderr.read()
        client = DapClient("127.0.0.1", port)
        client.request("initialize", {"clientID": "test", "adapterID": "debugpy", "pathFormat": "path",
                                      "linesStartAt1": True, "columnsStartAt1": True})
        attached = client.send("attach", {"justMyCode": True})
        client.wait_event("initialized", 30)
        client.request("setBreakpoints", {"source": {"path": calculator}, "breakpoints": [{"line": 11}]})
        client.request("configurationDone")
        attached.result(30)
        _, stopped = client.wait_event("stopped", 60)
        frames = client.request("stackTrace", {"threadId": stopped["threadId"]})["stackFrames"]
        assert (frames[0]["source"]["path"], frames[0]["line"]) == (calculator, 11)
        client.send("continue", {"threadId": stopped["threadId"]})
        process.wait(timeout=60)
        # Then disconnect: debugpy's adapter (which shares the CLI's stdout) ends with its client.
        client.close()
        output, errors = process.communicate(timeout=30)
        assert process.returncode == 0, output + errors
        assert "Calculator: success — all done" in output
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()
    assert not wait_no_processes_from(frozen_app.parent)


def test_the_ide_opens_its_main_window(frozen_app, home, tmp_path):
    workspace = example_workspace(tmp_path)
    result = run_frozen(frozen_app, home, DRIVERS / "ide_window.py", workspace)
    assert result.returncode == 0, result.stdout + result.stderr
    seen = json.loads(result.stdout.strip().splitlines()[-1])
    assert seen["frozen"] is True and seen["windows"] == 1 and seen["engine_open"] is True
    assert seen["title"].startswith("examples")
    assert any("'os' imported but unused" in message for message in seen.get("lint", [])), seen
    assert not wait_no_processes_from(frozen_app.parent)
