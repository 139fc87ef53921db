"""The inputs of a run or a debug session: a JSON object, titled after what it starts
("Run Calculator" / "Debug Calculator", OK button "Run" / "Debug"), with the inputs the
handler reads (found in its code) a click away as a template."""

from __future__ import annotations

import json
from typing import Any

from PySide6.QtWidgets import QDialogButtonBox, QPushButton

from ..icons import themed_icon
from .json_dialog import JsonDialog


class RunInputsDialog(JsonDialog):
    def __init__(self, flow: str, verb: str, text: str, template: dict[str, Any] | None = None, parent=None):
        super().__init__(f"{verb} {flow}", f"Inputs of {flow} (a JSON object)", text,
                         require_object=True, parent=parent)
        self.setObjectName("runInputsDialog")
        self.template = dict(template or {})
        self.ok_button.setText(verb)
        dark = self.palette().window().color().lightness() < 128  # the app's theme is in its palette
        self.ok_button.setIcon(themed_icon("debug" if verb == "Debug" else "run", "dark" if dark else "light"))
        self.ok_button.setToolTip(f"{verb} {flow} (Ctrl+Enter)")
        self.template_button: QPushButton | None = None
        if self.template:
            names = ", ".join(self.template)
            self.template_button = self.buttons.addButton("Fill In Inputs", QDialogButtonBox.ButtonRole.ResetRole)
            self.template_button.setObjectName("templateButton")
            self.template_button.setToolTip(f"Add the inputs {flow} reads: {names}")
            self.template_button.clicked.connect(self.fill_in_template)
            self.prompt.setText(f"Inputs of {flow} (a JSON object; it reads {names})")
        self.hint = f"Enter or Ctrl+Enter to {verb.lower()}; Shift+Enter for a new line"
        self._validate()

    def fill_in_template(self) -> None:
        """Add the handler's inputs to what is typed: values already given are kept."""
        try:
            current = json.loads(self.editor.toPlainText() or "{}")
        except ValueError:
            current = {}
        merged = {**self.template, **current} if isinstance(current, dict) else dict(self.template)
        self.editor.setPlainText(json.dumps(merged, indent=2, ensure_ascii=False))
        self._select_first_placeholder()
        self.editor.setFocus()

    def _select_first_placeholder(self) -> None:
        """Put the cursor on the first ``null`` to fill in (typing replaces it)."""
        text = self.editor.toPlainText()
        at = text.find(": null")
        cursor = self.editor.textCursor()
        if at < 0:
            cursor.movePosition(cursor.MoveOperation.End)
        else:
            cursor.setPosition(at + 2)
            cursor.setPosition(at + 6, cursor.MoveMode.KeepAnchor)
        self.editor.setTextCursor(cursor)
