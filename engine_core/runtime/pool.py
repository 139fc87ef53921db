"""The worker processes: spawning them from a forkserver, handing them out, killing them."""

from __future__ import annotations

import multiprocessing
import multiprocessing.spawn
import os
import signal
import sys
from dataclasses import dataclass
from multiprocessing.connection import Connection
from pathlib import Path

from .. import packages

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

    @property
    def pid(self) -> int | None:
        return self.process.pid


class WorkerPool:
    def __init__(self, *, memory_limit_mb: int | None, max_runs: int, packages_root: Path | None = None):
        self._memory_limit_mb = memory_limit_mb
        # The workspace whose package set (packages.site_dir) workers get on their path; a
        # worker keeps the set it started with (imported modules stay in sys.modules), so when
        # a new install switches the set, workers of the old one are retired, not reused.
        self.packages_root = packages_root
        self._max_runs = max_runs
        self.workers: list[Worker] = []
        self.idle: list[Worker] = []
        self._by_waitable: dict = {}
        self._stopped = False

    def waitables(self) -> list:
        return list(self._by_waitable)

    def by_waitable(self, obj) -> Worker | None:
        return self._by_waitable.get(obj)

    def current_site_dir(self) -> Path | None:
        """The set new runs must see: a stat of current.json (cached on its mtime)."""
        return packages.site_dir(self.packages_root) if self.packages_root is not None else None

    def spawn(self) -> Worker:
        ctx = mp_context()
        engine_end, worker_end = ctx.Pipe(duplex=True)
        site_dir = self.current_site_dir()
        process = ctx.Process(
            target=_worker_entry,
            args=(worker_end, os.getpid(), self._memory_limit_mb, self._max_runs,
                  None if site_dir is None else str(site_dir)),
            name=WORKER_NAME,
            daemon=True,
        )
        process.start()
        worker_end.close()
        worker = Worker(process=process, conn=engine_end, site_dir=site_dir)
        self.workers.append(worker)
        self._by_waitable[engine_end] = worker
        self._by_waitable[process.sentinel] = worker
        return worker

    def take_idle(self) -> Worker | None:
        site_dir = self.current_site_dir() if self.idle else None
        while self.idle:
            worker = self.idle.pop()
            if worker.dead:
                continue
            if worker.site_dir != site_dir:  # started before the last install: its set is stale
                self._retire(worker)
                continue
            return worker
        return None

    def release(self, worker: Worker) -> None:
        worker.execution_id = None
        worker.blocked = False
        if not (worker.retiring or worker.dead) and worker.site_dir != self.current_site_dir():
            self._retire(worker)  # ran while a new set was installed: the next run needs a fresh one
        # A retiring worker exits by itself; its sentinel tells the dispatcher when to forget it.
        if not (worker.retiring or worker.dead):
            self.idle.append(worker)

    def _retire(self, worker: Worker) -> None:
        """Ask an idle worker to exit; its sentinel tells the dispatcher when to forget it."""
        worker.retiring = True
        try:
            worker.conn.send(("stop",))
        except OSError:
            pass

    def counted(self) -> int:
        """Workers that count against ``max_workers``: all but those blocked on a child. A
        stopped pool counts as full, so that nothing tops it up again: the dispatcher's round
        that stops it goes on to schedule, which used to spawn fresh warm workers that nobody
        stopped (they lingered until their lifeline noticed the engine's process was gone)."""
        if self._stopped:
            return sys.maxsize
        return sum(1 for w in self.workers if not w.blocked and not w.retiring)

    def deliver(self, worker: Worker, message: tuple) -> None:
        """Send a protocol message, or ``("signal", SIG)`` as a signal; a dead worker is skipped
        (its death is noticed through its sentinel)."""
        if worker.dead:
            return
        if message[0] == "signal":
            self.send_signal(worker, message[1])
            return
        try:
            worker.conn.send(message)
        except OSError:
            pass

    def send_signal(self, worker: Worker, sig: int) -> None:
        """SIGTERM (cancel) goes to the flow's process; SIGSTOP/SIGCONT (pause, resume) to its
        process group, so what the flow started pauses with it."""
        if worker.dead or not worker.pid:
            return
        try:
            if sig == signal.SIGTERM:
                os.kill(worker.pid, sig)
            else:
                _killpg(worker.pid, sig)
        except (ProcessLookupError, PermissionError, OSError):
            pass  # it is gone: its sentinel tells the dispatcher

    def kill(self, worker: Worker) -> None:
        """Kill the worker and everything its flow started (its process group)."""
        if not worker.dead and worker.pid:
            for kill in (_killpg, os.kill):
                try:
                    kill(worker.pid, signal.SIGKILL)
                    break
                except (ProcessLookupError, PermissionError, OSError):
                    continue
        self.forget(worker)

    def forget(self, worker: Worker) -> None:
        worker.dead = True
        if worker in self.workers:
            self.workers.remove(worker)
        if worker in self.idle:
            self.idle.remove(worker)
        self._by_waitable.pop(worker.conn, None)
        self._by_waitable.pop(worker.process.sentinel, None)
        worker.conn.close()
        worker.process.join(timeout=0.5)

    def stop_all(self) -> None:
        self._stopped = True
        for worker in list(self.workers):
            if worker.execution_id is None:
                try:
                    worker.conn.send(("stop",))
                except OSError:
                    pass
        for worker in list(self.workers):
            worker.process.join(timeout=0.5)
            self.kill(worker)


def _killpg(pid: int, sig: int) -> None:
    os.killpg(pid, sig)


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
