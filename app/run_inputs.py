"""Before a run or a debug session: save the flows, then ask for the inputs — remembered per
flow, or, when nothing is remembered, the inputs the handler reads (found in its code)."""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Any, Callable

from engine_core.analysis.inputs import inputs_template

from .dialogs.run_inputs_dialog import RunInputsDialog

if TYPE_CHECKING:
    from .main_window import MainWindow

# (flow, remembered JSON text) -> the inputs, or None when cancelled.
Asker = Callable[[str, str], "dict | None"]


class RunInputs:
    def __init__(self, window: "MainWindow"):
        self.window = window

    def prepare(self, flow: str, verb: str = "Run") -> dict | None:
        """Save all flows and ask for the inputs; None if cancelled (or nothing to run)."""
        window = self.window
        if window.workspace is None:
            return None
        try:
            window.tabs.save_all()  # a run uses what is on disk: the user expects their edits
        except OSError as exc:
            window.show_error(f"could not save before starting {flow!r}: {exc.strerror or exc}")
            return None
        root = str(window.workspace.root)
        remembered = window.session.run_inputs(root, flow)
        # A replacement asker (set by a test or a script) stands in for the dialog.
        asker = window.ask_run_inputs or (lambda f, r: self.ask(f, r, verb))
        inputs = asker(flow, remembered)
        if inputs is not None:
            window.session.save_run_inputs(root, flow, json.dumps(inputs))
        return inputs

    def dialog(self, flow: str, remembered: str, verb: str) -> RunInputsDialog:
        """The dialog, prefilled: the remembered inputs, else the handler's template."""
        template = self.template(flow)
        try:
            value = json.loads(remembered)
        except ValueError:
            value = {}
        if not value and template:
            value = template
        text = json.dumps(value, indent=2, ensure_ascii=False) if value else "{}"
        dialog = RunInputsDialog(flow, verb, text, template, parent=self.window)
        if value is template:
            dialog.fill_in_template()  # places the cursor on the first value to type
        return dialog

    def ask(self, flow: str, remembered: str, verb: str) -> dict | None:
        dialog = self.dialog(flow, remembered, verb)
        try:
            return dialog.value() if dialog.exec() else None
        finally:
            dialog.deleteLater()

    def template(self, flow: str) -> dict[str, Any]:
        """The inputs the handler reads, from the flow's saved file (saved just before).
        One small file and one ``ast.parse``: well under a frame's time."""
        try:
            source = self.window.workspace.flow_path(flow).read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError):
            return {}
        return inputs_template(source)
