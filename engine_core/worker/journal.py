"""Answering an execution's first flow API calls from its journal (resume, replay).

:class:`JournalChannel` sits in front of the execution's :class:`PipeChannel`. The handler runs
again from its start; each call it makes is compared with the journal's entry of the same
number by its names, ``(op, target)`` — arguments that differ alone are not a divergence, since
code between calls runs again (``time.time()`` in an input). A recorded answer is returned (a
recorded error raised again) without asking the engine. The journal's last entry may be
*pending* (the call was asked, never answered: a child running, a sleep, a form): that call goes
to the engine with ``reattach=True``, and the engine waits again for what it waited on.
When the journal is exhausted, a resume continues live; a replay asks the engine what to do
(``journal_end``: continue live, or stop).

A resume drops notes (log lines, messages, outputs) while the journal answers: they were stored
the first time. After the last entry, the first ``note_skip`` log lines are dropped as well (the
lines the flow logged after its last call, before the engine stopped). A replay sends every note:
they go to the replay's own row.
"""

from __future__ import annotations

import hashlib
import os
from typing import Any

import flow_api

from .. import journal_keys, protocol
from ..journal_keys import JournalPlan
from .channel import PipeChannel, _api_error

_START_OPS = ("start_flow", "start_connector")  # a replay shows (flows: replays) the recorded child


class JournalChannel:
    def __init__(self, inner: PipeChannel, plan: JournalPlan, flow_name: str | None = None):
        self._inner = inner
        self._plan = plan
        self._entries = plan.entries
        self._i = 0
        self._flow_name = flow_name
        self.execution_id = inner.execution_id
        # A resume drops notes while the journal answers (they were stored the first time); a
        # replay keeps them: its logs and outputs are the replay's own row's.
        self.answering = bool(plan.entries) and plan.mode == journal_keys.RESUME
        self._note_skip = plan.note_skip if plan.mode == journal_keys.RESUME else 0
        self._caught = False
        self._live = False  # a replay told to continue live: plain channel from here on
        self.diverged: str | None = None

    # -- calls ---------------------------------------------------------------------------------
    def call(self, op: str, **payload: Any) -> Any:
        if self.diverged is not None:  # nothing acts after a divergence
            raise flow_api.ExecutionError(self.diverged)
        inner = self._inner
        if self._live:
            return inner.call(op, **payload)
        seq = inner.next_seq()
        line = inner.line()
        if self._i < len(self._entries):
            entry = self._entries[self._i]
            target = journal_keys.target_of(op, payload, self.execution_id)
            if entry.op != op or entry.target != target:
                return self._differs(entry, op, payload, seq, line)
            self._i += 1
            if entry.state == journal_keys.DONE:
                if self._i == len(self._entries):
                    self._caught_up(seq)
                return self._recorded(entry)
            # The last entry, still pending: the engine waits again for what it waited on.
            self._caught_up(seq)
            if self._plan.mode == journal_keys.REPLAY:
                return self._journal_end(op, payload, seq, line, "the recording ends waiting for this call")
            return inner.request(op, payload, seq, line, True)
        self._caught_up(seq)
        if self._plan.mode == journal_keys.REPLAY:
            return self._journal_end(op, payload, seq, line, "the recording ends here")
        return inner.request(op, payload, seq, line)

    def notify(self, op: str, **payload: Any) -> None:
        if self.answering:
            return
        if self._note_skip and op == "log":
            self._note_skip -= 1
            return
        self._inner.notify(op, **payload)

    # -- helpers --------------------------------------------------------------------------------
    def _recorded(self, entry: journal_keys.Entry) -> Any:
        value = journal_keys.decode_result(entry.result)
        if not entry.ok:
            class_name, message = value if isinstance(value, (list, tuple)) and len(value) == 2 \
                else ("FlowApiError", str(value))
            raise _api_error(class_name, message)
        if self._plan.mode == journal_keys.REPLAY and entry.op in _START_OPS:
            return self._replay_child(value)
        if entry.op == "file_read" and isinstance(value, dict) and "$too_big" in value:
            return self._read_again(entry, value)
        return value

    def _read_again(self, entry: journal_keys.Entry, recorded: dict) -> bytes:
        """A file_read answer over 16 MB is journaled as its sha256: read it again (seq 0: not
        journaled again) and check it is the same file content."""
        data = self._inner.request("file_read", {"name": entry.target})
        if hashlib.sha256(data if isinstance(data, bytes) else str(data).encode()).hexdigest() != recorded["$too_big"]:
            raise flow_api.ExecutionError(
                f"file {entry.target!r} changed since call {entry.seq} read it ({recorded.get('size')} bytes then); "
                "its content was too big to journal, so it cannot be answered from the journal")
        return data

    def _replay_child(self, recorded: Any) -> Any:
        """A replay's recorded child: the engine makes an inline row for it and a flow child
        replays its own journal here (Step In lands in its handler); the recorded answer is
        returned, whatever the replayed child did."""
        if not isinstance(recorded, dict):
            return recorded
        inline = recorded.get("inline")
        original = inline.get("id") if isinstance(inline, dict) else recorded.get("id")
        if original is None:
            return recorded
        try:
            ran = self._inner.request(protocol.REPLAY_CHILD, {"original": original})
        except flow_api.EngineException as exc:
            if "unknown flow API request" in str(exc):  # an engine without replays of children
                return recorded if inline is None else _summary_of(inline)
            raise
        if inline is not None:  # recorded as an inline child: its summary, under the original id
            return dict(ran, id=original) if isinstance(ran, dict) else _summary_of(inline)
        return recorded

    def _caught_up(self, seq: int) -> None:
        """The journal has answered all it holds (sent once; ``seq``: its last entry's)."""
        self.answering = False
        if not self._caught:
            self._caught = True
            self._inner.notify(protocol.JOURNAL_CAUGHT_UP, seq=self._entries[-1].seq if self._entries else 0)

    def _journal_end(self, op: str, payload: dict, seq: int, line: int | None, reason: str) -> Any:
        """A replay has no recorded answer for this call: the engine pauses the replay and asks
        the user; live → the call (and every later one) acts for real, under the replay's id."""
        self.answering = False
        answer = self._inner.request(protocol.JOURNAL_END, {"seq": seq, "line": line, "reason": reason})
        if not _live(answer):
            raise flow_api.ExecutionCancel("replay stopped at the end of the recording")
        self._live = True
        return self._inner.request(op, payload, seq, line)

    def _differs(self, entry: journal_keys.Entry, op: str, payload: dict, seq: int, line: int | None) -> Any:
        message = differs_message(self._flow_name, self.execution_id, entry, op, payload, seq, line,
                                  self._inner.flow_path, self._plan.secrets)
        if self._plan.mode == journal_keys.REPLAY:
            self._caught_up(seq)
            return self._journal_end(op, payload, seq, line, message)
        self.diverged = message
        raise flow_api.ExecutionError(message)


