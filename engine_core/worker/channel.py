"""The worker's end of the flow API channel: requests to the engine over the pipe."""

from __future__ import annotations

import itertools
import select
import sys
from multiprocessing.connection import Connection
from typing import Any, Callable

import flow_api
from flow_api import errors as api_errors

from .. import protocol
from .cancel import uninterrupted


# Request ids are unique per process, not per channel: inline children nest channels on one pipe.
_request_ids = itertools.count(1)


class EngineGone(SystemExit):
    """The engine closed the pipe: there is nobody left to report to."""


class PipeChannel:
    """One execution's channel. ``seq`` counts its flow API calls (the journal's seq: inline
    children nest channels, so each has its own count); ``flow_path`` is the flow's file, whose
    line that made a call travels with it."""

    def __init__(self, conn: Connection, execution_id: int,
                 run_inline: Callable[[dict, Any], dict] | None = None, flow_path: str | None = None):
        self._conn = conn
        self.execution_id = execution_id
        self._run_inline = run_inline
        self.flow_path = flow_path
        self.seq = 0
        # One poll object for the channel's life: Connection.poll() builds a selector per call.
        self._readable = select.poll()
        self._readable.register(conn.fileno(), select.POLLIN)

    def call(self, op: str, **payload: Any) -> Any:
        self.seq += 1
        return self.request(op, payload, self.seq, self.line())

    def next_seq(self) -> int:
        self.seq += 1
        return self.seq

    def line(self) -> int | None:
        """The line of the flow file that made the current call: the innermost frame of that
        file, walking up from the caller (flow_api's frames and the flow's own helpers in
        other modules are skipped)."""
        path = self.flow_path
        if path is None:
            return None
        frame = sys._getframe(2)
        while frame is not None:
            if frame.f_code.co_filename == path:
                return frame.f_lineno
            frame = frame.f_back
        return None

    def request(self, op: str, payload: dict, seq: int = 0, line: int | None = None,
                reattach: bool = False) -> Any:
        """Send one call and wait for its reply (the engine's answer, or an inline child run here)."""
        request_id = next(_request_ids)
        self._send((protocol.CALL, request_id, self.execution_id, op, payload, seq, line, reattach))
        while True:
            try:
                # Waiting (poll) may be cut short by a cancel; reading a message may not.
                self._readable.poll()
                with uninterrupted():
                    message = self._conn.recv()
            except EOFError:
                raise EngineGone(3) from None
            if message[0] == protocol.REPLY and message[1] == request_id:
                _, _, ok, value = message
                if not ok:
                    raise _api_error(*value)
                if isinstance(value, dict) and "inline" in value and self._run_inline is not None:
                    spec = value["inline"]
                    return self._run_inline(spec, value.get("journal") or spec.get("journal"))
                return value
            if message[0] == protocol.STOP:
                raise EngineGone(0)

    def notify(self, op: str, **payload: Any) -> None:
        self._send((protocol.NOTE, self.execution_id, op, payload))

    def _send(self, message: tuple) -> None:
        try:
            with uninterrupted():
                protocol.send(self._conn.fileno(), message)
        except (BrokenPipeError, OSError):
            raise EngineGone(3) from None


def _api_error(class_name: str, message: str) -> Exception:
    cls = getattr(api_errors, class_name, None)
    if isinstance(cls, type) and issubclass(cls, flow_api.FlowApiError):
        return cls(message)
    return flow_api.FlowApiError(message)
