"""Helper processes (flow workers, the IDE's analysis process) end when the process that
started them is gone, even while busy: nothing of Flowdesk outlives a crash of its owner."""

from __future__ import annotations

import os
import threading
import time


def exit_when_gone(owner_pid: int, interval: float = 1.0) -> None:
    def watch() -> None:
        while True:
            time.sleep(interval)
            try:
                os.kill(owner_pid, 0)
            except ProcessLookupError:
                os._exit(0)
            except PermissionError:
                pass

    threading.Thread(target=watch, name="flowdesk-lifeline", daemon=True).start()
