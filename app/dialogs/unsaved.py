"""The unsaved-changes prompt: before unsaved tabs are closed (a tab, the window, a workspace
switch), one question for all of them."""

from __future__ import annotations

from PySide6.QtWidgets import QMessageBox, QWidget


def ask_save_changes(parent: QWidget, names: list[str]) -> str:
    """"save", "discard" or "cancel" for the tabs titled ``names``."""
    listing = "\n".join(f"  • {n}" for n in names)
    box = QMessageBox(QMessageBox.Icon.Warning, "Unsaved changes",
                      f"These tabs have unsaved changes:\n{listing}\n\nSave them before closing?",
                      QMessageBox.StandardButton.Save | QMessageBox.StandardButton.Discard
                      | QMessageBox.StandardButton.Cancel, parent)
    box.setDefaultButton(QMessageBox.StandardButton.Save)
    answer = box.exec()
    return {QMessageBox.StandardButton.Save: "save", QMessageBox.StandardButton.Discard: "discard"}.get(
        QMessageBox.StandardButton(answer), "cancel")
