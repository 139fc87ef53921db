"""The connector record form: the record's name, its connector type, and one field per
parameter the type declares (``engine_core.connectors.spec(type).params``). Secret parameters
are password fields whose values go to the keyring, never into ``connectors/<name>.json``.

Saving and "Test connection" happen off the GUI thread; the test runs the connector in a child
process (:mod:`.probe`), so a hanging connector cannot hang the IDE."""

from __future__ import annotations

import json

from PySide6.QtWidgets import (QComboBox, QDialog, QDialogButtonBox, QFormLayout, QLabel, QLineEdit,
                               QPushButton, QVBoxLayout, QWidget)

from engine_core import connectors
from engine_core.connectors import records

from ..tasks import run_in_background
from .probe import test_connection

KEYRING_HINT = "stored in the keyring"
KEEP_HINT = "stored in the keyring — leave empty to keep it"


def parse_value(text: str):
    """A field's value: JSON when the text parses as JSON (30, true, {"a": 1}), else the text."""
    try:
        return json.loads(text)
    except ValueError:
        return text


def shown_value(value) -> str:
    """A stored value as its field shows it: text as typed, anything else as JSON."""
    if isinstance(value, str):
        return json.dumps(value) if _looks_like_json(value) else value
    return json.dumps(value, ensure_ascii=False)


def _looks_like_json(text: str) -> bool:
    try:
        json.loads(text)
        return True
    except ValueError:
        return False


