"""A wake-up address per engine: a datagram socket the dispatcher waits on with its workers.

Another process (``flowdesk cancel``/``respond``/``resume`` in a shell) writes its request to
the database and then sends one byte here, so the engine acts on it at once instead of at its
next poll of the database (every 0.25 s; the poll stays, for platforms without Unix sockets
and for a poke that is lost)."""

from __future__ import annotations

import os
import socket
import tempfile


class WakeSocket:
    def __init__(self) -> None:
        self.path: str | None = None
        self._sock: socket.socket | None = None
        if not hasattr(socket, "AF_UNIX"):
            return
        directory = tempfile.mkdtemp(prefix="flowdesk-")
        path = os.path.join(directory, "wake")
        sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
        try:
            sock.bind(path)
        except OSError:
            sock.close()
            return
        sock.setblocking(False)
        self._sock, self.path = sock, path

    def fileno(self) -> int:
        return self._sock.fileno() if self._sock is not None else -1

    @property
    def waitable(self):
        return self._sock

    def drain(self) -> None:
        if self._sock is None:
            return
        try:
            while self._sock.recv(64):
                pass
        except (BlockingIOError, OSError):
            pass

    def close(self) -> None:
        if self._sock is None:
            return
        self._sock.close()
        self._sock = None
        for remove in (lambda: os.unlink(self.path), lambda: os.rmdir(os.path.dirname(self.path))):
            try:
                remove()
            except OSError:
                pass


def poke(path: str | None) -> None:
    """Wake the engine listening at ``path``; silently nothing if it is gone."""
    if not path or not hasattr(socket, "AF_UNIX"):
        return
    try:
        with socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM) as sock:
            sock.sendto(b"!", path)
    except OSError:
        pass
