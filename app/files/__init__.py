"""Workspace files (``files/``, what ``system.file(name)`` reads and writes) in the IDE: listed
in the Explorer's Files section and kept up to date; a double-clicked UTF-8 text file opens as
an editor tab (``EditorTabs.open_file``: saved with Ctrl+S to its own path, asked about when
closed unsaved, restored with the session), a binary file is refused in the status bar.
``install(window)`` uses only the window's public attributes (workspace, explorer, bridge,
statusBar, tabs, show_error), so the window needs one call and nothing else.

Listing and reading happen off the GUI thread: a workspace may hold many files, and a file may
be large or live on a slow disk."""

from __future__ import annotations

from pathlib import Path

import shiboken6
from PySide6.QtCore import QFileSystemWatcher, QObject, QTimer
from PySide6.QtWidgets import QMainWindow

from engine_core import events as ev

from ..tasks import run_in_background
from ..watching import watch_exactly

__all__ = ["install", "FilesController"]

_TERMINAL = ("success", "error", "cancelled")


class FilesController(QObject):
    def __init__(self, window: QMainWindow):
        super().__init__(window)
        self.window = window
        self._watcher = QFileSystemWatcher(self)
        self._watcher.directoryChanged.connect(lambda _path: self._refresh_soon.start())
        self._refresh_soon = QTimer(self, singleShot=True, interval=300)
        self._refresh_soon.timeout.connect(self.refresh)

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
        return shiboken6.isValid(self.window) and shiboken6.isValid(self.window.tabs)

    def _listed(self, workspace, listing: tuple[list[str], list[str]]) -> None:
        if not self._alive() or workspace != self.window.workspace:
            return  # a listing of the workspace the user just left
        names, folders = listing
        if names != self.window.explorer.file_names():
            self.window.explorer.set_files(names)
        # Watch every folder: QFileSystemWatcher is not recursive, and files/ may not exist yet
        # (the root is watched so its creation is seen).
        if watch_exactly(self._watcher, folders):
            self._refresh_soon.start()  # a file written before the new watch: list once more

    def on_events(self, events: list) -> None:
        # A flow may have written files (system.file(...).save); the watcher may miss a folder
        # created and filled at once.
        if any(isinstance(e, ev.StatusChanged) and e.status in _TERMINAL for e in events):
            self._refresh_soon.start()

    # -- opening ----------------------------------------------------------------------------
    def open_file(self, name: str, current: bool = True) -> None:
        """Read ``files/<name>`` off the GUI thread, then show it in an editor tab (made the
        current tab unless ``current`` is False, as for tabs restored behind another)."""
        workspace = self.window.workspace
        if workspace is None:
            return
        existing = self.window.tabs.file_editor(name)
        if existing is not None:  # its buffer may hold unsaved edits: show it, do not reread
            if current:
                self.window.tabs.open_file(name, existing.text())
            return
        run_in_background(workspace.read_file, name,
                          on_done=lambda data: self._read(workspace, name, data, current),
                          on_error=lambda text: self._alive() and self.window.show_error(text))

    def _read(self, workspace, name: str, data: bytes, current: bool) -> None:
        if not self._alive() or workspace != self.window.workspace:
            return  # the window closed, or the user opened another workspace meanwhile
        try:
            text = data.decode("utf-8")
        except UnicodeDecodeError:
            self.window.statusBar().showMessage(
                f"files/{name} is a binary file (not UTF-8 text); Flowdesk opens text files only — "
                "read it in a flow with system.file(name).get('content')", 15000)
            return
        self.window.tabs.open_file(name, text, current)

    def saved(self, name: str) -> None:
        self.window.statusBar().showMessage(f"Saved files/{name}", 3000)


def _list(workspace) -> tuple[list[str], list[str]]:
    """The file names, and the folders to watch for changes."""
    names = workspace.file_names()
    folders = {str(workspace.root), str(workspace.files_dir)}
    folders.update(str(workspace.file_path(n).parent) for n in names)
    return names, sorted(f for f in folders if _is_dir(f))


def _is_dir(path: str) -> bool:
    return Path(path).is_dir()


def install(window: QMainWindow) -> FilesController:
    """Add the Files section's behaviour; returns the controller (also kept as
    ``window.files``)."""
    controller = FilesController(window)
    window.explorer.openFile.connect(controller.open_file)
    window.tabs.file_opener = controller.open_file  # session restore reopens files through it
    window.tabs.fileSaved.connect(controller.saved)
    window.bridge.opened.connect(controller.refresh)
    window.bridge.eventsArrived.connect(controller.on_events)
    window.files = controller
    return controller
