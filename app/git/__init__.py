"""Git in the IDE: the Git panel as a dock, File ▸ Clone Workspace… and File ▸ Init
Repository, and reloading open tabs when a pull changes their flows. ``install(window)``
uses only the window's public attributes (tabs, workspace, open_workspace, show_error,
bridge, explorer, addDockWidget, menuBar), so the window needs one call and nothing else."""

from __future__ import annotations

from PySide6.QtCore import Qt
from PySide6.QtGui import QAction
from PySide6.QtWidgets import QDockWidget, QMainWindow, QMenu

from .clone_dialog import CloneDialog
from .controller import GitController
from .panel import GitPanel

__all__ = ["install", "GitController", "GitPanel", "CloneDialog"]


def install(window: QMainWindow) -> GitController:
    """Add the Git dock and menu entries to ``window``; returns the controller (also kept as
    ``window.git``)."""
    panel = GitPanel()
    controller = GitController(window, panel)
    dock = QDockWidget("Git", window)
    dock.setObjectName("gitDock")  # restoreState finds docks by name
    dock.setWidget(panel)
    window.addDockWidget(Qt.DockWidgetArea.LeftDockWidgetArea, dock)
    explorer = getattr(window, "explorer_dock", None)
    if isinstance(explorer, QDockWidget):  # a tab beside the Explorer: the panel gets full height
        window.tabifyDockWidget(explorer, dock)
        explorer.raise_()
    controller.dock = dock
    window.bridge.opened.connect(controller.refresh)
    window.tabs.saved.connect(controller.schedule_refresh)
    window.tabs.fileSaved.connect(controller.schedule_refresh)
    window.tabs.rootFileSaved.connect(controller.schedule_refresh)  # requirements.txt
    dock.visibilityChanged.connect(lambda shown: shown and controller.refresh())
    _add_menu_entries(window, controller, dock)
    window.git = controller
    return controller


def _menu(window: QMainWindow, title: str) -> QMenu:
    menu = next((a.menu() for a in window.menuBar().actions() if a.text().replace("&", "") == title), None)
    return menu if isinstance(menu, QMenu) else window.menuBar().addMenu(f"&{title}")


def _add_menu_entries(window: QMainWindow, controller: GitController, dock: QDockWidget) -> None:
    file_menu = _menu(window, "File")
    # Before Quit (the last entry) when there is one, so Quit stays at the bottom.
    before = file_menu.actions()[-1] if file_menu.actions() else None
    clone = QAction("Clone Workspace…", window, objectName="gitCloneAction")
    clone.triggered.connect(lambda _=False: open_clone_dialog(window))
    init = QAction("Init Repository", window, objectName="gitInitAction")
    init.triggered.connect(lambda _=False: controller.init_repository())
    pull = QAction("Pull", window, objectName="gitPullAction")
    pull.triggered.connect(lambda _=False: controller.pull())
    for action in (clone, init):
        file_menu.insertAction(before, action) if before else file_menu.addAction(action)
    if before:
        file_menu.insertSeparator(before)
    view_menu = _menu(window, "View")
    view_menu.addAction(dock.toggleViewAction())
    controller.actions = {"clone": clone, "init": init, "pull": pull}


def open_clone_dialog(window: QMainWindow) -> CloneDialog:
    start = str(window.workspace.root.parent) if window.workspace is not None else None
    dialog = CloneDialog(window, start)
    dialog.cloned.connect(window.open_workspace)
    dialog.open()
    window.git.clone_dialog = dialog
    return dialog
