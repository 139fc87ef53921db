"""The main window: explorer, editor tabs, and the Problems / Executions / Log / Messages
panels, assembled from their own modules (window_layout, toolbar, about, run_inputs,
flow_commands, settings_editing). It wires them together; logic lives elsewhere."""

from __future__ import annotations

from pathlib import Path

from PySide6.QtCore import QFileSystemWatcher, Qt, QTimer
from PySide6.QtGui import QAction, QCloseEvent
from PySide6.QtWidgets import QApplication, QDockWidget, QFileDialog, QMainWindow, QMessageBox, QWidget

from engine_core import Workspace
from engine_core.errors import FlowdeskError

from . import themes
from .about import install_help_menu
from .analysis_service import analysis
from .debug.integration import DebugUi
from .editor_tabs import EditorTabs
from .engine_bridge import EngineBridge
from .flow_commands import FlowCommands
from .models.execution_tree import ExecutionTreeModel
from .models.messages import MessagesModel
from .models.problems import ProblemsModel
from .run_inputs import Asker, RunInputs
from .session import Session
from .settings_editing import SettingsEditing
from .toolbar import build_menus, dress_toolbar
from .window_layout import add_action, add_dock, build_panels
from .tasks import courier
from .files import install as install_files
from .connectors import install as install_connectors
from .forms import install as install_forms
from .schedules import install as install_schedules
from .webhooks import install as install_webhooks
from .packages import install as install_packages
from .editor.quick_fix import install as install_quick_fixes
from .git import install as install_git
from .visual import install as install_visuals
from .journal import install as install_journal
from .cluster import install as install_cluster

_HISTORY_LIMIT = 2000


