"""Worker processes of this machine: the forkserver they are spawned from and the handle of
one (:class:`Worker`). Handing them out and killing them is the local backend's job
(``backends/local.py``)."""

from __future__ import annotations

import multiprocessing
import multiprocessing.spawn
import signal
from dataclasses import dataclass, field
from multiprocessing.connection import Connection
from pathlib import Path
from typing import ClassVar

from .. import protocol

_context = None
HELPER_PREFIX = "flowdesk-"  # the name of every helper process (see _skip_main_module_in_workers)
WORKER_NAME = HELPER_PREFIX + "worker"
# What the forkserver imports once, so that each worker forked from it starts with them: the
# flow runtime, the worker's loop, and this module (the workers' entry point below).
_PRELOAD = ["flow_api", "engine_core.worker.process", __name__]


def mp_context():
    """The multiprocessing context for every helper process of Flowdesk (workers and the IDE's
    analysis process): a forkserver with the flow runtime preloaded, where available."""
    global _context
    if _context is None:
        if "forkserver" in multiprocessing.get_all_start_methods():
            _context = multiprocessing.get_context("forkserver")
            # Workers fork from a server that has the flow runtime imported already; the
            # engine process itself (with its DB and GUI threads) is never forked.
            _context.set_forkserver_preload(_PRELOAD)
        else:  # Windows / macOS default
            _context = multiprocessing.get_context("spawn")
        _skip_main_module_in_workers()
    return _context


def prestart() -> None:
    """Start the forkserver now, without waiting for it. A fresh interpreter importing the flow
    runtime takes ~0.1 s; started before the caller's own slow imports (SQLAlchemy for the
    engine) the two run side by side, and the first worker is forked without a wait. The CLI
    calls this first thing in ``flowdesk run``."""
    if mp_context().get_start_method() == "forkserver":
        from multiprocessing import forkserver

        forkserver.ensure_running()


def _worker_entry(*args) -> None:
    """A worker's target. The worker module is imported here, in the worker (where the
    forkserver has it loaded already), not in the engine's process: importing it there cost
    ~40 ms of every ``flowdesk run``'s start for nothing."""
    from ..worker.process import worker_main

    worker_main(*args)


def _skip_main_module_in_workers() -> None:
    """A new forkserver or spawn child first imports the parent's ``__main__`` again (as
    ``__mp_main__``), in case the target lives there. A worker's target is
    ``engine_core.worker.process.worker_main``, but the main module is the IDE, the CLI or a
    script that imports the whole engine: measured here, every new worker then spent
    0.2-0.4 s of CPU importing SQLAlchemy, Alembic and Mako while the flows ran, which
    slowed 8 contending executions' lock round trips from ~7 ms to ~45 ms. Workers skip it, and
    so does every helper process named ``flowdesk-…`` (the IDE's analysis process): their targets
    live in importable modules, and a script read from stdin has no main file to import at all."""
    original = multiprocessing.spawn.get_preparation_data
    if getattr(original, "flowdesk", False):
        return

    def preparation_data(name):
        data = original(name)
        if name.startswith(HELPER_PREFIX):
            data.pop("init_main_from_name", None)
            data.pop("init_main_from_path", None)
        return data

    preparation_data.flowdesk = True
    multiprocessing.spawn.get_preparation_data = preparation_data


@dataclass(eq=False)
class Worker:
    process: multiprocessing.Process
    conn: Connection
    execution_id: int | None = None
    blocked: bool = False  # waiting for a child: does not count against max_workers
    retiring: bool = False
    dead: bool = False
    site_dir: Path | None = None  # the workspace's package set on its path (None: none)
    parked: list = field(default_factory=list)  # its requests parked in the engine (waits.Parked)
    starts_when_claimed: ClassVar[bool] = False  # runs as soon as it is handed the execution

    @property
    def pid(self) -> int | None:
        return self.process.pid

    def read(self) -> list[tuple]:
        """Every whole message its pipe holds now (EOFError: the worker is gone)."""
        return protocol.read_messages(self.conn.fileno())

    def read_final(self) -> list[tuple]:
        """After its death: what it managed to send before (its last log lines, its result)."""
        return protocol.read_remaining(self.conn.fileno())


def describe_exit(exitcode: int | None) -> str:
    if exitcode is None:
        return "the flow's worker process stopped answering"
    if exitcode < 0:
        try:
            name = signal.Signals(-exitcode).name
        except ValueError:
            name = f"signal {-exitcode}"
        hint = " (it may have run out of memory)" if name == "SIGKILL" else ""
        return f"the flow's worker process was killed by {name}{hint}"
    return f"the flow's worker process exited with code {exitcode} (os._exit or a crash)"
