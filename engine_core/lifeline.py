"""Helper processes (flow workers, the IDE's analysis process) end when the process that
started them is gone, even while busy: nothing of Flowdesk outlives a crash of its owner."""

from __future__ import annotations

import os
import threading
import time


def owner_gone(owner_pid: int) -> bool:
    """True once ``owner_pid`` has exited. A dead process that its parent has not reaped yet
    (a zombie) still answers ``kill(pid, 0)``: its state in /proc says it is gone."""
    try:
        os.kill(owner_pid, 0)
    except ProcessLookupError:
        return True
    except PermissionError:
        return False
    try:
        with open(f"/proc/{owner_pid}/stat", "rb") as stat:
            # "pid (comm) S ...": comm may hold spaces and parentheses, the state follows the last ")".
            return stat.read().rpartition(b")")[2].split()[0] in (b"Z", b"X")
    except (OSError, IndexError):
        return False  # no /proc (macOS): kill(pid, 0) is all there is


def exit_when_gone(owner_pid: int, interval: float = 1.0) -> None:
    def watch() -> None:
        while True:
            time.sleep(interval)
            if owner_gone(owner_pid):
                os._exit(0)

    threading.Thread(target=watch, name="flowdesk-lifeline", daemon=True).start()
