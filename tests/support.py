"""Helpers for tests: a workspace made for a test, the CLI run as a user runs it, a real
HTTP server on loopback, and waiting for state another process changes."""

from __future__ import annotations

import http.server
import json
import socket
import subprocess
import sys
import textwrap
import threading
import time
from contextlib import contextmanager
from pathlib import Path
from typing import Any, Callable

ROOT = Path(__file__).resolve().parent.parent
EXAMPLES = ROOT / "resources" / "examples"
WAIT_S = 60
"""Upper bound for anything a test waits for; a healthy run needs a fraction of it."""


def process_alive(pid: int) -> bool:
    """Whether process ``pid`` exists and has not exited: a zombie (ended, not reaped yet) is
    gone. Its state is the field after the last ")" of /proc/PID/stat (a name may hold spaces);
    a process that vanishes while this reads counts as gone."""
    try:
        with open(f"/proc/{pid}/stat") as stat:
            return stat.read().rsplit(")", 1)[1].split()[0] != "Z"
    except (OSError, IndexError):
        return False


def wait_until(predicate: Callable[[], Any], timeout: float = WAIT_S, what: str = "condition",
               interval: float = 0.05, detail: Callable[[], str] = lambda: ""):
    """Poll ``predicate`` (state another process or thread changes: the database, the process
    table, a file) until it is truthy or ``timeout`` passes; returns its value. ``detail`` adds
    what the failure message should show of the state then."""
    deadline = time.monotonic() + timeout
    while True:
        value = predicate()
        if value:
            return value
        if time.monotonic() >= deadline:
            extra = detail()
            raise AssertionError(f"{what} not reached within {timeout} s" + (f"; {extra}" if extra else ""))
        time.sleep(interval)


def parent_of(pid: int) -> int:
    """Process ``pid``'s parent, from the field after its state in /proc/PID/stat (OSError if
    it is gone)."""
    with open(f"/proc/{pid}/stat") as stat:
        return int(stat.read().rsplit(")", 1)[1].split()[1])


def ancestors_of(pid: int) -> list[int]:
    """Process ``pid``'s parent, its parent's parent, … up to init."""
    pids = []
    while pid > 1:
        pid = parent_of(pid)
        pids.append(pid)
    return pids


# A flow that reports where it ran: its process's ancestors (a warm command process is one when
# the command was handed to it), an environment variable, its working directory and umask.
WHERE_FLOW = """
import os

def _ancestors():
    pids, pid = [], os.getpid()
    while pid > 1:
        with open(f"/proc/{pid}/stat") as stat:
            pid = int(stat.read().rsplit(")", 1)[1].split()[1])
        pids.append(pid)
    return pids

def handler(system, this, inputs):
    umask = os.umask(0o022)
    os.umask(umask)
    this.log(f"ancestors={_ancestors()}")
    this.log(f"FOO={os.environ.get('FOO')} cwd={os.getcwd()} umask={umask:o}")
    if inputs.get('fail'):
        raise ValueError('asked to fail')
    return this.success('done')
"""


def ancestors(stdout: str) -> list[int]:
    """The ancestors :data:`WHERE_FLOW` logged, from a ``flowdesk run``'s output."""
    line = next(line for line in stdout.splitlines() if "ancestors=" in line)
    return [int(pid) for pid in line.split("ancestors=[", 1)[1].rstrip("]").split(", ")]


def warm_pid(folder: Path) -> int | None:
    """The pid of the warm process (engine_core/warm) with its socket in ``folder``
    (FLOWDESK_WARM_DIR), once it accepts commands."""
    for lock in Path(folder).glob("*.lock"):
        sock = lock.with_suffix(".sock")
        text = lock.read_text().strip()
        if text and sock.exists():
            with socket.socket(socket.AF_UNIX) as probe:
                try:
                    probe.connect(str(sock))
                except OSError:
                    continue
            return int(text)
    return None


class FlowWorkspace:
    """A workspace folder in tmp_path, starting as a copy of the example workspace."""

    def __init__(self, root: Path):
        self.root = root

    def write_flow(self, name: str, body: str) -> Path:
        path = self.root / "flows" / f"{name}.py"
        path.write_text(textwrap.dedent(body).lstrip(), encoding="utf-8")
        return path

    def __str__(self) -> str:
        return str(self.root)

    def __fspath__(self) -> str:
        return str(self.root)


def run_cli(*args: str, timeout: float = 60, **kwargs) -> subprocess.CompletedProcess:
    """Run the ``flowdesk`` command line as a user would, in a separate process."""
    return subprocess.run([sys.executable, "-m", "engine_core.cli", *args], capture_output=True,
                          text=True, timeout=timeout, **kwargs)


def run_cli_json(*args: str, **kwargs) -> tuple[int, dict]:
    result = run_cli(*args, "--json", **kwargs)
    assert result.stdout, f"no output; stderr: {result.stderr}"
    return result.returncode, json.loads(result.stdout)


@contextmanager
def serving_http(handler, wrap_socket=None):
    """A real HTTP server on 127.0.0.1 (a free port: ``server.server_address[1]``) answering
    with ``handler`` on a thread of its own, shut down and closed on exit. ``wrap_socket``: e.g.
    an SSL context's, for HTTPS."""
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    if wrap_socket is not None:
        server.socket = wrap_socket(server.socket)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield server
    finally:
        server.shutdown()
        server.server_close()
        thread.join(5)


def free_port() -> int:
    """A loopback port nothing listens on (bound and released): for "connection refused", and
    for servers that must be told their port (git daemon, aiosmtpd)."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def send_json(handler: http.server.BaseHTTPRequestHandler, status: int, body, headers: dict | None = None) -> None:
    """Answer ``handler``'s request: ``status``, ``headers``, then ``body`` (bytes as they are,
    anything else as JSON) as ``application/json``."""
    data = body if isinstance(body, bytes) else json.dumps(body).encode()
    handler.send_response(status)
    for name, value in (headers or {}).items():
        handler.send_header(name, value)
    handler.send_header("Content-Type", "application/json")
    handler.send_header("Content-Length", str(len(data)))
    handler.end_headers()
    handler.wfile.write(data)


class QuietHandler(http.server.BaseHTTPRequestHandler):
    """A request handler that writes no line per request to stderr."""

    def log_message(self, *args) -> None:
        pass
