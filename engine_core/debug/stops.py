"""Which of debugpy's stops the user gets to see.

debugpy stops wherever Python reports a line; two kinds of those stops are no stop a user asked
for: Step In on ``this.flow(...)`` first lands in the child's module code (``import flow_api``,
line 1), and a statement written over several lines reports its first line again after its
other lines ran (see ``statements``). The session asks ``review`` about each stop and carries on
with the user's command where the answer says so. One-shot breakpoints (Run to Cursor, and the
handler's first line for Step In into a flow) live here too: they go at the next stop shown."""

from __future__ import annotations

from typing import TYPE_CHECKING

from .dap_client import DapError
from .statements import handler_first_line, multi_line_statement

if TYPE_CHECKING:  # pragma: no cover
    from .session import DebugSession, Frame


class StopReview:
    def __init__(self, session: "DebugSession"):
        self._session = session
        self.last_command: str | None = None  # the resume that led to the coming stop
        self._shown: tuple[list, tuple[int, int] | None] | None = None  # last stop shown: frames, statement
        self._step_target: tuple[str, int] | None = None  # Step In into a flow: its handler's first line
        self._one_shot_path: str | None = None  # the file holding a one-shot breakpoint

    def review(self, reason: str) -> tuple[str, str | None]:
        """(the stop's reason as the user should see it, the command to carry on with, or None
        to show the stop)."""
        if self._step_target is not None:
            return self._arrived_at_step_target(reason), None
        if reason in ("step", "breakpoint"):
            return reason, self._carry_on(reason)
        return reason, None

    def shown(self, frames: list["Frame"]) -> None:
        top = frames[0] if frames else None
        self._shown = ([(f.path, f.name) for f in frames], multi_line_statement(top.path, top.line) if top else None)

    def _carry_on(self, reason: str) -> str | None:
        """The command to carry on with if this stop is not one the user should see, else None:
        - Step In into a flow stops first in its module's top-level code (``import flow_api``);
          the user asked for its handler, so run to the handler's first line;
        - a statement written over several lines reports its lines again as it runs them (see
          ``statements``): a stop that did not leave the statement is no new stop."""
        frames = self._session.stack()
        if not frames:
            return None
        top = frames[0]
        if reason == "step" and self.last_command == "stepIn" and top.flow and top.name == "<module>":
            target = handler_first_line(top.path)
            if target is not None and target != top.line:
                self._step_target = (top.path, target)
                self.one_shot(top.path, target)
                return "continue"
        span = multi_line_statement(top.path, top.line)
        if span is None:
            return None
        same_frame = (self._shown is not None and self._shown[1] == span
                      and self._shown[0] == [(f.path, f.name) for f in frames])
        carry_on = self.last_command or "continue"
        if top.line != span[0]:
            # One of the statement's later lines: a step that has not left it yet.
            return carry_on if reason == "step" and same_frame else None
        if reason == "step" and not same_frame:
            return None  # stepped here from another statement (or out of a callee): a real stop
        if self._entered_at_start(top, span):
            return None
        return carry_on

    def _entered_at_start(self, frame: "Frame", span: tuple[int, int]) -> bool:
        expression = (f"__import__('engine_core.debug.statements', fromlist=['_'])"
                      f".entered_at_start({frame.path!r}, {span[0]}, {span[1]})")
        try:
            body = self._session.client.request("evaluate", {"expression": expression, "frameId": frame.id,
                                                             "context": "watch"}, timeout=5.0)
        except DapError:
            return True  # cannot tell: one stop too many beats a stop skipped
        return body.get("result") != "False"

    def _arrived_at_step_target(self, reason: str) -> str:
        """After Step In into a flow ran on to its handler: the stop there is the step's (any
        other stop on the way is what it is)."""
        path, line = self._step_target
        self._step_target = None
        frames = self._session.stack()
        if reason == "breakpoint" and frames and (frames[0].path, frames[0].line) == (path, line):
            return "step"
        return reason

    def one_shot(self, path: str, line: int) -> None:
        """A breakpoint at ``line`` of ``path`` until the next stop the user is shown (Run to
        Cursor; Step In into a flow runs on to its handler with one). Not waited for: requests
        are handled in order, so it applies before the resume that follows."""
        self.clear_one_shot()
        self._one_shot_path = path
        self._set_breakpoints(path, self._session.breakpoints_of(path) + [{"line": line}])

    def clear_one_shot(self) -> None:
        if self._one_shot_path is not None:
            path, self._one_shot_path = self._one_shot_path, None
            self._set_breakpoints(path, self._session.breakpoints_of(path))

    def _set_breakpoints(self, path: str, specs: list[dict]) -> None:
        self._session.client.send("setBreakpoints", {"source": {"path": path}, "breakpoints": specs})
