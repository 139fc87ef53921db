"""Forms: ``this.message(subject, body=FORM)``, ``system.message(...)``, ``message.wait()``,
and their answers (``Engine.respond`` in this process; ``flowdesk respond`` in another, which
writes the answer to the database and wakes this engine).

A flow waiting for an answer is *paused*: its worker is blocked (it does not count against
``max_workers``) and the tree shows it waiting. A form its execution created is cancelled
when that execution ends in error or is cancelled; one it only waited for stays open (the
"delayed start" idiom: one execution asks, another waits for the answer)."""

from __future__ import annotations

import json
import time
from dataclasses import dataclass
from typing import TYPE_CHECKING

from flow_api import InvalidInputError, ResourceNotFoundError

from ... import events as ev
from ... import forms
from ...errors import UsageError
from ..active import Active
from ..waits import Parked
from . import DEFER, Call

if TYPE_CHECKING:  # pragma: no cover
    from ..dispatcher import Dispatcher
    from . import WorkerCalls


@dataclass(eq=False)
class _FormWaiter(Parked):
    execution: Active
    message_id: int


class Forms:
    def __init__(self, d: "Dispatcher"):
        self._d = d
        self._waiters: dict[int, list[_FormWaiter]] = {}  # message id -> flows waiting for it

    # -- requests from flows ---------------------------------------------------------------
    def create(self, call: Call, *, id, subject, message, form):
        d = self._d
        owner = d.active.get(id, call.caller)
        form_dict = None if form is None else json.loads(form)
        if form_dict is not None:
            try:
                forms.parse_form(form_dict)
            except UsageError as exc:
                raise InvalidInputError(f"form {subject!r}: {exc}") from None
        now = time.time()
        message_id = d.writer.append_message(owner.id, now, subject, message, form=form)
        d.emit(ev.MessageAdded(owner.id, subject, message, now, message_id, form_dict))
        return message_id

    def get(self, call: Call, *, id):
        record = self._d.writer.message(id)
        if record is None:
            raise ResourceNotFoundError(f"there is no message #{id}")
        return record

    def wait(self, call: Call, *, id, timeout=None):
        d = self._d
        record = self.get(call, id=id)
        if record["state"] != "open":
            return record
        waiter = _FormWaiter(call.worker, call.request_id, call.caller, id)
        self._waiters.setdefault(id, []).append(waiter)
        waiter.park()
        d.journal.ref(call, message=id)
        if call.caller.status == "running":
            d.set_status(call.caller, "paused", f"waiting for an answer to {record['subject']!r} (message #{id})")
        if timeout is not None:
            d.waits.add_timer(time.monotonic() + float(timeout), lambda: self._wake(waiter))
        return DEFER

    # -- answers ------------------------------------------------------------------------------
    def respond(self, message_id: int, response: dict) -> dict:
        """Validate and store a person's answer; wake the flows waiting for it. Runs on the
        dispatcher thread (``Engine.respond``)."""
        d = self._d
        record = d.writer.message(message_id)
        if record is None:
            raise LookupError(f"there is no message #{message_id}")
        answer = forms.answer_for(message_id, record, response)
        now = time.time()
        d.writer.answer_message(message_id, answer, now)
        d.emit(ev.FormAnswered(record["execution_id"], message_id, answer, now))
        self._answered(message_id)
        return {**record, "response": answer, "state": "answered", "answered_at": now}

    def poll(self) -> None:
        """Answers written by another process (``flowdesk respond``)."""
        if not self._waiters:
            return
        for record in self._d.writer.messages_answered(list(self._waiters)):
            self._d.emit(ev.FormAnswered(record["execution_id"], record["id"], record["response"],
                                         record["answered_at"] or time.time()))
            self._answered(record["id"])

    def on_end(self, execution: Active) -> None:
        for message_id, waiters in list(self._waiters.items()):
            waiters[:] = [w for w in waiters if w.execution is not execution]
            if not waiters:
                del self._waiters[message_id]
        if execution.status in ("error", "cancelled"):
            now = time.time()
            for message_id in self._d.writer.cancel_open_forms(execution.id, now):
                self._d.emit(ev.FormAnswered(execution.id, message_id, None, now, state="cancelled"))

    # -- internals ------------------------------------------------------------------------
    def _answered(self, message_id: int) -> None:
        for waiter in self._waiters.pop(message_id, []):
            self._wake(waiter)

    def _wake(self, waiter: _FormWaiter) -> None:
        d = self._d
        if waiter.done or waiter.execution.id not in d.active:
            return
        waiting = self._waiters.get(waiter.message_id)
        if waiting and waiter in waiting:
            waiting.remove(waiter)
            if not waiting:
                del self._waiters[waiter.message_id]
        waiter.answer(d, d.writer.message(waiter.message_id))
        if waiter.execution.status == "paused" and not waiter.execution.paused_by_signal:
            d.set_status(waiter.execution, "running")


def register(calls: "WorkerCalls", d: "Dispatcher") -> Forms:
    table = Forms(d)
    calls.add("message_create", table.create)
    calls.add("message_get", table.get)
    calls.add("message_wait", table.wait)
    d.on_end.append(table.on_end)
    d.on_poll.append(table.poll)
    d.forms = table
    return table
