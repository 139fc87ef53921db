"""The main window's fixed parts: the editor area in the middle (banners above the editors),
the Explorer on the left, the Problems / Executions / Log / Messages panels tabbed at the
bottom, the status bar, and the helpers that add a dock or a menu action. Building only;
MainWindow wires the signals."""

from __future__ import annotations

from typing import TYPE_CHECKING

from PySide6.QtCore import Qt
from PySide6.QtGui import QAction, QKeySequence
from PySide6.QtWidgets import QDockWidget, QHeaderView, QLabel, QMainWindow, QTableView, QVBoxLayout, QWidget

from .panels.executions_panel import ExecutionsPanel
from .panels.explorer import ExplorerPanel
from .panels.log_panel import LogPanel

if TYPE_CHECKING:
    from .main_window import MainWindow

_BOTTOM = Qt.DockWidgetArea.BottomDockWidgetArea


class EditorArea(QWidget):
    """The window's central widget: the editor tabs, and above them the banners features add
    (``add_banner``: a bar that shows itself when it has something to say, e.g. a replay
    paused at its recording's end), where the eye is while debugging."""

    def __init__(self, editors: QWidget, parent: QWidget | None = None):
        super().__init__(parent)
        self.setObjectName("editorArea")
        self._layout = QVBoxLayout(self)
        self._layout.setContentsMargins(0, 0, 0, 0)
        self._layout.setSpacing(0)
        self._layout.addWidget(editors, 1)

    def add_banner(self, banner: QWidget) -> None:
        """Above the editors, below the banners added before it."""
        self._layout.insertWidget(self._layout.count() - 1, banner)


def build_panels(window: "MainWindow") -> None:
    """Sets editor_area (the central widget, around window.tabs), explorer, executions,
    log_panel, problems_view, messages_view, their *_dock attributes, workspace_label and
    problems_label on ``window``."""
    window.editor_area = EditorArea(window.tabs)
    window.setCentralWidget(window.editor_area)
    window.explorer = ExplorerPanel()
    window.executions = ExecutionsPanel(window.bridge, window.tree_model)
    window.log_panel = LogPanel(window._execution_label)
    window.problems_view = make_table("problemsView", window.problems_model)
    window.messages_view = make_table("messagesView", window.messages_model)

    window.explorer_dock = add_dock(window, "Explorer", window.explorer, Qt.DockWidgetArea.LeftDockWidgetArea)
    window.problems_dock = add_dock(window, "Problems", window.problems_view, _BOTTOM)
    window.executions_dock = add_dock(window, "Executions", window.executions, _BOTTOM)
    window.log_dock = add_dock(window, "Log", window.log_panel, _BOTTOM)
    window.messages_dock = add_dock(window, "Messages", window.messages_view, _BOTTOM)
    for dock in (window.executions_dock, window.log_dock, window.messages_dock):
        window.tabifyDockWidget(window.problems_dock, dock)

    window.workspace_label = QLabel("No workspace")
    window.problems_label = QLabel("")
    window.statusBar().addWidget(window.workspace_label, 1)
    window.statusBar().addPermanentWidget(window.problems_label)
    # Until "Engine ready" (or the error): resuming what a dead engine left can take a while.
    window.bridge.opening.connect(lambda: window.statusBar().showMessage("Starting the engine…"))


def add_dock(window: QMainWindow, title: str, widget: QWidget, area: Qt.DockWidgetArea) -> QDockWidget:
    dock = QDockWidget(title, window)
    dock.setObjectName(f"{title.lower()}Dock")  # saveState/restoreState need names
    dock.setWidget(widget)
    window.addDockWidget(area, dock)
    return dock


def make_table(name: str, model) -> QTableView:
    view = QTableView()
    view.setObjectName(name)
    view.setModel(model)
    view.setSelectionBehavior(QTableView.SelectionBehavior.SelectRows)
    view.verticalHeader().hide()
    view.horizontalHeader().setStretchLastSection(True)
    view.horizontalHeader().setSectionResizeMode(QHeaderView.ResizeMode.ResizeToContents)
    return view


def add_action(window: QMainWindow, menu, text: str, slot, shortcut=None, name: str | None = None) -> QAction:
    """A menu entry (and window-wide shortcut) that calls ``slot()``."""
    action = QAction(text, window)
    action.setIconText(text.split("\t")[0])  # toolbars show the name, not the key hint
    if shortcut is not None:
        action.setShortcut(QKeySequence(shortcut))
    action.triggered.connect(lambda _checked=False: slot())
    if name:
        action.setObjectName(name)
    menu.addAction(action)
    return action