class MainWindow(QMainWindow):
    def __init__(self, session: Session | None = None):
        super().__init__()
        courier()  # the cross-thread courier must live on this (the GUI) thread
        analysis().start()
        self.session = session or Session()
        self.workspace: Workspace | None = None
        self.last_error: str | None = None
        self.last_run_id: int | None = None
        self.setWindowTitle("Flowdesk")
        self.resize(1280, 820)

        self.bridge = EngineBridge(self)
        self.tree_model = ExecutionTreeModel(self)
        self.problems_model = ProblemsModel(self)
        self.messages_model = MessagesModel(self._execution_label, self)

        self.tabs = EditorTabs(self._flow_names, self)
        self.tabs.problemsChanged.connect(self._problems_changed)
        self.tabs.saved.connect(lambda _: self._refresh_flows())
        self.tabs.currentFlowChanged.connect(self._current_flow_changed)
        self.run_inputs = RunInputs(self)
        # Stands in for the inputs dialog when set (tests, scripts): (flow, remembered JSON) -> dict | None.
        self.ask_run_inputs: Asker | None = None

        build_panels(self)  # the editor area; explorer, executions, log, problems, messages, their docks; status bar
        self.executions.openFlowAt.connect(lambda flow, line: self.open_flow(flow, line))
        self.problems_view.activated.connect(self._problem_activated)
        self.problems_view.clicked.connect(self._problem_activated)

        self.settings = SettingsEditing(self)
        self.flow_commands = FlowCommands(self)
        self._connect_explorer()
        build_menus(self)
        self.debug = DebugUi(self)
        self.tabs.saved.connect(self.debug.flow_saved)

        self.bridge.opened.connect(self._engine_opened)
        self.bridge.openFailed.connect(self.show_error)
        self.bridge.problem.connect(self.show_error)
        self.bridge.eventsArrived.connect(self._engine_events)
        self._watcher = QFileSystemWatcher(self)
        self._watcher.directoryChanged.connect(lambda _: self._refresh_flows())
        self._explorer_refresh = QTimer(self, singleShot=True, interval=300)
        self._explorer_refresh.timeout.connect(self._refresh_store_views)

        self.visuals = install_visuals(self)
        self.git = install_git(self)
        install_forms(self)  # sets self.forms
        install_files(self)  # sets self.files
        install_connectors(self)  # the Explorer's Connectors section, the record form
        install_schedules(self)  # sets self.schedules
        install_webhooks(self)  # sets self.webhooks
        install_packages(self)  # sets self.packages; offers to install when requirements.txt changes
        install_quick_fixes(self)  # after the Packages panel: the Problems panel's fixes, relint after installs
        install_journal(self)  # sets self.journal: the Journal tab, "Debug this execution again", the replay banner
        install_cluster(self)  # sets self.cluster: the "Run on" combo, the cluster status label, the Worker column
        install_help_menu(self)
        self.executions_dock.raise_()  # what a run shows; the features' panels were tabbed after it

        self.theme = self.session.theme()
        self.apply_theme(self.theme)
        if geometry := self.session.window_geometry():
            self.restoreGeometry(geometry)
        # Once laid out, a first start gives the Explorer a sidebar's width (a restored state wins).
        QTimer.singleShot(0, lambda: None if self.session.window_state() else
                          self.resizeDocks([self.explorer_dock], [280], Qt.Orientation.Horizontal))
        if state := self.session.window_state():
            self.restoreState(state)

    # -- building (the parts are made in window_layout and toolbar) ------------------------
    def add_panel(self, title: str, widget: QWidget) -> QDockWidget:
        """A bottom panel, tabbed with the others, with its entry in the View menu."""
        dock = add_dock(self, title, widget, Qt.DockWidgetArea.BottomDockWidgetArea)
        self.tabifyDockWidget(self.problems_dock, dock)
        self.view_menu.insertAction(self.view_menu.actions()[0], dock.toggleViewAction())
        return dock

    def _connect_explorer(self) -> None:
        e = self.explorer
        e.follow_store(self.bridge)  # "Recent executions" reads the store itself, also other engines' runs
        e.openFlow.connect(self.open_flow)
        e.runFlow.connect(self.run_flow)
        e.newFlow.connect(self.new_flow)
        e.renameFlow.connect(self.flow_commands.ask_rename)
        e.deleteFlow.connect(self.flow_commands.ask_delete)
        e.newSetting.connect(lambda: self.settings.edit(None))
        e.editSetting.connect(self.settings.edit)
        e.deleteSetting.connect(self.settings.delete)
        e.showExecution.connect(self.show_execution)

    def add_action(self, menu, text: str, slot, shortcut=None, name: str | None = None) -> QAction:
        """A menu entry (and window-wide shortcut) that calls ``slot()``."""
        return add_action(self, menu, text, slot, shortcut, name)

    # -- workspace ------------------------------------------------------------------------
    def choose_workspace(self) -> None:
        start = str(self.workspace.root) if self.workspace else str(Path.home())
        folder = QFileDialog.getExistingDirectory(self, "Open Workspace", start)
        if folder:
            self.open_workspace(folder)

    def open_workspace(self, path: str) -> bool:
        try:
            workspace = Workspace.open(path)
        except FlowdeskError as exc:
            self.show_error(str(exc))
            return False
        if self.workspace is not None:
            if not self.tabs.close_all():
                return False
            self._save_tabs()
        self.workspace = workspace
        self.tabs.workspace = workspace
        self.session.remember_workspace(str(workspace.root))
        self.setWindowTitle(f"{workspace.root.name} — Flowdesk")
        self.workspace_label.setText(str(workspace.root))
        if self._watcher.directories():
            self._watcher.removePaths(self._watcher.directories())
        self._watcher.addPath(str(workspace.flows_dir))
        self._refresh_flows()
        self.tree_model.load_history([])
        self.bridge.open(workspace)
        self.debug.workspace_opened(workspace)
        self.tabs.restore(*self.session.open_tabs(str(workspace.root)))
        return True

    def _flow_names(self) -> list[str]:
        return self.explorer.flow_names()

    def _refresh_flows(self) -> None:
        if self.workspace is not None:
            before = self.explorer.flow_names()
            self.explorer.set_flows(self.workspace.flow_names())
            if self.explorer.flow_names() != before:
                self.tabs.relint_all()  # a this.flow('X') may have become (un)known

    def _engine_opened(self) -> None:
        self.statusBar().showMessage("Engine ready", 3000)
        self.bridge.read(lambda store: store.executions(limit=_HISTORY_LIMIT), on_done=self.tree_model.load_history)
        self._refresh_store_views()

    def _refresh_store_views(self) -> None:
        if self.bridge.is_open:
            self.bridge.read(lambda store: store.settings(), on_done=self.explorer.set_settings)

    def _engine_events(self, events: list) -> None:
        self.tree_model.enqueue(events)
        self.log_panel.add_events(events)
        self.messages_model.add_events(events)
        self.executions.on_events(events)
        if any(getattr(e, "status", None) in ("success", "error", "cancelled") for e in events):
            self._explorer_refresh.start()  # settings may have changed; recent list grows

    def _execution_label(self, execution_id: int) -> str:
        node = self.tree_model.node(execution_id)
        return f"#{execution_id} {node.name}" if node else f"#{execution_id}"

    # -- flows ----------------------------------------------------------------------------
    def open_flow(self, name: str, line: int | None = None) -> None:
        if self.workspace is None:
            return
        if not self.workspace.has_flow(name):
            self.show_error(f"no flow {name!r} in workspace {self.workspace.root}")
            return
        self.tabs.open_flow(name, line)

    # New / rename / delete live in flow_commands; these names are the window's API (menus, tests).
    def new_flow(self) -> None:
        self.flow_commands.ask_new()

    def create_flow(self, name: str) -> bool:
        return self.flow_commands.create(name)

    def do_rename_flow(self, old: str, new: str) -> bool:
        return self.flow_commands.rename(old, new)

    def do_delete_flow(self, name: str) -> bool:
        return self.flow_commands.delete(name)

    def save(self) -> None:
        try:
            self.tabs.save()
        except OSError as exc:
            self.show_error(f"could not save {self.tabs.current_key()!r}: {exc.strerror or exc}")

    def close_current_tab(self) -> None:
        if self.tabs.count():
            self.tabs.close_tab(self.tabs.currentIndex())

    def save_setting(self, name: str, value) -> None:
        self.settings.save(name, value)

    # -- running --------------------------------------------------------------------------
    def run_current(self) -> None:
        """F5: continue when the debugger is stopped, otherwise run the current flow."""
        if self.debug.controller.is_stopped:
            return self.debug.controller.continue_()
        flow = self.tabs.current_flow()
        if flow is None:
            return self.show_error("open the flow to run first (double-click it in the Explorer)")
        self.run_flow(flow)

    def prepare_run(self, flow: str, verb: str = "Run") -> dict | None:
        """Save all flows and ask for the inputs to ``verb`` ("Run"/"Debug") the flow with;
        None if cancelled."""
        return self.run_inputs.prepare(flow, verb)

    def run_flow(self, flow: str) -> None:
        inputs = self.prepare_run(flow)
        if inputs is None:
            return
        self.executions_dock.show()
        self.executions_dock.raise_()
        self.bridge.submit(flow, inputs, on_done=self._run_started)

    def _run_started(self, execution_id: int) -> None:
        self.last_run_id = execution_id
        self.statusBar().showMessage(f"Started execution #{execution_id}", 3000)
        if self.tree_model.node(execution_id) is not None:
            self.executions.select(execution_id)
        else:  # its row arrives with the next batch of events
            def select_when_added(added_id: int) -> None:
                if added_id == execution_id:
                    self.tree_model.rootAdded.disconnect(select_when_added)
                    self.executions.select(execution_id)
            self.tree_model.rootAdded.connect(select_when_added)

    def stop_run(self) -> None:
        if self.debug.controller.active:
            return self.debug.controller.stop()
        target = self.executions.selected_id or self.last_run_id
        if target is not None:
            self.bridge.cancel(target)

    def show_execution(self, execution_id: int) -> None:
        self.executions_dock.show()
        self.executions_dock.raise_()
        self.executions.select(execution_id)

    # -- problems -------------------------------------------------------------------------
    def _problems_changed(self, flow: str, problems: list) -> None:
        self.problems_model.set_problems(flow, problems)
        errors, warnings = self.problems_model.counts()
        self.problems_label.setText(f"{errors} errors, {warnings} warnings" if errors or warnings else "No problems")

    def _problem_activated(self, index) -> None:
        flow = index.data(ProblemsModel.FlowRole)
        line = index.data(ProblemsModel.LineRole)
        if flow:
            self.open_flow(flow, line)

    def _current_flow_changed(self, flow) -> None:
        self.run_action.setEnabled(flow is not None)

    # -- misc -----------------------------------------------------------------------------
    def apply_theme(self, name: str) -> None:
        self.theme = name
        themes.apply_theme(QApplication.instance(), name)
        self.tabs.set_theme(name)
        self.theme_actions[name].setChecked(True)
        dress_toolbar(self.toolbar, name)
        self.session.set_theme(name)

    def show_error(self, message: str) -> None:
        """A problem the user can act on: in the status bar and a non-blocking message box."""
        self.last_error = message
        self.statusBar().showMessage(message, 10000)
        box = QMessageBox(QMessageBox.Icon.Warning, "Flowdesk", message, QMessageBox.StandardButton.Ok, self)
        box.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
        box.open()

    def _save_tabs(self) -> None:
        if self.workspace is not None:
            self.session.save_open_tabs(str(self.workspace.root), self.tabs.tab_keys(), self.tabs.current_key())

    def closeEvent(self, event: QCloseEvent) -> None:
        names = self.tabs.tab_keys()
        current = self.tabs.current_key()
        if not self.tabs.close_all():
            event.ignore()
            return
        if self.workspace is not None:
            self.session.save_open_tabs(str(self.workspace.root), names, current)
        self.session.save_window(self.saveGeometry(), self.saveState())
        self.session.sync()
        self.debug.controller.stop_now()
        self.bridge.close()
        event.accept()
