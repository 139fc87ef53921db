"""Journals and replays in the IDE: a Journal tab beside the execution details (the calls an
execution made, with line, answer and time), "Debug this execution again" in the execution
tree's context menu and on the details pane (a replay under the debugger, every flow API call
answered from the journal), and a banner when a replay reaches the end of its recording
([Continue live] [Stop]). ``install(window)`` uses the window's public attributes and extension
points: the Executions panel's ``details_tabs`` and ``add_menu_extension``, the editor area's
``add_banner``, and debug, bridge, tree_model, open_flow, statusBar, show_error."""

from __future__ import annotations

from PySide6.QtCore import QTimer
from PySide6.QtWidgets import QMainWindow, QMenu, QPushButton

from .banner import ReplayBanner
from .replay import ReplayLauncher
from .view import JournalView, fetch_journal

__all__ = ["install", "JournalFeature", "JournalView", "ReplayBanner", "ReplayLauncher"]

DEBUG_AGAIN = "Debug this execution again"


def install(window: QMainWindow) -> "JournalFeature":
    """Add the Journal tab, the replay entries and the banner; returns the feature (also
    ``window.journal``). Installing twice returns the first."""
    existing = getattr(window, "journal", None)
    if existing is None:
        window.journal = existing = JournalFeature(window)
    return existing


class JournalFeature:
    def __init__(self, window):
        self.window = window
        panel = window.executions
        self.view = JournalView()
        self.launcher = ReplayLauncher(window)
        self.banner = ReplayBanner()

        # A Journal tab beside the details, the replay's button in the tabs' corner.
        self.tabs = panel.details_tabs
        self.tabs.addTab(self.view, "Journal")
        self.debug_button = QPushButton(DEBUG_AGAIN)
        self.debug_button.setObjectName("debugAgain")
        self.debug_button.setToolTip("Replay the selected execution under the debugger: its code runs again with "
                                     "its recorded inputs, every flow API call answered from its journal")
        self.debug_button.clicked.connect(lambda: self.debug_again(panel.selected_id))
        self.tabs.setCornerWidget(self.debug_button)

        window.editor_area.add_banner(self.banner)  # above the editors, where the debugger shows the line

        self._later = QTimer(self.tabs, singleShot=True, interval=150)  # a burst of events: one read
        self._later.timeout.connect(self.refresh)
        panel.add_menu_extension(self.add_menu_entries)
        panel.tree.selectionModel().currentChanged.connect(lambda *_: self.refresh())
        self.tabs.currentChanged.connect(lambda *_: self.refresh())
        window.bridge.eventsArrived.connect(self._on_events)
        window.tree_model.statusChanged.connect(lambda *_: self._update_button())
        window.debug.controller.started.connect(lambda *_: self._update_button())
        window.debug.controller.ended.connect(self._debug_ended)
        self.view.lineActivated.connect(self._open_line)
        self.launcher.journalEnded.connect(self._journal_ended)
        self.banner.continueLive.connect(lambda: self.launcher.answer(True))
        self.banner.stopReplay.connect(lambda: self.launcher.answer(False))
        self._update_button()

    # -- entries ----------------------------------------------------------------------------
    def add_menu_entries(self, menu: QMenu, execution_id: int) -> None:
        """The tree's context menu: "Debug this execution again"."""
        action = menu.addAction(DEBUG_AGAIN, lambda: self.debug_again(execution_id))
        action.setObjectName("debugAgainAction")
        action.setEnabled(self.launcher.can_replay(execution_id))

    def debug_again(self, execution_id: int | None) -> None:
        if execution_id is None:
            return self.window.show_error("select the execution to debug again in the Executions panel")
        node = self.window.tree_model.node(execution_id)
        if node is not None and node.status not in ("success", "error", "cancelled"):
            return self.window.show_error(f"execution #{execution_id} is still {node.status}; "
                                          "an execution can be debugged again once it has ended")
        self.launcher.debug_again(execution_id)
        self._update_button()

    def _update_button(self) -> None:
        self.debug_button.setEnabled(self.launcher.can_replay(self.window.executions.selected_id))

    # -- the journal tab ----------------------------------------------------------------------
    def refresh(self) -> None:
        self._update_button()
        execution_id = self.window.executions.selected_id
        if execution_id is None or not self.window.bridge.is_open:
            self.view.clear()
            return
        if self.tabs.currentWidget() is not self.view:
            return  # read when the tab is shown
        self.window.bridge.read(fetch_journal, execution_id,
                                on_done=lambda result, i=execution_id: self._show(i, result))

    def _show(self, execution_id: int, result) -> None:
        if execution_id == self.window.executions.selected_id:
            self.view.show_journal(execution_id, *result)

    def _on_events(self, events: list) -> None:
        selected = self.window.executions.selected_id
        if selected is not None and self.tabs.currentWidget() is self.view and any(e.id == selected for e in events):
            self._later.start()

    def _open_line(self, line: int) -> None:
        node = self.window.tree_model.node(self.view.execution_id) if self.view.execution_id is not None else None
        if node is not None:
            self.window.open_flow(node.flow, line)

    # -- the replay's end -----------------------------------------------------------------------
    def _journal_ended(self, event) -> None:
        node = self.window.tree_model.node(event.id)
        if node is not None and event.line:
            self.window.open_flow(node.flow, event.line)
        self.banner.show_message(event.message)

    def _debug_ended(self) -> None:
        self.banner.hide()
        self._update_button()
