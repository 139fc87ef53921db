"""A Debug Adapter Protocol client over TCP: ``Content-Length`` framed JSON, requests matched
to responses by ``seq``, events handed to listeners. Thread-safe; a reader thread owns the
socket's input side."""

from __future__ import annotations

import itertools
import json
import logging
import socket
import threading
import time
from concurrent.futures import Future
from typing import Callable

from ..errors import FlowdeskError

log = logging.getLogger(__name__)

EventListener = Callable[[str, dict], None]


class DapError(FlowdeskError):
    """A request failed (the adapter said so, or the connection ended): a message for the
    user, not a bug (a variables read racing with the end of the session, say)."""


class DapClient:
    def __init__(self, host: str, port: int, *, connect_timeout: float = 10.0):
        self._sock = _connect(host, port, connect_timeout)
        self._sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        self._write_lock = threading.Lock()
        self._seq = itertools.count(1)
        self._pending: dict[int, Future] = {}
        self._commands: dict[int, str] = {}  # seq -> command, while its answer is pending
        self._listeners: list[EventListener] = []
        self._events: list[tuple[str, dict]] = []
        self._events_cond = threading.Condition()
        self.closed = False
        self._reader = threading.Thread(target=self._read_loop, name="dap-reader", daemon=True)
        self._reader.start()

    # -- requests -------------------------------------------------------------------------
    def send(self, command: str, arguments: dict | None = None) -> Future:
        """Send a request; the future resolves to the response body (or raises DapError)."""
        seq = next(self._seq)
        future: Future = Future()
        self._pending[seq] = future
        self._commands[seq] = command
        message = {"seq": seq, "type": "request", "command": command}
        if arguments is not None:
            message["arguments"] = arguments
        body = json.dumps(message).encode()
        try:
            with self._write_lock:
                self._sock.sendall(b"Content-Length: %d\r\n\r\n" % len(body) + body)
        except OSError as exc:
            self._pending.pop(seq, None)
            self._commands.pop(seq, None)
            future.set_exception(DapError(f"debugger connection lost while sending {command}: {exc}"))
        return future

    def request(self, command: str, arguments: dict | None = None, timeout: float = 15.0) -> dict:
        try:
            return self.send(command, arguments).result(timeout)
        except TimeoutError:
            raise DapError(f"the debugger did not answer {command} within {timeout:g} s") from None

    def fail_pending(self, commands: tuple[str, ...], reason: str) -> None:
        """Give up waiting for the answers to ``commands``: e.g. reads of a stopped state the
        flow has left (debugpy may never answer them once the thread runs on)."""
        for seq, command in list(self._commands.items()):
            if command in commands:
                self._commands.pop(seq, None)
                future = self._pending.pop(seq, None)
                if future is not None and not future.done():
                    future.set_exception(DapError(f"{command}: {reason}"))

    # -- events ---------------------------------------------------------------------------
    def add_listener(self, listener: EventListener) -> None:
        self._listeners.append(listener)

    def wait_event(self, name: str, timeout: float = 15.0, predicate: Callable[[dict], bool] | None = None,
                   *, after: int = 0) -> tuple[int, dict]:
        """Wait for event ``name`` seen at index >= ``after``; returns (index, body)."""
        deadline = time.monotonic() + timeout
        with self._events_cond:
            while True:
                for index in range(after, len(self._events)):
                    event, body = self._events[index]
                    if event == name and (predicate is None or predicate(body)):
                        return index, body
                remaining = deadline - time.monotonic()
                if remaining <= 0 or self.closed:
                    raise DapError(f"no '{name}' event from the debugger within {timeout:g} s")
                self._events_cond.wait(remaining)

    def event_count(self) -> int:
        with self._events_cond:
            return len(self._events)

    def close(self) -> None:
        self.closed = True
        try:
            self._sock.shutdown(socket.SHUT_RDWR)
        except OSError:
            pass
        self._sock.close()

    # -- reading --------------------------------------------------------------------------
    def _read_loop(self) -> None:
        buffer = b""
        try:
            while True:
                while b"\r\n\r\n" not in buffer:
                    buffer += self._recv()
                header, buffer = buffer.split(b"\r\n\r\n", 1)
                length = _content_length(header)
                while len(buffer) < length:
                    buffer += self._recv()
                body, buffer = buffer[:length], buffer[length:]
                self._dispatch(json.loads(body))
        except (OSError, ConnectionError, ValueError):
            pass
        finally:
            self.closed = True
            for future in list(self._pending.values()):
                if not future.done():
                    future.set_exception(DapError("the debugger connection closed"))
            self._pending.clear()
            self._commands.clear()
            with self._events_cond:
                self._events.append(("connection_closed", {}))
                self._events_cond.notify_all()
            self._notify("connection_closed", {})

    def _recv(self) -> bytes:
        chunk = self._sock.recv(65536)
        if not chunk:
            raise ConnectionError("closed")
        return chunk

    def _dispatch(self, message: dict) -> None:
        kind = message.get("type")
        if kind == "response":
            self._commands.pop(message.get("request_seq"), None)
            future = self._pending.pop(message.get("request_seq"), None)
            if future is None or future.done():
                return
            if message.get("success"):
                future.set_result(message.get("body") or {})
            else:
                detail = message.get("message") or (message.get("body") or {}).get("error", {}).get("format")
                future.set_exception(DapError(f"{message.get('command')}: {detail}"))
        elif kind == "event":
            name, body = message.get("event"), message.get("body") or {}
            with self._events_cond:
                self._events.append((name, body))
                self._events_cond.notify_all()
            self._notify(name, body)

    def _notify(self, name: str, body: dict) -> None:
        for listener in list(self._listeners):
            try:
                listener(name, body)
            except Exception:  # a listener's bug must not kill the reader
                log.exception("DAP event listener failed")


def _content_length(header: bytes) -> int:
    for line in header.split(b"\r\n"):
        key, _, value = line.partition(b":")
        if key.strip().lower() == b"content-length":
            return int(value)
    raise ValueError("DAP message without Content-Length")


def _connect(host: str, port: int, timeout: float) -> socket.socket:
    # The adapter may take a moment to accept after announcing its port.
    deadline = time.monotonic() + timeout
    while True:
        try:
            return socket.create_connection((host, port), timeout=timeout)
        except OSError:
            if time.monotonic() > deadline:
                raise DapError(f"cannot connect to the debugger at {host}:{port}") from None
            time.sleep(0.02)
