""""Debug this execution again": a replay of a stored execution under the IDE's debugger, and
the banner's answers when the replay reaches the end of its recording.

The replay runs through the window's one ``DebugController`` (``start_replay``): its panel,
breakpoints, current line and Stop work as for any debug session."""

from __future__ import annotations

from PySide6.QtCore import QObject, Signal

from ..tasks import run_in_background


class ReplayLauncher(QObject):
    journalEnded = Signal(object)  # events.JournalEnded of the replay being debugged

    def __init__(self, window, parent=None):
        super().__init__(parent or window)
        self.window = window
        window.debug.controller.journalEnded.connect(self.journalEnded)

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
        controller.start_replay(execution_id, store.dap_breakpoints() if store is not None else {})
        self.window.debug.dock.show()
        self.window.debug.dock.raise_()
        self.window.statusBar().showMessage(
            f"Replaying execution #{execution_id}: every flow API call is answered from its journal", 8000)

    def answer(self, live: bool) -> None:
        """The banner's [Continue live] / [Stop], for the replay paused at its recording's end."""
        session = self.window.debug.controller.session
        if session is None or session.terminated or session.journal_ended is None:
            return
        run_in_background(session.continue_replay, live, on_error=self.window.show_error)
