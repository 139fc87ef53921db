"""The processes behind a debug session, looked up on the machine rather than trusted to end.

debugpy's adapter daemonises itself (it leaves the worker's process group and session), so
killing a worker's process group never reaches it. It ends by itself once both its client and
the debuggee are gone; this finds it by the loopback port it serves, for the case it does not."""

from __future__ import annotations

import os
import signal
import sys
import time

_LISTEN = "0A"  # TCP state LISTEN in /proc/net/tcp


def listener_pid(port: int) -> int | None:
    """The pid of the process of ours that listens on loopback ``port``; None if there is
    none (or this is not Linux)."""
    inode = _listening_inode(port)
    if inode is None:
        return None
    target = f"socket:[{inode}]"
    uid = os.getuid()
    for name in os.listdir("/proc"):
        if not name.isdigit():
            continue
        try:
            if os.stat(f"/proc/{name}").st_uid != uid:
                continue
            for fd in os.listdir(f"/proc/{name}/fd"):
                if os.readlink(f"/proc/{name}/fd/{fd}") == target:
                    return int(name)
        except OSError:
            continue  # it ended meanwhile, or is not ours to look at
    return None


def _listening_inode(port: int) -> str | None:
    if not sys.platform.startswith("linux"):
        return None
    wanted = f":{port:04X}"
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        try:
            with open(table, encoding="ascii") as file:
                next(file, None)
                for row in file:
                    fields = row.split()
                    if len(fields) > 9 and fields[1].endswith(wanted) and fields[3] == _LISTEN:
                        return fields[9]
        except OSError:
            continue
    return None


def end_listener(port: int, within: float) -> None:
    """Give the process serving ``port`` ``within`` seconds to end by itself, then kill it."""
    deadline = time.monotonic() + within
    while _listening_inode(port) is not None and time.monotonic() < deadline:
        time.sleep(0.02)
    pid = listener_pid(port)
    if pid is not None and pid != os.getpid():
        try:
            os.kill(pid, signal.SIGKILL)
        except OSError:
            pass
