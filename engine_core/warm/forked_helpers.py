"""Start multiprocessing's helper processes (the resource tracker and the workers' forkserver)
as forks of the calling process instead of fresh interpreters.

A fresh forkserver costs a ``flowdesk run`` ~0.15 s here: an interpreter starting and importing
the flow runtime, which the first worker waits for. The warm command process has all of that
imported already and runs no other thread yet, so a fork of it is a forkserver ready in a few
milliseconds. multiprocessing starts both helpers through ``util.spawnv_passfds(exe, args,
fds)``, where ``args`` ends in ``-c CODE``; forked, the helper closes every descriptor but the
ones it was to be passed (as the exec would have) and runs ``CODE`` in place."""

from __future__ import annotations

import os
import threading
import traceback
from contextlib import contextmanager


@contextmanager
def helpers_forked():
    """Within this block, multiprocessing's helpers start as forks of this process, while it
    has no other thread (a fork copies only the calling thread: a lock another thread held
    would stay held in the child); with threads, or a command line that is not ``-c CODE``,
    they start as before."""
    from multiprocessing import util

    spawn = util.spawnv_passfds

    def fork_or_spawn(path, args, passfds):
        if threading.active_count() != 1 or len(args) < 2 or args[-2] != "-c":
            return spawn(path, args, passfds)
        pid = os.fork()
        if pid == 0:
            _run_helper(args[-1], passfds)
        return pid

    util.spawnv_passfds = fork_or_spawn
    try:
        yield
    finally:
        util.spawnv_passfds = spawn


def _run_helper(code: str, passfds) -> None:
    status = 1
    try:
        _close_fds_except({0, 1, 2, *passfds})
        _release_inherited_locks()
        exec(code, {"__name__": "__main__"})  # noqa: S102 - multiprocessing's own command
        status = 0
    except SystemExit as exc:
        status = exc.code if isinstance(exc.code, int) else int(exc.code is not None)
    except BaseException:
        traceback.print_exc()
    finally:
        os._exit(status)


def _release_inherited_locks() -> None:
    """multiprocessing holds these while it starts a helper, so the fork has them locked, and so
    would every worker forked from it: a flow starting a process of its own would wait forever."""
    from multiprocessing import forkserver, resource_tracker

    for owner in (forkserver._forkserver, resource_tracker._resource_tracker):
        lock = getattr(owner, "_lock", None)
        if hasattr(lock, "_at_fork_reinit"):
            lock._at_fork_reinit()


def _close_fds_except(keep: set[int]) -> None:
    """Close what the exec would have closed: above all the caller's end of the forkserver's
    "alive" pipe, which would otherwise keep the forkserver from ever seeing its caller end."""
    low = 0
    for fd in sorted(keep):
        if fd > low:  # never an empty range: closerange(3, 3) closes every descriptor here
            os.closerange(low, fd)
        low = fd + 1
    os.closerange(low, os.sysconf("SC_OPEN_MAX"))
