"""Executions run by worker processes of this machine (the default backend).

Workers fork from a forkserver (``pool.mp_context``), each runs one execution at a time and
many in its life (``EngineOptions.worker_max_runs``); idle ones are kept warm
(``warm_workers``) so a new execution starts without a spawn. A debugged root gets a fresh
process of its own (``obtain(fresh=True)``), which it does not give back."""

from __future__ import annotations

import os
import signal
import sys
from pathlib import Path
from typing import TYPE_CHECKING

from ... import packages, protocol
from ...process_group import signal_group
from ..pool import WORKER_NAME, Worker, _worker_entry, describe_exit, mp_context
from . import Exit

if TYPE_CHECKING:  # pragma: no cover
    from ..active import Active
    from . import BackendHost


class LocalBackend:
    def __init__(self, host: "BackendHost"):
        options = host.options
        self._options = options
        self._memory_limit_mb = options.memory_limit_mb
        self._max_runs = options.worker_max_runs
        # The workspace whose package set (packages.site_dir) workers get on their path; a
        # worker keeps the set it started with (imported modules stay in sys.modules), so when
        # a new install switches the set, workers of the old one are retired, not reused.
        self.packages_root: Path | None = host.workspace.root
        self.workers: list[Worker] = []
        self.idle: list[Worker] = []
        self._by_waitable: dict = {}
        self._stopped = False

    # -- ExecutionBackend -----------------------------------------------------------------
    def start(self) -> None:
        for _ in range(self._options.warm_workers):
            self.release(self.spawn())  # idle and ready: the first runs take these

    def waitables(self) -> list:
        return list(self._by_waitable)

    def by_waitable(self, obj) -> Worker | None:
        return self._by_waitable.get(obj)

    def poll(self, ready: list) -> list[Worker]:
        return []  # a local worker's death shows on its sentinel, one of its waitables

    def obtain(self, active: "Active", *, fresh: bool = False) -> Worker | None:
        if fresh:
            return self.spawn()
        worker = self.take_idle()
        if worker is None and self.counted() < self._options.max_workers:
            worker = self.spawn()
        return worker

    def deliver(self, worker: Worker, message: tuple) -> None:
        """Send a protocol message (one write, ``protocol.send``), or ``("signal", SIG)`` as a
        signal; a dead worker is skipped (its death is noticed through its sentinel)."""
        if worker.dead:
            return
        if message[0] == "signal":
            self.send_signal(worker, message[1])
            return
        try:
            protocol.send(worker.conn.fileno(), message)
        except OSError:
            pass

    def flush(self) -> None:
        pass

    def release(self, worker: Worker) -> None:
        worker.execution_id = None
        worker.blocked = False
        worker.parked.clear()
        if not (worker.retiring or worker.dead) and worker.site_dir != self.current_site_dir():
            self._retire(worker)  # ran while a new set was installed: the next run needs a fresh one
        # A retiring worker exits by itself; its sentinel tells the dispatcher when to forget it.
        if not (worker.retiring or worker.dead):
            self.idle.append(worker)

    def kill(self, worker: Worker) -> None:
        """Kill the worker and everything its flow started (its process group)."""
        if not worker.dead and worker.pid:
            signal_group(worker.pid, signal.SIGKILL)
        self.forget(worker)

    def exited(self, worker: Worker) -> Exit:
        worker.process.join(timeout=1.0)
        exitcode = worker.process.exitcode
        self.forget(worker)
        return Exit(describe_exit(exitcode))

    def top_up(self) -> None:
        options = self._options
        while len(self.idle) < options.warm_workers and self.counted() < options.max_workers:
            self.release(self.spawn())

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

    def describe(self) -> dict:
        return {"runs_on": "this machine"}

    # -- the pool -------------------------------------------------------------------------
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

    def send_signal(self, worker: Worker, sig: int) -> None:
        """SIGTERM (cancel) goes to the flow's process; SIGSTOP/SIGCONT (pause, resume) to its
        process group, so what the flow started pauses with it."""
        if worker.dead or not worker.pid:
            return
        try:
            if sig == signal.SIGTERM:
                os.kill(worker.pid, sig)
            else:
                os.killpg(worker.pid, sig)
        except (ProcessLookupError, PermissionError, OSError):
            pass  # it is gone: its sentinel tells the dispatcher

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
