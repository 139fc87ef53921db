"""Helper processes (flow workers, the IDE's analysis process) end when the process that
started them is gone, even while busy: nothing of Flowdesk outlives a crash of its owner."""

from __future__ import annotations

import os
import sys
import threading
import time


def alive(pid: int) -> bool:
    """Whether process ``pid`` is still running. A process that has ended but was not reaped
    by its parent yet (a zombie) still answers ``kill(pid, 0)``: its state in /proc says it
    is gone."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True  # someone else's process: running
    try:
        with open(f"/proc/{pid}/stat", "rb") as stat:
            # "pid (comm) S ...": comm may hold spaces and parentheses, the state follows the last ")".
            return stat.read().rpartition(b")")[2].split()[0] not in (b"Z", b"X")
    except (OSError, IndexError):
        # No entry on Linux: it ended just now. Elsewhere (no /proc) kill(pid, 0) is all there is.
        return not sys.platform.startswith("linux")


def owner_gone(owner_pid: int) -> bool:
    return not alive(owner_pid)


def exit_when_gone(owner_pid: int, interval: float = 1.0) -> None:
    def watch() -> None:
        while True:
            time.sleep(interval)
            if owner_gone(owner_pid):
                os._exit(0)

    threading.Thread(target=watch, name="flowdesk-lifeline", daemon=True).start()
