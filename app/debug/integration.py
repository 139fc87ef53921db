"""Puts debugging into the main window: actions and keys (VS Code's: F5 continue, F9
breakpoint, F10/F11 step over/in, Shift+F11 step out, Shift+F5 stop; F6 starts debugging, and
pauses while a debugged flow runs), the Debug and Breakpoints panels, breakpoint markers in
the editors, the current-line arrow, and the stopped execution in the tree."""

from __future__ import annotations

from typing import TYPE_CHECKING

import shiboken6
from PySide6.QtCore import QObject
from PySide6.QtGui import QAction
from PySide6.QtWidgets import QLabel

from engine_core import Workspace
from engine_core.debug import BreakpointStore, Frame, StopInfo

from .breakpoints_panel import BreakpointsPanel
from .controller import DebugController
from .panel import DebugPanel

if TYPE_CHECKING:
    from ..main_window import MainWindow


class DebugUi(QObject):
    def __init__(self, window: "MainWindow"):
        super().__init__(window)
        self.window = window
        self.store: BreakpointStore | None = None
        self.controller = DebugController(window.bridge, self)
        self.panel = DebugPanel(self.controller)
        self.breakpoints_panel = BreakpointsPanel()
        self.dock = window.add_panel("Debug", self.panel)
        self.breakpoints_dock = window.add_panel("Breakpoints", self.breakpoints_panel)
        self.notice = QLabel("")
        window.statusBar().addPermanentWidget(self.notice)
        self._stopped_execution: int | None = None
        self._marked_editors: list = []
        self._build_actions()

        c = self.controller
        c.started.connect(self._started)
        c.stopped.connect(self._stopped)
        c.resumed.connect(self._resumed)
        c.ended.connect(self._ended)
        c.failed.connect(window.show_error)
        self.panel.frameSelected.connect(self._frame_selected)
        self.breakpoints_panel.changed.connect(self._breakpoints_changed)
        self.breakpoints_panel.openFlowAt.connect(window.open_flow)
        window.tabs.editorOpened.connect(self._editor_opened)
        window.tabs.currentFlowChanged.connect(lambda _flow: self._update_actions())
        self._update_actions()

    def _build_actions(self) -> None:
        menu = self.window.menuBar().addMenu("&Debug")

        def action(text: str, keys: str | None, slot, name: str) -> QAction:
            return self.window.add_action(menu, text, slot, keys, name)

        self.debug_action = action("Debug Flow / Pause", "F6", self.debug_or_pause, "debugAction")
        self.continue_action = action("Continue\tF5", None, self.controller.continue_, "continueAction")
        self.step_over_action = action("Step Over", "F10", self.controller.step_over, "stepOverAction")
        self.step_in_action = action("Step In", "F11", self.controller.step_in, "stepInAction")
        self.step_out_action = action("Step Out", "Shift+F11", self.controller.step_out, "stepOutAction")
        self.run_to_cursor_action = action("Run to Cursor", "Ctrl+F10", self.run_to_cursor, "runToCursorAction")
        self.stop_action = action("Stop Debugging\tShift+F5", None, self.controller.stop, "stopDebugAction")
        menu.addSeparator()
        self.toggle_action = action("Toggle Breakpoint", "F9", self.toggle_at_cursor, "toggleBreakpointAction")
        self.raised_action = QAction("Break on Raised Exceptions", self.window, checkable=True)
        menu.addAction(self.raised_action)
        toolbar = self.window.toolbar
        toolbar.addSeparator()
        for act in (self.debug_action, self.continue_action, self.step_over_action, self.step_in_action,
                    self.step_out_action, self.stop_action):
            toolbar.addAction(act)

    def _update_actions(self) -> None:
        stopped, active = self.controller.is_stopped, self.controller.active
        for act in (self.continue_action, self.step_over_action, self.step_in_action, self.step_out_action,
                    self.run_to_cursor_action):
            act.setEnabled(stopped)
        self.stop_action.setEnabled(active)
        # F6 pauses a running session; otherwise it debugs the flow in front (none on a file tab).
        self.debug_action.setEnabled(active or self.window.tabs.current_flow() is not None)

    # -- workspace and editors ------------------------------------------------------------
    def workspace_opened(self, workspace: Workspace) -> None:
        self.store = BreakpointStore(workspace)
        self.breakpoints_panel.set_store(self.store)

    def _editor_opened(self, flow: str, editor) -> None:
        editor.breakpointToggled.connect(lambda line, e=editor: self.toggle(e.property("flow"), line))
        editor.textEdited.connect(lambda e=editor: self._edited_while_debugging(e.property("flow")))
        self._show_markers(flow)

    def _show_markers(self, flow: str) -> None:
        editor = self.window.tabs.editor_for(flow)
        if editor is None or self.store is None:
            return
        kinds = {}
        for bp in self.store.for_flow(flow):
            conditional = bp.condition or bp.hit_condition or bp.log_message
            kinds[bp.line] = "disabled" if not bp.enabled else ("conditional" if conditional else "enabled")
        editor.set_breakpoints(kinds)

    def toggle(self, flow: str, line: int) -> None:
        if self.store is None:
            return
        self.store.toggle(flow, line)
        self._breakpoints_changed(flow)
        self.breakpoints_panel.refresh()

    def toggle_at_cursor(self) -> None:
        editor = self.window.tabs.current_editor()
        if editor is not None and editor.property("flow"):  # a workspace file's tab has no breakpoints
            self.toggle(editor.property("flow"), editor.current_line())

    def _breakpoints_changed(self, flow: str) -> None:
        self._show_markers(flow)
        if self.controller.active and self.store is not None:
            path = str(self.window.workspace.flow_path(flow))
            self.controller.set_breakpoints(path, self.store.dap_breakpoints().get(path, []))

    def flow_saved(self, flow: str) -> None:
        """Edits move breakpoint markers; keep the stored lines where the markers are now."""
        editor = self.window.tabs.editor_for(flow)
        if editor is not None and self.store is not None and self.store.for_flow(flow):
            self.store.replace_lines(flow, editor.breakpoint_lines())
            self.breakpoints_panel.refresh()

    def _edited_while_debugging(self, flow: str) -> None:
        if self.controller.active:
            self.notice.setText(f"'{flow}' was edited while debugging: the running code is the version that was started")

    # -- running --------------------------------------------------------------------------
    def debug_or_pause(self) -> None:
        if self.controller.active:
            if not self.controller.is_stopped:
                self.controller.pause()
            return
        flow = self.window.tabs.current_flow()
        if flow is None:
            return self.window.show_error("open the flow to debug first (double-click it in the Explorer)")
        if not self.window.bridge.is_open:  # not after the inputs dialog: the start would be refused
            return self.window.show_error("the engine is still starting; try again in a moment")
        inputs = self.window.prepare_run(flow, "Debug")  # titles the inputs dialog "Debug <flow>"
        if inputs is None:
            return
        breakpoints = self.store.dap_breakpoints() if self.store else {}
        self.controller.start(flow, inputs, breakpoints, break_on_raised=self.raised_action.isChecked())
        self.dock.show()
        self.dock.raise_()

    def run_to_cursor(self) -> None:
        editor = self.window.tabs.current_editor()
        if editor is not None and editor.property("flow"):
            path = str(self.window.workspace.flow_path(editor.property("flow")))
            self.controller.run_to_cursor(path, editor.current_line())

    def _started(self, execution_id: int) -> None:
        self.window._run_started(execution_id)
        self._update_actions()

    def _stopped(self, stop: StopInfo, frames: list[Frame]) -> None:
        self._update_actions()
        top = frames[0] if frames else None
        if top is not None and top.flow:
            self._show_execution_line(top)
            self._mark_stopped_execution(top.flow)
        self.window.statusBar().showMessage(self.panel.status.text(), 5000)

    def _frame_selected(self, frame: Frame) -> None:
        if frame.flow:
            self._show_execution_line(frame)

    def _show_execution_line(self, frame: Frame) -> None:
        self._clear_execution_lines()
        self.window.open_flow(frame.flow)
        editor = self.window.tabs.editor_for(frame.flow)
        if editor is not None:
            editor.set_execution_line(frame.line)
            self._marked_editors.append(editor)
        visuals = getattr(self.window, "visuals", None)
        if visuals is not None and visuals.flowchart.flow == frame.flow:
            visuals.flowchart.highlight_line(frame.line)  # the box the debugger stopped in

    def _clear_execution_lines(self) -> None:
        for editor in self._marked_editors:
            if shiboken6.isValid(editor):
                editor.set_execution_line(None)
        self._marked_editors.clear()

    def _mark_stopped_execution(self, flow: str) -> None:
        """The execution tree shows which execution the debugger stopped in: the most recent
        running execution of that flow in the debugged tree."""
        model = self.window.tree_model
        root = model.node(self.controller.session.execution_id) if self.controller.session else None
        candidates, pending = [], [root] if root else []
        while pending:
            node = pending.pop()
            if node.flow == flow and node.status == "running":
                candidates.append(node)
            pending.extend(node.children)
        self._unmark_stopped()
        if candidates:
            self._stopped_execution = max(candidates, key=lambda n: n.id).id
            model.set_stopped(self._stopped_execution, True)

    def _unmark_stopped(self) -> None:
        if self._stopped_execution is not None:
            self.window.tree_model.set_stopped(self._stopped_execution, False)
            self._stopped_execution = None

    def _resumed(self) -> None:
        self._clear_execution_lines()
        self._unmark_stopped()
        self._update_actions()

    def _ended(self) -> None:
        self._resumed()
        self.notice.setText("")
        self.window.statusBar().showMessage("Debugging ended", 5000)
