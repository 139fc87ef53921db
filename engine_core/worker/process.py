"""The worker process's main loop.

Workers are forked from a forkserver that has this module preloaded, so a new worker is
ready in milliseconds and never inherits the threads of the engine's process (the IDE's
Qt threads, for one). A worker runs one execution at a time and is reused; the engine
kills it to cancel an execution, and replaces it when it dies."""

from __future__ import annotations

import os
import signal
import time
from multiprocessing.connection import Connection

from .. import protocol
from ..lifeline import exit_when_gone
from . import cancel
from .channel import EngineGone
from .runner import run_execution


def worker_main(conn: Connection, engine_pid: int, memory_limit_mb: int | None, max_runs: int) -> None:
    # Own process group: cancelling kills the flow and any subprocess it started.
    os.setsid()
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # Ctrl+C is the engine's to handle
    cancel.install()
    if memory_limit_mb:
        _limit_memory(memory_limit_mb)
    exit_when_gone(engine_pid)  # even if a flow is looping
    runs = 0
    try:
        while runs < max_runs:
            try:
                message = conn.recv()
            except EOFError:
                return
            if message[0] == protocol.STOP:
                return
            if message[0] != protocol.RUN:
                continue
            _, execution_id, kind, target, path, source, inputs_json, debug = message
            if debug:
                _listen_for_debugger(conn, execution_id)
            outcome = run_execution(conn, execution_id, kind, target, path, source, inputs_json)
            runs += 1
            # A debugged worker is not reused: debugpy cannot be detached from a process.
            retire = outcome.retire or debug or runs >= max_runs
            conn.send((protocol.DONE, execution_id, outcome.status, outcome.message, outcome.traceback, retire))
            if debug:
                time.sleep(0.3)  # let debugpy deliver its last output (logpoints) before we exit
            if retire:
                return
    except (EngineGone, BrokenPipeError, OSError):
        return
    finally:
        os._exit(0)  # skip interpreter teardown: nothing of a flow's state needs it


def _listen_for_debugger(conn: Connection, execution_id: int) -> None:
    """Development mode: serve DAP on a free loopback port and wait for a client to attach.
    debugpy is imported only here, so productive runs never load it."""
    # Flow files are never frozen modules; without this debugpy warns about them on stderr.
    os.environ.setdefault("PYDEVD_DISABLE_FILE_VALIDATION", "1")
    import debugpy

    host, port = debugpy.listen(("127.0.0.1", 0))
    conn.send((protocol.NOTE, execution_id, "debug_listening", {"host": host, "port": port}))
    _disable_nagle_towards_adapter()
    debugpy.wait_for_client()


def _disable_nagle_towards_adapter() -> None:
    """pydevd writes each message as two small sends (header, then body); with Nagle's
    algorithm on, the body waits for the adapter's delayed ACK: ~40 ms on every response and
    event. With TCP_NODELAY a step costs what the debugger's work costs."""
    import socket

    try:
        import pydevd

        sock = pydevd.get_global_debugger().writer.sock
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    except (ImportError, AttributeError, OSError):
        pass  # another debugpy version: slower, still correct


def _limit_memory(megabytes: int) -> None:
    try:
        import resource
    except ImportError:  # not on this platform
        return
    limit = megabytes * 1024 * 1024
    resource.setrlimit(resource.RLIMIT_AS, (limit, limit))
