"""Drives one DebugSession for the IDE: every DAP round trip runs off the GUI thread, and what
the session reports comes back as Qt signals on the GUI thread."""

from __future__ import annotations

import logging

from typing import Any, Callable

from PySide6.QtCore import QObject, Signal

from engine_core.debug import DebugSession, Frame, StopInfo

from ..engine_bridge import EngineBridge
from ..tasks import call_on_gui_thread, run_in_background


log = logging.getLogger(__name__)


class DebugController(QObject):
    started = Signal(int)  # the root execution being debugged
    stopped = Signal(object, list)  # StopInfo, [Frame] (innermost first)
    resumed = Signal()
    ended = Signal()
    output = Signal(str)
    failed = Signal(str)
    journalEnded = Signal(object)  # events.JournalEnded: a replay reached its recording's end (paused)

    def __init__(self, bridge: EngineBridge, parent=None):
        super().__init__(parent)
        self._bridge = bridge
        self.session: DebugSession | None = None
        self.stop_info: StopInfo | None = None
        self.frames: list[Frame] = []

    @property
    def active(self) -> bool:
        return self.session is not None

    @property
    def is_stopped(self) -> bool:
        return self.stop_info is not None

    # -- lifecycle ------------------------------------------------------------------------
    # Everything a session reports is tied to that session: a late event of a session that
    # already ended (its adapter's "terminated", a stop read just before it was stopped) must
    # never end or move the session the user works with now.
    def start(self, flow: str, inputs: dict, breakpoints: dict[str, list[dict]], *, break_on_raised: bool = False) -> None:
        if self.session is None and self._bridge.engine is not None:
            session = DebugSession(self._bridge.engine, break_on_raised=break_on_raised)
            self._begin(session, session.start, flow, inputs, breakpoints)

    def start_replay(self, execution_id: int, breakpoints: dict[str, list[dict]]) -> None:
        """Debug a replay of stored execution ``execution_id`` (every flow API call answered from
        its journal); ``started`` gives the replay's id, ``journalEnded`` its recording's end."""
        if self.session is None and self._bridge.engine is not None:
            session = DebugSession(self._bridge.engine)
            self._begin(session, session.start_replay, execution_id, breakpoints)

    def _begin(self, session: DebugSession, start: Callable[..., int], *args: Any) -> None:
        session.add_listener(lambda kind, payload: self._on_session_event(session, kind, payload))
        self.session = session
        run_in_background(start, *args,
                          on_done=lambda execution_id: self._started(session, execution_id),
                          on_error=lambda message: self._start_failed(session, message), owner=self)

    def _started(self, session: DebugSession, execution_id: int) -> None:
        if session is self.session:
            self.started.emit(execution_id)

    def _start_failed(self, session: DebugSession, message: str) -> None:
        # The session has ended its execution and adapter already (DebugSession.start).
        if session is self.session:
            self.session = None
            self.stop_info, self.frames = None, []
            self.failed.emit(f"could not start debugging: {message}")
            self.ended.emit()

    def _on_session_event(self, session: DebugSession, kind: str, payload: Any) -> None:
        # Called on the session's threads. The stack is read here too (off the GUI thread).
        if kind == "stopped":
            try:
                frames = session.stack()
            except Exception:  # noqa: BLE001 - the session ended meanwhile: nothing to show
                return
            call_on_gui_thread(self._stopped, (session, payload, frames), owner=self)
        elif kind == "continued":
            call_on_gui_thread(self._resumed_by, session, owner=self)
        elif kind == "output":
            call_on_gui_thread(self.output.emit, payload, owner=self)
        elif kind == "terminated":
            call_on_gui_thread(self._ended, session, owner=self)
        elif kind == "journal_ended":
            call_on_gui_thread(self._journal_ended, (session, payload), owner=self)

    def _stopped(self, session_stop_frames) -> None:
        session, stop, frames = session_stop_frames
        if session is not self.session or session.terminated or session.last_stop is not stop:
            return  # stale: that session ended, or moved on, since
        self.stop_info, self.frames = stop, frames
        self.stopped.emit(self.stop_info, self.frames)

    def _journal_ended(self, session_event) -> None:
        session, event = session_event
        if session is self.session and not session.terminated:
            self.journalEnded.emit(event)

    def _resumed_by(self, session: DebugSession) -> None:
        if session is self.session:
            self._resumed()

    def _resumed(self) -> None:
        if self.stop_info is not None:
            self.stop_info, self.frames = None, []
            self.resumed.emit()

    def _ended(self, session: DebugSession) -> None:
        if session is self.session:
            self.session = None
            self.stop_info, self.frames = None, []
            self.ended.emit()

    # -- commands -------------------------------------------------------------------------
    def _command(self, method: Callable, *args: Any) -> None:
        if self.session is None:
            return
        if method.__name__ not in ("pause", "stop", "set_breakpoints"):
            self._resumed()  # the UI leaves the stopped state at once, not when the event comes
        run_in_background(method, *args, on_error=self.failed.emit)

    def continue_(self) -> None:
        if self.session:
            self._command(self.session.continue_)

    def step_over(self) -> None:
        if self.session:
            self._command(self.session.step_over)

    def step_in(self) -> None:
        if self.session:
            self._command(self.session.step_in)

    def step_out(self) -> None:
        if self.session:
            self._command(self.session.step_out)

    def pause(self) -> None:
        if self.session:
            self._command(self.session.pause)

    def run_to_cursor(self, path: str, line: int) -> None:
        if self.session:
            self._command(self.session.run_to_cursor, path, line)

    def stop(self) -> None:
        if self.session:
            self._command(self.session.stop)

    def stop_now(self) -> None:
        """Stop debugging before this returns (the window is closing): the tree ends as
        "cancelled: debugging stopped" rather than with the engine's shutdown. Bounded: the
        session kills what does not end within a second."""
        session = self.session
        if session is not None:
            try:
                session.stop()
            except Exception:  # noqa: BLE001 - closing goes on; the engine's shutdown ends the rest
                log.warning("stopping the debug session at close failed", exc_info=True)

    def set_breakpoints(self, path: str, specs: list[dict]) -> None:
        if self.session and self.session.client is not None:
            self._command(self.session.set_breakpoints, path, specs)

    # -- inspecting (results delivered on the GUI thread) ----------------------------------
    # A frame stops existing when the flow moves on; a read that races with that is dropped
    # quietly (the panel refreshes at the next stop) instead of alarming the user.
    def scopes(self, frame_id: int, on_done: Callable[[list], None]) -> None:
        if self.session:
            run_in_background(self.session.scopes, frame_id, on_done=on_done, on_error=_ignore)

    def variables(self, ref: int, on_done: Callable[[list], None]) -> None:
        if self.session:
            run_in_background(self.session.variables, ref, on_done=on_done, on_error=_ignore)

    def evaluate(self, expression: str, frame_id: int | None, context: str, on_done, on_error=None) -> None:
        if self.session:
            run_in_background(self.session.evaluate, expression, frame_id, context, on_done=on_done,
                              on_error=on_error or self.failed.emit)


def _ignore(_message: str) -> None:
    pass