def _short(path: str) -> str:
    """flows/Deploy.py rather than the whole path."""
    head, name = os.path.split(path)
    return f"{os.path.basename(head)}/{name}" if head else name


def _live(answer: Any) -> bool:
    if isinstance(answer, dict):
        return bool(answer.get("live"))
    return answer is True or answer == "live"


def _summary_of(spec: dict) -> dict:
    return {"id": spec.get("id"), "status": spec.get("status"), "message": spec.get("message"),
            "label": spec.get("label")}


def differs_message(flow_name: str | None, execution_id: int, entry: journal_keys.Entry, op: str,
                    payload: dict, seq: int, line: int | None, flow_path: str | None = None,
                    secrets: tuple = ()) -> str:
    """The error of a resumed execution whose flow no longer makes the calls its journal holds:
    which call, what it was and where, what it is now and where, and what was (not) done."""
    _, _, args = journal_keys.identify(op, payload, execution_id, secrets)
    who = f"{flow_name!r} (#{execution_id})" if flow_name else f"#{execution_id}"
    was = journal_keys.describe(entry.op, entry.args, entry.line)
    now = journal_keys.describe(op, args, line)
    if was.split(" at line ")[0] == now.split(" at line ")[0]:  # same text: the names tell apart
        was += f" [{entry.op} {entry.target!r}]"
        now += f" [{op} {journal_keys.target_of(op, payload, execution_id)!r}]"
    answered = entry.seq - 1 if entry.seq else seq - 1
    if answered <= 0:
        before = "No call was answered from the journal"
    elif answered == 1:
        before = "Call 1 was answered from the journal and not repeated"
    else:
        before = f"Calls 1-{answered} were answered from the journal and not repeated"
    where = f" Was {_short(flow_path)} edited since it ran?" if flow_path else " Was the flow edited since it ran?"
    return (f"call differs: {who} no longer makes the flow API calls it made before the engine stopped."
            f" Call {entry.seq or seq} was {was}; now it is {now}.{where}"
            f" {before}; nothing from call {entry.seq or seq} on was done.")
