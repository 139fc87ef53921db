"""Stored connector records (``connectors/<name>.json``) in the IDE: the Explorer's Connectors
section (name and type; double-click edits; New…/Edit…/Delete… in the context menu), the record
form (:mod:`.form`), and the record names handed to lint and completion, so that
``this.connect('crm-api', methd='GET')`` is checked against the record's connector type.

Records are listed off the GUI thread when the workspace opens and whenever the ``connectors/``
folder changes (a file watcher, plus a cheap mtime check before each listing); the editor reads
the last listing (``window.tabs.connector_records``), never the disk, per keystroke.
``install(window)`` uses only the window's public attributes and is idempotent."""

from __future__ import annotations

from pathlib import Path

import shiboken6
from PySide6.QtCore import QFileSystemWatcher, QObject, QTimer
from PySide6.QtWidgets import QMainWindow, QMessageBox

from engine_core.connectors import records

from ..tasks import run_in_background
from .form import RecordDialog
from ..watching import watch_exactly

__all__ = ["install", "ConnectorsController", "RecordDialog"]


class ConnectorsController(QObject):
    def __init__(self, window: QMainWindow):
        super().__init__(window)
        self.window = window
        self.types: dict[str, str] = {}  # record name -> connector type, as last listed
        self.dialog: RecordDialog | None = None
        self._stamp: tuple | None = None
        # Asked before a record is deleted: (name) -> bool. Tests replace it.
        self.confirm_delete = lambda name: QMessageBox.question(
            window, "Delete connector record",
            f"Delete connector record {name!r} and its stored secrets?") == QMessageBox.StandardButton.Yes
        self._watcher = QFileSystemWatcher(self)
        self._watcher.directoryChanged.connect(lambda _path: self._refresh_soon.start())
        self._refresh_soon = QTimer(self, singleShot=True, interval=300)
        self._refresh_soon.timeout.connect(self.refresh)

    # -- the list -------------------------------------------------------------------------------
    def refresh(self, force: bool = False) -> None:
        workspace = self.window.workspace
        if workspace is None:
            self._show(None, {}, None)
            return
        run_in_background(_list, workspace, None if force else self._stamp,
                          on_done=lambda found, w=workspace: self._show(w, *found),
                          on_error=lambda text: self._alive() and self.window.statusBar().showMessage(text, 10000),
                          owner=self)

    def _alive(self) -> bool:
        return shiboken6.isValid(self.window) and shiboken6.isValid(self.window.explorer)

    def _show(self, workspace, types: dict | None, stamp) -> None:
        if not self._alive() or workspace is not self.window.workspace:
            return
        if types is None:  # the folder is unchanged since the last listing
            return
        self._stamp = stamp
        changed = types != self.types
        self.types = types
        self.window.explorer.set_connectors(sorted(types.items()))
        if workspace is not None:
            folders = [str(workspace.root)] + ([str(workspace.connectors_dir)] if workspace.connectors_dir.is_dir() else [])
            watch_exactly(self._watcher, folders)
        if changed:
            self.window.tabs.relint_all()

    def record_types(self) -> dict[str, str]:
        return dict(self.types)

    # -- new, edit, delete ----------------------------------------------------------------------
    def new_record(self) -> RecordDialog | None:
        return self._open_dialog(None, None)

    def edit_record(self, name: str) -> None:
        workspace = self.window.workspace
        if workspace is None:
            return
        run_in_background(records.stored, workspace, name, on_done=lambda stored: self._open_dialog(name, stored),
                          on_error=lambda text: self._alive() and self.window.show_error(text), owner=self)

    def _open_dialog(self, name: str | None, stored) -> RecordDialog | None:
        if self.window.workspace is None:
            return None
        if self.dialog is not None and shiboken6.isValid(self.dialog):
            self.dialog.close()
        self.dialog = RecordDialog(self.window.workspace, name, stored, on_saved=self._saved, parent=self.window)
        self.dialog.show()
        return self.dialog

    def _saved(self, name: str) -> None:
        self.window.statusBar().showMessage(f"Saved connector record {name} (connectors/{name}.json)", 5000)
        self.refresh(force=True)

    def delete_record(self, name: str) -> None:
        workspace = self.window.workspace
        if workspace is None or not self.confirm_delete(name):
            return
        run_in_background(records.delete, workspace, name, on_done=lambda _: self.refresh(force=True),
                          on_error=lambda text: self._alive() and self.window.show_error(text), owner=self)


def _list(workspace, stamp) -> tuple[dict | None, tuple]:
    """``(record name -> type, the folder's stamp)``; the mapping is None when the stamp (the
    files' names and modification times) is unchanged since ``stamp``."""
    now = _stamp(workspace.connectors_dir)
    if stamp is not None and now == stamp:
        return None, now
    return records.types(workspace), now


def _stamp(folder: Path) -> tuple:
    try:
        return tuple(sorted((p.name, p.stat().st_mtime_ns) for p in folder.glob("*.json")))
    except OSError:
        return ()


def install(window: QMainWindow) -> ConnectorsController:
    """Add the Connectors section, the record form and the records for lint/completion;
    returns the controller (also ``window.connectors``). A second call changes nothing."""
    existing = getattr(window, "connectors", None)
    if existing is not None:
        return existing
    controller = ConnectorsController(window)
    explorer = window.explorer
    explorer.newConnector.connect(controller.new_record)
    explorer.editConnector.connect(controller.edit_record)
    explorer.deleteConnector.connect(controller.delete_record)
    window.tabs.connector_records = controller.record_types
    window.bridge.opened.connect(lambda *_: controller.refresh(force=True))
    window.connectors = controller
    controller.refresh(force=True)
    return controller
