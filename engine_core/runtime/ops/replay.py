"""A replay's own requests: running a recorded child again, and the end of the recording.

A replay (``Engine.replay``) runs a stored execution's handler again with every flow API call
answered from its journal in the worker, so none of these reach settings, files, forms, locks
or connectors. Two requests do reach the engine:

- ``replay_child {original}``: the recording says the flow started child ``original``. The
  engine makes an inline row for it (parent: the replay; ``replay_of``: the original child)
  and answers ``{"inline": spec, "journal": plan}``: the worker runs the child's handler in its
  own process against the child's own journal, so Step In on ``this.flow(...)`` lands in the
  child's handler. A child that never ran is not run: its row ends at once, recorded.
- ``journal_end {seq, line, reason}``: the handler made a call the recording has no answer
  for (the code changed, or the recording ended there). The replay is paused with a message
  and :class:`~engine_core.events.JournalEnded` until ``Engine.continue_replay``: live (the call
  and every later one act for real, under the replay's id) or stop (the engine cancels the
  replay with "replay stopped at the end of the recording").
"""

from __future__ import annotations

import time
from typing import TYPE_CHECKING

from flow_api import ResourceNotFoundError

from ... import events as ev
from ... import journal_keys, protocol
from ...errors import UnknownFlowError, UsageError
from ...status import TERMINAL
from .. import control
from ..active import Active
from ..waits import Parked
from . import DEFER, Call

if TYPE_CHECKING:  # pragma: no cover
    from ..dispatcher import Dispatcher
    from . import WorkerCalls

RECORDED_NOT_RUN = "recorded (not run in a replay)"
STOPPED_MESSAGE = "replay stopped at the end of the recording"


def end_message(seq: int, line: int | None, reason: str) -> str:
    where = f"call {seq} (line {line})" if line is not None else f"call {seq}"
    return f"replay reached the end of the recording at {where}: {reason}"


class Replays:
    def __init__(self, d: "Dispatcher"):
        self._d = d
        self._ended: dict[int, tuple[Parked, Active]] = {}  # execution id -> its parked journal_end
        self.live_after: set[int] = set()  # replays that go on live at the end without asking

    # -- requests from a replay's worker ----------------------------------------------------------
    def replay_child(self, call: Call, *, original):
        d = self._d
        parent = call.caller
        row = d.writer.execution_fields(original)
        if row is None:
            raise ResourceNotFoundError(f"there is no execution #{original} to replay")
        if row["kind"] != "flow" or row["started_at"] is None:
            # A connection, or a child that never ran: shown in the replay's tree, not run.
            child = d.create(flow=row["flow"], name=row["name"], kind=row["kind"], inputs=row["inputs"],
                             mode=parent.mode, parent=parent, path=None, source=None, inline=True,
                             replay_of=original)
            status = row["status"] if row["status"] in TERMINAL else "cancelled"
            d.finish(child, status, RECORDED_NOT_RUN)
            return child.summary(RECORDED_NOT_RUN)
        try:
            path, source = d.workspace.read_flow(row["flow"])
        except UnknownFlowError as exc:
            raise ResourceNotFoundError(f"the recorded child #{original} cannot be replayed: {exc}") from None
        from ..resume import plan_for

        plan = plan_for(d.writer, d.workspace, original, journal_keys.REPLAY)
        child = d.create(flow=row["flow"], name=row["name"], kind="flow", inputs=row["inputs"], mode=parent.mode,
                         parent=parent, path=str(path), source=source, inline=True, replay_of=original)
        if parent.id in self.live_after:
            self.live_after.add(child.id)
        d.set_status(child, "running")
        spec = {"id": child.id, "kind": "flow", "target": child.flow, "path": child.path, "source": child.source,
                "inputs": child.worker_inputs, "label": child.label, "journal": plan}
        return {"inline": spec, "journal": plan}

    def journal_end(self, call: Call, *, seq, line=None, reason=""):
        d = self._d
        active = call.caller
        if active.id in self.live_after:
            return {"live": True}
        message = end_message(seq, line, reason)
        parked = Parked(call.worker, call.request_id)
        parked.park()
        self._ended[active.id] = (parked, active)
        d.set_status(active, "paused", message)
        d.emit(ev.JournalEnded(active.id, seq, line, message, time.time()))
        return DEFER

    # -- the user's answer (Engine.continue_replay) -----------------------------------------------
    def continue_(self, execution_id: int, live: bool) -> str:
        """Answer the replay paused at the end of its recording (``execution_id``: it, or any
        execution of its tree). Returns the status it goes on with."""
        d = self._d
        found = self._ended.pop(execution_id, None)
        if found is None:
            root = d.active.get(execution_id)
            for key, (parked, active) in list(self._ended.items()):
                if root is not None and active.root_id == root.root_id:
                    found = self._ended.pop(key)
                    break
        if found is None:
            raise UsageError(f"execution #{execution_id} is not a replay waiting at the end of its recording")
        parked, active = found
        if parked.done or d.active.get(active.id) is not active:
            raise UsageError(f"execution #{execution_id} has ended meanwhile")
        if not live:
            # Ended by the engine, not left to the worker: a debugged replay may be stopped in
            # the debugger (its worker is killed at once; another one gets the cancel signal).
            parked.done = True
            control.cancel_tree(d, active, STOPPED_MESSAGE)
            return "cancelled"
        parked.answer(d, {"live": True})
        self.live_after.add(active.id)
        if active.status == "paused":
            d.set_status(active, "running", "replay continues live: its calls act for real from here")
        return active.status

    def on_end(self, execution: Active) -> None:
        self._ended.pop(execution.id, None)
        self.live_after.discard(execution.id)


def register(calls: "WorkerCalls", d: "Dispatcher") -> Replays:
    table = Replays(d)
    calls.add(protocol.REPLAY_CHILD, table.replay_child)
    calls.add(protocol.JOURNAL_END, table.journal_end)
    d.on_end.append(table.on_end)
    d.replays = table  # Engine.continue_replay answers through it
    return table


__all__ = ["RECORDED_NOT_RUN", "STOPPED_MESSAGE", "Replays", "end_message", "register"]
