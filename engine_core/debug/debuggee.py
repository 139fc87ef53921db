"""The debugged worker's side of a debug session (development mode): serve DAP through
debugpy, and never let the flow run on unwatched once the debugger is gone.

debugpy's default, when its adapter dies or the client disconnects, is to resume every thread
and let the program run to its end. For a flow that means a tree the user stopped (or whose
debugger crashed) silently finishing, perhaps in *success*. Here the worker ends the debugged
execution in error, with the reason, and exits; the engine cancels the rest of the tree.

Imported only in a worker that runs a flow in development mode: productive runs never load
debugpy."""

from __future__ import annotations

import os
import threading
from multiprocessing.connection import Connection

from .. import protocol

ADAPTER_GONE = "debugging ended: the debug adapter's connection was lost"
DEBUGGER_DETACHED = "debugging ended: the debugger detached"


class GuardedConnection:
    """The worker's pipe, with sends serialised: the debugger's thread may report the end of
    the execution while the flow's thread talks to the engine."""

    def __init__(self, conn: Connection):
        self._conn = conn
        self.lock = threading.Lock()

    def send(self, message) -> None:
        with self.lock:
            self._conn.send(message)

    def __getattr__(self, name):  # recv, poll, close, fileno: the pipe's own
        return getattr(self._conn, name)


def listen(conn: GuardedConnection, execution_id: int) -> None:
    """Serve DAP on a free loopback port, tell the engine where, and wait for a client."""
    # Flow files are never frozen modules; without this debugpy warns about them on stderr.
    os.environ.setdefault("PYDEVD_DISABLE_FILE_VALIDATION", "1")
    import debugpy

    host, port = debugpy.listen(("127.0.0.1", 0))
    _end_when_debugger_gone(conn, execution_id)
    conn.send((protocol.NOTE, execution_id, "debug_listening", {"host": host, "port": port}))
    _disable_nagle_towards_adapter()
    debugpy.wait_for_client()


def _end_when_debugger_gone(conn: GuardedConnection, execution_id: int) -> None:
    try:
        import pydevd

        py_db = pydevd.get_global_debugger()
        on_disconnect, dispose = py_db.on_disconnect, py_db.dispose_and_kill_all_pydevd_threads
    except (ImportError, AttributeError):
        return  # another debugpy version: the session's own cancel still ends the execution

    def detached() -> None:
        _report_and_exit(conn, execution_id, DEBUGGER_DETACHED)
        on_disconnect()

    def adapter_gone(*args, **kwargs) -> None:
        _report_and_exit(conn, execution_id, ADAPTER_GONE)
        dispose(*args, **kwargs)

    py_db.on_disconnect = detached
    py_db.dispose_and_kill_all_pydevd_threads = adapter_gone


def _report_and_exit(conn: GuardedConnection, execution_id: int, message: str) -> None:
    # Runs on debugpy's thread before it resumes the flow: the flow does not take another step.
    if conn.lock.acquire(timeout=2.0):
        try:
            conn._conn.send((protocol.DONE, execution_id, "error", message, None, True))
        except OSError:
            pass
    os._exit(0)


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
