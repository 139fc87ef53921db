"""The worker's end of the flow API channel: requests to the engine over the pipe."""

from __future__ import annotations

import itertools
import select
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
    def __init__(self, conn: Connection, execution_id: int, run_inline: Callable[[dict], dict] | None = None):
        self._conn = conn
        self.execution_id = execution_id
        self._run_inline = run_inline
        # One poll object for the channel's life: Connection.poll() builds a selector per call.
        self._readable = select.poll()
        self._readable.register(conn.fileno(), select.POLLIN)

    def call(self, op: str, **payload: Any) -> Any:
        request_id = next(_request_ids)
        self._send((protocol.CALL, request_id, self.execution_id, op, payload))
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
                    return self._run_inline(value["inline"])
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