class RecordDialog(QDialog):
    """New (``name`` None) or edit a record; ``stored`` is ``(type, inputs)`` as in the file."""

    def __init__(self, workspace, name: str | None = None, stored: tuple[str, dict] | None = None,
                 on_saved=None, parent: QWidget | None = None):
        super().__init__(parent)
        self.setObjectName("connectorRecordDialog")
        self.setWindowTitle(f"Connector record {name}" if name else "New connector record")
        self.workspace, self.original_name, self._on_saved = workspace, name, on_saved
        kind, inputs = stored or ("REST", {})
        self._stored = dict(inputs)
        self._values: dict[str, str] = {k: ("" if records.is_secret_reference(v) else shown_value(v))
                                        for k, v in inputs.items()}
        self.fields: dict[str, QLineEdit] = {}

        layout = QVBoxLayout(self)
        head = QFormLayout()
        self.name_edit = QLineEdit(name or "", objectName="connectorName")
        self.name_edit.setPlaceholderText("e.g. crm-api — flows say this.connect('crm-api', ...)")
        self.type_combo = QComboBox(objectName="connectorType")
        self.type_combo.addItems(connectors.available())
        if self.type_combo.findText(kind) < 0:
            self.type_combo.addItem(kind)
        self.type_combo.setCurrentText(kind)
        head.addRow("Name", self.name_edit)
        head.addRow("Type", self.type_combo)
        layout.addLayout(head)
        self.type_doc = QLabel(objectName="connectorTypeDoc", wordWrap=True)
        layout.addWidget(self.type_doc)
        self.params_host = QWidget(objectName="connectorParams")
        self.params_form = QFormLayout(self.params_host)
        layout.addWidget(self.params_host)
        note = QLabel("Values are read as JSON when they parse as JSON (30, true, [\"a\"], {\"k\": 1}), "
                      "otherwise as text. * marks a required parameter; empty fields are left out.",
                      objectName="connectorJsonNote", wordWrap=True)
        layout.addWidget(note)
        self.status = QLabel(objectName="connectorStatus", wordWrap=True)
        self.status.setTextInteractionFlags(self.status.textInteractionFlags())
        layout.addWidget(self.status)
        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Save | QDialogButtonBox.StandardButton.Cancel)
        self.test_button = QPushButton("Test connection", objectName="connectorTest")
        buttons.addButton(self.test_button, QDialogButtonBox.ButtonRole.ActionRole)
        self.save_button = buttons.button(QDialogButtonBox.StandardButton.Save)
        buttons.accepted.connect(self.save)
        buttons.rejected.connect(self.reject)
        self.test_button.clicked.connect(self.test)
        layout.addWidget(buttons)
        self.type_combo.currentTextChanged.connect(self._build_fields)
        self._build_fields(self.type_combo.currentText())

    # -- the parameter fields ----------------------------------------------------------------
    def _build_fields(self, kind: str) -> None:
        for key, edit in self.fields.items():  # keep what was typed for a parameter of the same name
            self._values[key] = edit.text()
        while self.params_form.rowCount():
            self.params_form.removeRow(0)
        self.fields = {}
        try:
            spec = connectors.spec(kind)
        except Exception as exc:  # an unknown type in an old record
            self.type_doc.setText(str(exc))
            return
        self.type_doc.setText(spec.doc.strip().splitlines()[0] if spec.doc.strip() else "")
        secret_names = records.secret_inputs(kind)
        params = list(spec.params or ())
        declared = {n for p in params for n in (p.name, *p.aliases)}
        for p in params:
            self._add_field(p.name, p.required, p.secret or p.name in secret_names, p.doc,
                            next((a for a in p.aliases if a in self._values), None))
        for key in self._values:  # inputs the type does not declare (an undeclared plugin's)
            if key not in declared:
                self._add_field(key, False, key in secret_names, "", None)

    def _add_field(self, key: str, required: bool, secret: bool, doc: str, alias: str | None) -> None:
        edit = QLineEdit(self._values.get(key, self._values.get(alias, "") if alias else ""),
                         objectName=f"connectorParam:{key}")
        edit.setToolTip(doc)
        label = f"{key} *" if required else key
        if secret:
            edit.setEchoMode(QLineEdit.EchoMode.Password)
            stored = records.is_secret_reference(self._stored.get(key))
            edit.setPlaceholderText(KEEP_HINT if stored else KEYRING_HINT)
            label += " 🔒"
            edit.setToolTip(f"{doc}\n(secret: {KEYRING_HINT}, never in connectors/<name>.json)".strip())
        self.params_form.addRow(label, edit)
        self.fields[key] = edit

    def inputs(self) -> dict:
        """The inputs the form holds: empty fields left out, a stored secret left empty kept."""
        found = {}
        for key, edit in self.fields.items():
            text = edit.text()
            if text.strip():
                found[key] = parse_value(text)
            elif records.is_secret_reference(self._stored.get(key)):
                found[key] = self._stored[key]
        return found

    # -- actions ------------------------------------------------------------------------------
    def save(self) -> None:
        name, kind, inputs = self.name_edit.text().strip(), self.type_combo.currentText(), self.inputs()
        if not name:
            self._say("Give the record a name.", error=True)
            return
        self.save_button.setEnabled(False)
        self._say("Saving…")
        run_in_background(_save, self.workspace, self.original_name, name, kind, inputs,
                          on_done=self._saved, on_error=self._failed, owner=self)

    def _saved(self, name: str) -> None:
        self.save_button.setEnabled(True)
        if self._on_saved is not None:
            self._on_saved(name)
        self.accept()

    def _failed(self, message: str) -> None:
        self.save_button.setEnabled(True)
        self._say(message, error=True)

    def test(self) -> None:
        kind = self.type_combo.currentText()
        inputs = {k: v for k, v in self.inputs().items() if not records.is_secret_reference(v)}
        self.test_button.setEnabled(False)
        self._say("Testing the connection…")
        run_in_background(test_connection, str(self.workspace.root), self.original_name or "", kind, inputs,
                          on_done=self._tested, on_error=lambda m: self._tested(None, m), owner=self)

    def _tested(self, result, message: str = "") -> None:
        self.test_button.setEnabled(True)
        if result is not None and result.ok:
            self._say(f"Connection OK: {result.message}")
        else:
            self._say(f"Connection failed: {result.message if result is not None else message}", error=True)

    def _say(self, text: str, error: bool = False) -> None:
        self.status.setText(text)
        self.status.setStyleSheet("color: #c0392b;" if error else "")


def _save(workspace, original: str | None, name: str, kind: str, inputs: dict) -> str:
    if original and original != name:  # renamed: the secrets move with the record
        _, old = records.load(workspace, original)
        inputs = {k: (old.get(k) if records.is_secret_reference(v) else v) for k, v in inputs.items()}
        records.save(workspace, name, kind, inputs)
        records.delete(workspace, original)
    else:
        records.save(workspace, name, kind, inputs)
    return name
