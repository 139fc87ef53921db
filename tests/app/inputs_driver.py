"""Answer the real Run/Debug inputs dialog as a user does, from a test. The IDE opens it with
exec() (Run and Debug wait for the answer), so a timer types into it from inside its event
loop; a failure closes the dialog, so a broken test fails instead of hanging."""

from __future__ import annotations

import json

from PySide6.QtCore import Qt, QTimer
from PySide6.QtWidgets import QApplication

from app.dialogs.run_inputs_dialog import RunInputsDialog


def on_next_inputs_dialog(answer, seen: list | None = None) -> None:
    """Call ``answer(dialog)`` on the next inputs dialog; ``seen`` gets (title, text) as shown."""
    def drive():
        dialog = QApplication.activeModalWidget()
        if not isinstance(dialog, RunInputsDialog):
            return QTimer.singleShot(20, drive)  # not shown yet
        try:
            if seen is not None:
                seen.append((dialog.windowTitle(), dialog.editor.toPlainText()))
            answer(dialog)
        finally:
            if dialog.isVisible():
                dialog.reject()
    QTimer.singleShot(0, drive)


def answer_inputs(qtbot, inputs: dict | None, seen: list | None = None) -> None:
    """Type ``inputs`` over what the next dialog shows and press Ctrl+Enter (None: Escape)."""
    def answer(dialog):
        if inputs is None:
            return qtbot.keyClick(dialog.editor, Qt.Key.Key_Escape)
        qtbot.keyClick(dialog.editor, Qt.Key.Key_A, Qt.KeyboardModifier.ControlModifier)
        qtbot.keyClicks(dialog.editor, json.dumps(inputs))
        qtbot.keyClick(dialog.editor, Qt.Key.Key_Return, Qt.KeyboardModifier.ControlModifier)
    on_next_inputs_dialog(answer, seen)
