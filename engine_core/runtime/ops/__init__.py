"""What flows ask of the engine, handled on the dispatcher thread.

Each family of flow API calls lives in a module of its own (``children``, ``records``,
``locks``, ``forms``) and registers its requests here by name; the wire names are the ``op``
strings ``flow_api`` sends. A handler gets the :class:`Call` (who asks) and the payload, and
returns the reply, or ``DEFER`` when the reply is sent later (a wait)."""

from __future__ import annotations

import json
import logging
import time
from typing import TYPE_CHECKING, Any, Callable, NamedTuple

from flow_api import EngineException

from ... import events as ev
from ... import protocol, redact
from .. import control
from ..active import Active
from ..pool import Worker

if TYPE_CHECKING:  # pragma: no cover
    from ..dispatcher import Dispatcher

log = logging.getLogger(__name__)

DEFER = object()  # a request whose reply is sent later


class Call(NamedTuple):
    """One request from a flow: the worker it came from, its id, and the execution asking."""

    worker: Worker
    request_id: int
    caller: Active


Handler = Callable[..., Any]


class WorkerCalls:
    def __init__(self, dispatcher: "Dispatcher"):
        from . import children, forms, locks, records, timers

        self._d = dispatcher
        self._journal = dispatcher.journal
        self._handlers: dict[str, Handler] = {}
        families = [children, records, locks, forms, timers]
        try:
            from . import replay  # resume+replay's family (runtime/ops/replay.py), once it exists
        except ImportError:
            pass
        else:
            families.append(replay)
        for family in families:
            family.register(self, dispatcher)

    def add(self, op: str, handler: Handler) -> None:
        if op in self._handlers:
            raise ValueError(f"flow API request {op!r} registered twice")
        self._handlers[op] = handler

    def receive(self, worker: Worker, message: tuple) -> None:
        """A ``note`` or ``call`` message from a worker; a call's reply goes out after the commit."""
        if message[0] == protocol.NOTE:
            _, execution_id, op, payload = message
            self.note(execution_id, op, payload)
            return
        request_id, execution_id, op, payload = message[1:5]
        try:
            result = self.call(worker, request_id, execution_id, op, payload, message)
        except EngineException as exc:
            self._d.reply_error(worker, request_id, exc)
        except Exception as exc:  # a bug here must reach the flow as an error, not hang it
            log.exception("flow API call %s failed", op)
            self._d.reply(worker, request_id, False, ("InternalError", f"engine error in {op}: {exc}"))
        else:
            if result is not DEFER:
                self._d.reply(worker, request_id, True, result)

    def call(self, worker: Worker, request_id: int, execution_id: int, op: str, payload: dict,
             message: tuple = ()) -> Any:
        handler = self._handlers.get(op)
        if handler is None:
            raise EngineException(f"unknown flow API request {op!r}")
        caller = self._d.active.get(execution_id)
        if caller is None:
            raise EngineException(f"execution #{execution_id} is no longer running")
        if caller.durable:  # journaled: protocol.Call's seq, line, reattach follow the payload
            seq, line, reattach = (tuple(message[5:8]) + (None, None, False))[:3]
            reattached = self._journal.begin(worker, request_id, caller, op, payload, seq, line, bool(reattach))
            if reattached is not None:
                handler = reattached
        return handler(Call(worker, request_id, caller), **payload)

    # -- fire-and-forget notes ------------------------------------------------------------
    def note(self, execution_id: int, op: str, payload: dict) -> None:
        d = self._d
        active = d.active.get(execution_id)
        if active is None:
            return  # a note from an execution that was cancelled meanwhile
        now = time.time()
        if active.secrets:
            payload = _masked_note(op, payload, active.secrets)
        if op == "log":
            d.writer.append_log(execution_id, now, payload["level"], payload["text"], payload["fields"],
                                active.next_seq - 1 if active.durable else None)
            fields = json.loads(payload["fields"]) if payload["fields"] else None
            d.emit(ev.LogAppended(execution_id, payload["level"], payload["text"], fields, now))
        elif op == "message":
            message_id = d.writer.append_message(execution_id, now, payload["subject"], payload["message"])
            d.emit(ev.MessageAdded(execution_id, payload["subject"], payload["message"], now, message_id))
        elif op == "debug_listening":
            active.debug_address = (payload["host"], payload["port"])
            d.emit(ev.DebugListening(execution_id, payload["host"], payload["port"]))
        elif op == "journal_caught_up":  # a resumed execution's calls act for real again
            d.emit(ev.JournalCaughtUp(execution_id, payload.get("seq"), now))
            if active.repause:  # it was paused by a signal when its engine stopped
                active.repause = False
                control.pause_tree(d, active)
        elif op == "set_output":
            active.outputs.update(json.loads(payload["outputs"]))
            d.writer.set_outputs(execution_id, json.dumps(active.outputs, separators=(",", ":")))
            d.emit(ev.OutputChanged(execution_id, dict(active.outputs)))


def _masked_note(op: str, payload: dict, secrets: tuple[str, ...]) -> dict:
    """A connection's log line, message or outputs with its secret values masked: a connector
    (or the library under it) may log its URL or password."""
    masked = dict(payload)
    for key in {"log": ("text", "fields"), "message": ("subject", "message"), "set_output": ("outputs",)}.get(op, ()):
        if isinstance(masked.get(key), str):
            masked[key] = redact.mask(masked[key], secrets)
    return masked
