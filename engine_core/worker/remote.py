"""A flow process on a Dask worker: ``python -m engine_core.worker.remote FD PARENT MEM MAX_RUNS SITE``.

The cluster supervisor (engine_core/cluster/supervisor.py) starts it with ``subprocess.Popen``
and one end of a socketpair passed as FD. Not multiprocessing: a Nanny-started Dask worker is
a daemonic process, and daemonic processes may not have multiprocessing children. From here on
it is the same loop as a local worker (``worker_main``: its own process group, the memory
limit, exit when PARENT, the Dask worker, is gone), speaking the same frames over the socket
as over a local pipe; the supervisor relays them to the engine.

MEM is the address-space limit in MB ("0": none); SITE the package set's directory ("": none)."""

from __future__ import annotations

import os
import signal
import sys
import threading
import time
from multiprocessing.connection import Connection


def main(argv: list[str]) -> None:
    fd, parent, memory_limit_mb, max_runs, site = argv
    _kill_group_when_gone(int(parent))
    # Imported here, after argv is known good: this is what makes the process "warm" (~0.1 s),
    # so the supervisor starts it before an execution needs it.
    from .process import worker_main

    worker_main(Connection(int(fd)), int(parent), int(memory_limit_mb) or None, int(max_runs), site or None)


def _kill_group_when_gone(parent: int) -> None:
    """A Dask worker killed outright (the Nanny's memory limit, kill -9, a lost machine's
    restart) cannot kill its flows' process groups; this does, with what the flow started.
    worker_main's lifeline only ends this process: a subprocess of the flow would outlive it,
    running without an engine. Checked more often than that lifeline so that this one wins."""
    from ..lifeline import owner_gone

    def watch() -> None:
        while True:
            time.sleep(0.25)
            if owner_gone(parent):
                if os.getpgid(0) == os.getpid():  # after worker_main's setsid: the group is ours alone
                    os.killpg(0, signal.SIGKILL)
                os._exit(0)

    threading.Thread(target=watch, name="flowdesk-group-lifeline", daemon=True).start()


if __name__ == "__main__":
    main(sys.argv[1:])
