"""Signalling a process together with what it started: its process group."""

from __future__ import annotations

import os


def signal_group(pid: int, sig: int) -> bool:
    """Send ``sig`` to the process group that ``pid`` leads (a flow, a shell command or a warm
    command made its own with setsid/setpgid, and what it started is in it); to the process
    alone if it has not got that far. False if neither is there any more."""
    for send in (os.killpg, os.kill):
        try:
            send(pid, sig)
            return True
        except OSError:
            continue
    return False
