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


def worker_main(conn: Connection, engine_pid: int, memory_limit_mb: int | None, max_runs: int,
                site_dir: str | None = None) -> None:
    # Own process group: cancelling kills the flow and any subprocess it started.
    os.setsid()
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # Ctrl+C is the engine's to handle
    cancel.install()
    if memory_limit_mb:
        _limit_memory(memory_limit_mb)
    exit_when_gone(engine_pid)  # even if a flow is looping
    if site_dir:
        # The workspace's packages (requirements.txt), after Flowdesk's own paths so that
        # Flowdesk's versions win; addsitedir (not a bare sys.path append) runs their .pth files.
        import site

        site.addsitedir(site_dir)
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
            execution_id, kind, target, path, source, inputs_json, debug = message[1:8]
            plan = message[8] if len(message) > 8 else None  # journal_keys.JournalPlan | None
            if debug:
                # Debugged: the debugger's thread may end the execution (it lost its client)
                # while the flow talks to the engine, so sends share a lock from here on.
                from ..debug import debuggee

                conn = debuggee.GuardedConnection(conn)
                debuggee.listen(conn, execution_id)
            outcome = run_execution(conn, execution_id, kind, target, path, source, inputs_json, plan)
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


def _limit_memory(megabytes: int) -> None:
    try:
        import resource
    except ImportError:  # not on this platform
        return
    limit = megabytes * 1024 * 1024
    resource.setrlimit(resource.RLIMIT_AS, (limit, limit))
