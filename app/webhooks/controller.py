"""What the Webhooks panel's buttons do to the workspace's records (engine_core.webhooks
``Webhooks``): list, create, enable/disable, copy the URL, regenerate the key, delete. Each
touches the disk and perhaps the system keyring (which may wait on D-Bus), so each runs off the
GUI thread and the table is read again when it is done."""

from __future__ import annotations

import threading
from typing import Callable

import shiboken6
from PySide6.QtCore import QFileSystemWatcher, QObject, Qt, QTimer
from PySide6.QtGui import QGuiApplication
from PySide6.QtWidgets import QMessageBox

from engine_core.webhooks import WebhookError, Webhooks

from ..tasks import run_in_background
from .panel import KeyDialog, NewWebhookDialog, WebhooksPanel
from .server import DEFAULT_PORT, HOST

NO_KEY = "no-key"


def _ask(parent) -> Callable[[str, str], bool]:
    def confirm(title: str, text: str) -> bool:
        answer = QMessageBox.question(parent, title, text)
        return answer == QMessageBox.StandardButton.Yes
    return confirm


class WebhooksController(QObject):
    def __init__(self, window, panel: WebhooksPanel):
        super().__init__(window)
        self.window = window
        self.panel = panel
        # Asked before a key is regenerated or a webhook deleted: (title, question) -> yes?
        # A QMessageBox by default; tests and scripts put their answer here.
        self.confirm: Callable[[str, str], bool] = _ask(window)
        self.base_url: Callable[[], str] = lambda: f"http://{HOST}:{DEFAULT_PORT}"
        self.dialog: QObject | None = None  # the dialog last opened (New…, a key), for tests
        self._managers: dict = {}
        self._lock = threading.Lock()
        self._watcher = QFileSystemWatcher(self)
        self._watcher.directoryChanged.connect(lambda _path: self._refresh_soon.start())
        self._refresh_soon = QTimer(self, singleShot=True, interval=300)
        self._refresh_soon.timeout.connect(self.refresh)
        panel.model.enableRequested.connect(self.set_enabled)

    # -- helpers ----------------------------------------------------------------------------
    def _manager(self, workspace) -> Webhooks:
        """One ``Webhooks`` per workspace, made on a pool thread (its key store asks the keyring)."""
        with self._lock:
            if workspace not in self._managers:
                self._managers[workspace] = Webhooks(workspace)
            return self._managers[workspace]

    def _alive(self) -> bool:
        return shiboken6.isValid(self.window) and shiboken6.isValid(self.panel)

    def _run(self, fn, *args, on_done=None, reload_on_error: bool = True) -> bool:
        """``fn(manager, *args)`` on a pool thread, then ``on_done(result)``; errors as messages
        (and the table read again, as the record may have changed under the panel)."""
        workspace = self.window.workspace
        if workspace is None:
            self.window.show_error("open a workspace first (File > Open Workspace…)")
            return False

        def work():
            return fn(self._manager(workspace), *args)

        def done(result):
            if self._alive() and workspace == self.window.workspace and on_done is not None:
                on_done(result)

        def failed(message):
            if self._alive():
                self.window.show_error(message)
                if reload_on_error:
                    self.refresh()

        run_in_background(work, on_done=done, on_error=failed, owner=self.panel)
        return True

    def _target(self, name: str | None) -> str | None:
        name = name or self.panel.selected_name()
        if name is None:
            self.window.statusBar().showMessage("select a webhook in the Webhooks panel first", 5000)
        return name

    def _show_key(self, title: str, text: str, value: str) -> None:
        dialog = KeyDialog(title, text, value, self.window)
        dialog.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
        self.dialog = dialog
        dialog.open()

    # -- the list ---------------------------------------------------------------------------
    def refresh(self) -> None:
        workspace = self.window.workspace
        if workspace is None:
            self.panel.model.set_rows([])
            return

        def listed(hooks):
            selected = self.panel.selected_name()
            self.panel.model.set_rows(hooks)
            if selected:
                self.panel.select(selected)
            folders = [str(workspace.root), str(workspace.root / "webhooks")]
            missing = [f for f in folders if f not in self._watcher.directories()]
            if missing:
                self._watcher.addPaths(missing)  # a folder that does not exist yet is skipped

        self._run(lambda hooks: hooks.list(), on_done=listed, reload_on_error=False)

    # -- actions ----------------------------------------------------------------------------
    def new_webhook(self) -> None:
        """Ask for a name and a flow (not modal for the rest of the IDE), then ``create``."""
        if self.window.workspace is None:
            return self.window.show_error("open a workspace first (File > Open Workspace…)")
        flows = self.window.explorer.flow_names()
        if not flows:
            return self.window.show_error("this workspace has no flows yet; a webhook starts a flow: create one first")
        dialog = NewWebhookDialog(flows, self.window)
        dialog.created.connect(self.create)
        self.dialog = dialog
        dialog.open()

    def create(self, name: str, flow: str) -> None:
        def created(key):
            self.refresh_then_select(name)
            if key:
                self._show_key("Webhook Key", f"Webhook {name!r} starts flow {flow!r}; it is disabled until you "
                               "tick Enabled. This is its key, shown once here (Copy URL gives the URL with it):",
                               key)

        self._run(lambda hooks: hooks.create(name, flow), on_done=created)

    def refresh_then_select(self, name: str) -> None:
        def select(_=None):
            self.panel.model.modelReset.disconnect(select)
            self.panel.select(name)
        self.panel.model.modelReset.connect(select)
        self.refresh()

    def set_enabled(self, name: str, enabled: bool) -> None:
        def saved(hook):
            self.window.statusBar().showMessage(f"Webhook {hook.name} {'enabled' if hook.enabled else 'disabled'}",
                                                3000)
            self.refresh()
        self._run(lambda hooks: hooks.set_enabled(name, enabled), on_done=saved)

    def toggle_enabled(self, name: str | None = None) -> None:
        name = self._target(name)
        hook = self.panel.model.row_at(self.panel.model.row_of(name)) if name else None
        if hook is not None:
            self.set_enabled(hook.name, not hook.enabled)

    def copy_url(self, name: str | None = None) -> None:
        name = self._target(name)
        if name is None:
            return
        base = self.base_url()

        def url(hooks):
            try:
                return hooks.url(name, base)
            except WebhookError as exc:
                if hooks.get(name).key_required:  # the record is fine: this machine lacks the key
                    return (NO_KEY, str(exc))
                raise

        def got(result):
            if isinstance(result, tuple):
                if self.confirm("No Key on This Machine", f"{result[1]}.\n\nRegenerate the key now? Callers "
                                "using the old key will get 401."):
                    self.regenerate(name, confirmed=True)
                return
            QGuiApplication.clipboard().setText(result)
            self.window.statusBar().showMessage(f"Copied the URL of webhook {name} (with its key)", 5000)

        self._run(url, on_done=got)

    def regenerate(self, name: str | None = None, confirmed: bool = False) -> None:
        name = self._target(name)
        if name is None:
            return
        if not confirmed and not self.confirm("Regenerate Key", f"Make a new key for webhook {name!r}? Callers "
                                              "using the old key will get 401."):
            return

        def made(key):
            self.refresh()
            self._show_key("Webhook Key", f"The new key of webhook {name!r}, shown once here:", key)

        self._run(lambda hooks: hooks.regenerate_key(name), on_done=made)

    def delete(self, name: str | None = None) -> None:
        name = self._target(name)
        if name is None or not self.confirm("Delete Webhook", f"Delete webhook {name!r} and its key? Calls to "
                                            "its URL will get 404."):
            return

        def deleted(_):
            self.window.statusBar().showMessage(f"Deleted webhook {name}", 3000)
            self.refresh()

        self._run(lambda hooks: hooks.delete(name), on_done=deleted)
