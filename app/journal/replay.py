""""Debug this execution again": a replay of a stored execution under the IDE's debugger, and
the banner's answers when the replay reaches the end of its recording.

The replay runs through the window's one ``DebugController`` (its panel, breakpoints, current
line and Stop work as for any debug session). The controller starts sessions of flows only;
``_start_on`` does what ``DebugController.start`` does with ``DebugSession.start_replay``
(requested as ``DebugController.start_replay``, /tmp/s4/d13-requests-D.md)."""

from __future__ import annotations

from PySide6.QtCore import QObject, Signal

from engine_core.debug import DebugSession

from ..tasks import call_on_gui_thread, run_in_background


class ReplayLauncher(QObject):
    journalEnded = Signal(object)  # events.JournalEnded of the replay being debugged

    def __init__(self, window, parent=None):
        super().__init__(parent or window)
        self.window = window
        self.session: DebugSession | None = None

    def can_replay(self, execution_id: int | None) -> bool:
        node = self.window.tree_model.node(execution_id) if execution_id is not None else None
        return (node is not None and node.kind == "flow" and node.status in ("success", "error", "cancelled")
                and not self.window.debug.controller.active and self.window.bridge.is_open)

    def debug_again(self, execution_id: int) -> None:
        controller = self.window.debug.controller
        if controller.active:
            return self.window.show_error("a debug session is running; stop it first (Shift+F5)")
        if self.window.bridge.engine is None:
            return self.window.show_error("the engine is still starting; try again in a moment")
        store = self.window.debug.store
        breakpoints = store.dap_breakpoints() if store is not None else {}
        self.session = _start_on(controller, execution_id, breakpoints, self._on_session_event)
        self.window.debug.dock.show()
        self.window.debug.dock.raise_()
        self.window.statusBar().showMessage(
            f"Replaying execution #{execution_id}: every flow API call is answered from its journal", 8000)

    def _on_session_event(self, session: DebugSession, kind: str, payload) -> None:
        if kind == "journal_ended":  # on the session's thread
            call_on_gui_thread(self._journal_ended, (session, payload), owner=self)

    def _journal_ended(self, session_event) -> None:
        session, event = session_event
        if session is self.session and not session.terminated:
            self.journalEnded.emit(event)

    def answer(self, live: bool) -> None:
        """The banner's [Continue live] / [Stop]."""
        session = self.session
        if session is None or session.terminated:
            return
        run_in_background(session.continue_replay, live, on_error=self.window.show_error)


def _start_on(controller, execution_id: int, breakpoints: dict, also) -> DebugSession:
    session = DebugSession(controller._bridge.engine)
    session.add_listener(lambda kind, payload: controller._on_session_event(session, kind, payload))
    session.add_listener(lambda kind, payload: also(session, kind, payload))
    controller.session = session
    run_in_background(session.start_replay, execution_id, breakpoints,
                      on_done=lambda replay_id: controller._started(session, replay_id),
                      on_error=lambda message: controller._start_failed(session, message), owner=controller)
    return session
