"""New, rename and delete a flow: the prompt, the workspace change, and what the window shows
afterwards (the Explorer, the tabs, the Problems panel). A refused change says why."""

from __future__ import annotations

from typing import TYPE_CHECKING

from PySide6.QtWidgets import QInputDialog, QMessageBox

from engine_core.errors import FlowdeskError

if TYPE_CHECKING:
    from .main_window import MainWindow


class FlowCommands:
    def __init__(self, window: "MainWindow"):
        self.window = window

    def ask_new(self) -> None:
        if self.window.workspace is None:
            return self.window.show_error("open a workspace first (File ▸ Open Workspace)")
        name, ok = QInputDialog.getText(self.window, "New Flow", "Flow name:")
        if ok and name:
            self.create(name.strip())

    def create(self, name: str) -> bool:
        if not self._changed(lambda: self.window.workspace.create_flow(name)):
            return False
        self.window.tabs.open_flow(name)
        return True

    def ask_rename(self, old: str) -> None:
        new, ok = QInputDialog.getText(self.window, "Rename Flow", f"New name for {old!r}:", text=old)
        if ok and new and new.strip() != old:
            self.rename(old, new.strip())

    def rename(self, old: str, new: str) -> bool:
        def renamed() -> None:  # before the Explorer's refresh relints the tabs under their names
            self.window.tabs.flow_renamed(old, new)
            self.window.problems_model.rename_flow(old, new)
        return self._changed(lambda: self.window.workspace.rename_flow(old, new), then=renamed)

    def ask_delete(self, name: str) -> None:
        answer = QMessageBox.question(self.window, "Delete Flow", f"Delete the flow {name!r}? Its file is removed.",
                                      QMessageBox.StandardButton.Yes | QMessageBox.StandardButton.No,
                                      QMessageBox.StandardButton.No)
        if answer == QMessageBox.StandardButton.Yes:
            self.delete(name)

    def delete(self, name: str) -> bool:
        return self._changed(lambda: self.window.workspace.delete_flow(name),
                             then=lambda: self.window.tabs.flow_deleted(name))

    def _changed(self, change, then=None) -> bool:
        """Apply ``change`` to the workspace, then ``then()`` to the tabs, then refresh the
        Explorer; False (and the reason shown) when the workspace refused the change."""
        try:
            change()
        except FlowdeskError as exc:
            self.window.show_error(str(exc))
            return False
        if then is not None:
            then()
        self.window._refresh_flows()
        return True
