"""New, Edit and Delete Setting (the Explorer's Settings): a JSON dialog for the value, the
store written through the engine bridge off the GUI thread."""

from __future__ import annotations

import json
from typing import TYPE_CHECKING

from PySide6.QtWidgets import QMessageBox

from .dialogs.json_dialog import JsonDialog

if TYPE_CHECKING:
    from .main_window import MainWindow


class SettingsEditing:
    def __init__(self, window: "MainWindow"):
        self.window = window

    def edit(self, name: str | None) -> None:
        bridge = self.window.bridge
        if not bridge.is_open:
            return self.window.show_error("the engine is still starting; try again in a moment")
        if name is None:
            self._open_dialog(None, None)
        else:  # read the current value off the GUI thread, then ask
            bridge.read(lambda store: store.settings().get(name), on_done=lambda v: self._open_dialog(name, v))

    def _open_dialog(self, name: str | None, current) -> None:
        """Shown with open(), not exec(): no nested event loop; the answer comes as a signal."""
        dialog = JsonDialog("Edit Setting" if name else "New Setting", "Value (JSON)",
                            json.dumps(current, indent=2, ensure_ascii=False), name=name or "", parent=self.window)
        dialog.setObjectName("settingDialog")
        if name:
            dialog.name_edit.setReadOnly(True)
            dialog.editor.setFocus()
        dialog.accepted.connect(lambda: self.save(dialog.name(), dialog.value()))
        dialog.finished.connect(dialog.deleteLater)
        dialog.open()

    def save(self, name: str, value) -> None:
        self.window.bridge.read(lambda store: store.save_setting(name, value),
                                on_done=lambda _: self.window._refresh_store_views())

    def delete(self, name: str) -> None:
        answer = QMessageBox.question(self.window, "Delete Setting", f"Delete the setting {name!r}?",
                                      QMessageBox.StandardButton.Yes | QMessageBox.StandardButton.No,
                                      QMessageBox.StandardButton.No)
        if answer == QMessageBox.StandardButton.Yes:
            self.window.bridge.read(lambda store: store.delete_setting(name),
                                    on_done=lambda _: self.window._refresh_store_views())
