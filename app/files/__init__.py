"""Workspace files (``files/``, what ``system.file(name)`` reads and writes) in the IDE: listed
in the Explorer's Files section, opened by double-click, saved with Ctrl+S. ``install(window)``
uses only the window's public attributes (workspace, explorer, bridge, statusBar, tabs,
show_error, view_menu, addDockWidget), so the window needs one call and nothing else.

Listing, reading and writing happen off the GUI thread: a workspace may hold many files, and
a file may live on a slow disk."""

from __future__ import annotations

from pathlib import Path

import shiboken6
from PySide6.QtCore import QEvent, QFileSystemWatcher, QObject, Qt, QTimer
from PySide6.QtWidgets import QDockWidget, QMainWindow

from engine_core import events as ev

from ..tasks import run_in_background
from .editors import FileTabs, OpenFile

__all__ = ["install", "FilesController", "FileTabs"]

_TERMINAL = ("success", "error", "cancelled")


class FilesController(QObject):
    def __init__(self, window: QMainWindow, tabs: FileTabs, dock: QDockWidget):
        super().__init__(window)
        self.window = window
        self.tabs = tabs
        self.dock = dock
        self._watcher = QFileSystemWatcher(self)
        self._watcher.directoryChanged.connect(lambda _path: self._refresh_soon.start())
        self._refresh_soon = QTimer(self, singleShot=True, interval=300)
        self._refresh_soon.timeout.connect(self.refresh)
        tabs.saveRequested.connect(self.save)

    # -- the list -----------------------------------------------------------------------------
    def refresh(self) -> None:
        workspace = self.window.workspace
        if workspace is None or not hasattr(workspace, "file_names"):
            self.window.explorer.set_files([])
            return
        run_in_background(_list, workspace, on_done=lambda listing, w=workspace: self._listed(w, listing),
                          on_error=lambda text: self._alive() and self.window.statusBar().showMessage(text, 10000))

    def _alive(self) -> bool:
        """False once the window is gone: a background result may arrive after it closed."""
        return shiboken6.isValid(self.window) and shiboken6.isValid(self.tabs)

    def _listed(self, workspace, listing: tuple[list[str], list[str]]) -> None:
        if not self._alive() or workspace != self.window.workspace:
            return  # a listing of the workspace the user just left
        names, folders = listing
        if names != self.window.explorer.file_names():
            self.window.explorer.set_files(names)
        # Watch every folder: QFileSystemWatcher is not recursive, and files/ may not exist yet
        # (the root is watched so its creation is seen).
        stale = set(self._watcher.directories()) - set(folders)
        if stale:
            self._watcher.removePaths(list(stale))
        fresh = [f for f in folders if f not in self._watcher.directories()]
        if fresh:
            self._watcher.addPaths(fresh)
            # A file written between the listing and the watch would go unseen: list once more.
            self._refresh_soon.start()

    def on_events(self, events: list) -> None:
        # A flow may have written files (system.file(...).save); the watcher may miss a folder
        # created and filled at once.
        if any(isinstance(e, ev.StatusChanged) and e.status in _TERMINAL for e in events):
            self._refresh_soon.start()

    def workspace_opened(self) -> None:
        if any(f.workspace != self.window.workspace for f in self.tabs.open_files()):
            self.tabs.close_all()  # the old workspace's files; unsaved ones are asked about
        self.refresh()

    # -- opening and saving -----------------------------------------------------------------
    def open_file(self, name: str) -> None:
        workspace = self.window.workspace
        if workspace is None:
            return
        run_in_background(workspace.read_file, name, on_done=lambda data: self._read(workspace, name, data),
                          on_error=self.window.show_error)

    def _read(self, workspace, name: str, data: bytes) -> None:
        if not self._alive():
            return
        try:
            text = data.decode("utf-8")
        except UnicodeDecodeError:
            self.window.statusBar().showMessage(
                f"files/{name} is a binary file (not UTF-8 text); Flowdesk opens text files only — "
                "read it in a flow with system.file(name).get('content')", 15000)
            return
        self.dock.show()
        self.dock.raise_()
        self.tabs.open_file(workspace, name, text, getattr(self.window, "theme", "light"))

    def save(self, open_file: OpenFile, now: bool = False) -> None:
        text = open_file.editor.text()
        data = text.encode("utf-8")
        if now:  # closing: the tab and perhaps the window go away, so write before they do
            open_file.workspace.write_file(open_file.name, data)
            return
        run_in_background(open_file.workspace.write_file, open_file.name, data,
                          on_done=lambda _=None: self._saved(open_file, text), on_error=self.window.show_error)

    def _saved(self, open_file: OpenFile, text: str) -> None:
        if not self._alive():
            return
        self.tabs.saved(open_file, text)
        self.window.statusBar().showMessage(f"Saved files/{open_file.name}", 3000)


class _CloseGuard(QObject):
    """Unsaved files are asked about when the window closes, as unsaved flows are."""

    def __init__(self, window: QMainWindow, tabs: FileTabs):
        super().__init__(window)
        self._tabs = tabs

    def eventFilter(self, watched, event) -> bool:
        if event.type() == QEvent.Type.Close and not self._tabs.close_all():
            event.ignore()
            return True
        return False


def _list(workspace) -> tuple[list[str], list[str]]:
    """The file names, and the folders to watch for changes."""
    names = workspace.file_names()
    folders = {str(workspace.root), str(workspace.files_dir)}
    folders.update(str(workspace.file_path(n).parent) for n in names)
    return names, sorted(f for f in folders if _is_dir(f))


def _is_dir(path: str) -> bool:
    return Path(path).is_dir()


def install(window: QMainWindow) -> FilesController:
    """Add the Files section's behaviour and a dock for open files; returns the controller
    (also kept as ``window.files``)."""
    tabs = FileTabs()
    # Asked with the flows' prompt, so tests (and users) answer both the same way.
    tabs.ask_save_changes = lambda names: window.tabs.ask_save_changes(names)
    dock = QDockWidget("Files", window)
    dock.setObjectName("filesDock")  # restoreState finds docks by name
    dock.setWidget(tabs)
    window.addDockWidget(Qt.DockWidgetArea.RightDockWidgetArea, dock)
    dock.hide()  # until a file is opened
    controller = FilesController(window, tabs, dock)
    window.explorer.openFile.connect(controller.open_file)
    window.bridge.opened.connect(controller.workspace_opened)
    window.bridge.eventsArrived.connect(controller.on_events)
    window.view_menu.addAction(dock.toggleViewAction())
    window.installEventFilter(_CloseGuard(window, tabs))
    window.files = controller
    return controller
