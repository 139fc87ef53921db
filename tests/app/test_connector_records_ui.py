"""Connector records in the IDE, driven through the widgets: a record made in the form is
listed in the Explorer's Connectors section with its type and its file keeps no secret; the
editor's lint knows the records (a misspelt parameter of a record's connector is reported);
"Test connection" runs the connector in a child process and shows OK or the error."""

from __future__ import annotations

import json
import socket

import pytest
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QLabel, QLineEdit

from engine_core.connectors import records

from app.connectors import install
from support import QuietHandler, send_json, serving_http


def _window(make_window, workspace):
    window = make_window(workspace)
    install(window)
    install(window)  # idempotent: one section, one controller
    return window


def _double_click(qtbot, window, kind: str, key: str) -> None:
    item = window.explorer.item_for(kind, key)
    assert item is not None, f"{key} is not listed"
    index = item.index()
    window.explorer.scrollTo(index)
    rect = window.explorer.visualRect(index)
    qtbot.mouseClick(window.explorer.viewport(), Qt.MouseButton.LeftButton, pos=rect.center())
    qtbot.mouseDClick(window.explorer.viewport(), Qt.MouseButton.LeftButton, pos=rect.center())


def _type_into(qtbot, dialog, name: str, text: str) -> None:
    edit = dialog.findChild(QLineEdit, name)
    assert edit is not None, f"the form has no field {name}"
    edit.clear()
    qtbot.keyClicks(edit, text)


def _status(dialog) -> str:
    return dialog.findChild(QLabel, "connectorStatus").text()


def test_a_record_saved_through_the_form_is_listed_and_its_file_has_no_secret(qtbot, make_window, workspace):
    window = _window(make_window, workspace)
    section = window.explorer.connectors_item
    assert section.text() == "Connectors" and section.rowCount() == 0

    dialog = window.connectors.new_record()
    dialog.type_combo.setCurrentText("REST")
    password = dialog.findChild(QLineEdit, "connectorParam:password")
    assert password.echoMode() == QLineEdit.EchoMode.Password
    assert "keyring" in password.placeholderText()
    _type_into(qtbot, dialog, "connectorName", "crm-api")
    _type_into(qtbot, dialog, "connectorParam:url", "https://crm.example.com/api")
    _type_into(qtbot, dialog, "connectorParam:username", "robot")
    _type_into(qtbot, dialog, "connectorParam:password", "s3cret-Pa55")
    _type_into(qtbot, dialog, "connectorParam:read_timeout", "15")
    qtbot.mouseClick(dialog.save_button, Qt.MouseButton.LeftButton)

    qtbot.waitUntil(lambda: window.explorer.connector_names() == ["crm-api"], timeout=5000)
    assert window.explorer.item_for("connector", "crm-api").text() == "crm-api  (REST)"
    text = (workspace.root / "connectors" / "crm-api.json").read_text(encoding="utf-8")
    assert "s3cret-Pa55" not in text
    saved = json.loads(text)
    assert saved["type"] == "REST"
    assert saved["inputs"]["url"] == "https://crm.example.com/api"
    assert saved["inputs"]["read_timeout"] == 15  # typed as JSON
    assert records.is_secret_reference(saved["inputs"]["password"])
    assert records.load(str(workspace.root), "crm-api")[1]["password"] == "s3cret-Pa55"

    # Double-click edits: the form shows the record, the secret only as "stored".
    _double_click(qtbot, window, "connector", "crm-api")
    qtbot.waitUntil(lambda: window.connectors.dialog is not dialog and window.connectors.dialog.isVisible(),
                    timeout=5000)
    edit = window.connectors.dialog
    assert edit.name_edit.text() == "crm-api"
    assert edit.findChild(QLineEdit, "connectorParam:url").text() == "https://crm.example.com/api"
    stored_password = edit.findChild(QLineEdit, "connectorParam:password")
    assert stored_password.text() == "" and "leave empty to keep" in stored_password.placeholderText()
    _type_into(qtbot, edit, "connectorParam:username", "robot2")
    qtbot.mouseClick(edit.save_button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: not edit.isVisible(), timeout=5000)
    assert records.load(str(workspace.root), "crm-api")[1] == {
        "url": "https://crm.example.com/api", "username": "robot2", "password": "s3cret-Pa55", "read_timeout": 15}

    window.connectors.confirm_delete = lambda name: True
    window.explorer.deleteConnector.emit("crm-api")
    qtbot.waitUntil(lambda: window.explorer.connector_names() == [], timeout=5000)
    assert not (workspace.root / "connectors" / "crm-api.json").exists()


def test_lint_in_an_open_editor_knows_the_records(qtbot, make_window, workspace):
    records.save(str(workspace.root), "crm-api", "REST", {"url": "https://crm.example.com"})
    (workspace.root / "flows" / "Crm.py").write_text(
        "import flow_api\n\n"
        "def handler(system: flow_api.System, this: flow_api.Execution, inputs: dict):\n"
        "    this.connect('crm-api', methd='GET')\n"
        "    return this.success('done')\n", encoding="utf-8")
    window = _window(make_window, workspace)
    qtbot.waitUntil(lambda: window.explorer.connector_names() == ["crm-api"], timeout=5000)
    window.open_flow("Crm")

    def messages():
        return [p.message for p in window.problems_model.problems("Crm")]

    qtbot.waitUntil(lambda: any("did you mean 'method'" in m for m in messages()), timeout=10000)
    problem = next(p for p in window.problems_model.problems("Crm") if "did you mean 'method'" in p.message)
    assert problem.line == 4
    assert window.tabs.current_editor().problems_at_line(4)


class _Hello(QuietHandler):
    def do_GET(self):
        body = b'{"hello": "world"}'
        send_json(self, 200, body)


@pytest.fixture
def http_server():
    with serving_http(_Hello) as server:
        yield f"http://127.0.0.1:{server.server_address[1]}"


def _closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_test_connection_shows_ok_against_a_server_and_the_error_against_a_closed_port(
        qtbot, make_window, workspace, http_server):
    window = _window(make_window, workspace)
    dialog = window.connectors.new_record()
    dialog.type_combo.setCurrentText("REST")
    _type_into(qtbot, dialog, "connectorParam:url", http_server + "/ping")
    _type_into(qtbot, dialog, "connectorParam:password", "hunter2-secret")
    qtbot.mouseClick(dialog.test_button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: _status(dialog).startswith("Connection OK"), timeout=30000)
    assert "status_code=200" in _status(dialog)
    assert "hunter2-secret" not in _status(dialog)

    port = _closed_port()
    _type_into(qtbot, dialog, "connectorParam:url", f"http://robot:hunter2-secret@127.0.0.1:{port}/ping")
    qtbot.mouseClick(dialog.test_button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: _status(dialog).startswith("Connection failed"), timeout=30000)
    assert f"127.0.0.1:{port}" in _status(dialog)
    assert "hunter2-secret" not in _status(dialog)
    assert not (workspace.root / "connectors").exists()  # testing saves nothing


def test_completion_offers_record_names_with_a_dash_inside_the_quotes(qtbot, make_window, workspace):
    records.save(str(workspace.root), "crm-api", "REST", {"url": "https://crm.example.com"})
    window = _window(make_window, workspace)
    qtbot.waitUntil(lambda: window.explorer.connector_names() == ["crm-api"], timeout=5000)
    window.open_flow("Messenger")
    editor = window.tabs.current_editor()
    editor.go_to_line(4)  # inside the handler
    qtbot.keyClick(editor, Qt.Key.Key_End)
    qtbot.keyClick(editor, Qt.Key.Key_Return)
    qtbot.keyClicks(editor, "this.connect('crm-a")
    qtbot.keyClick(editor, Qt.Key.Key_Space, Qt.KeyboardModifier.ControlModifier)
    qtbot.waitUntil(editor.autoCActive, timeout=10000)
    qtbot.keyClick(editor, Qt.Key.Key_Return)
    line = editor.text().splitlines()[editor.current_line() - 1].strip()
    assert line.startswith("this.connect('crm-api") and line.count("crm") == 1, line


def test_the_graph_labels_a_record_node_with_its_type(workspace):
    from engine_core import Workspace
    from engine_core.graph import build_graph

    records.save(str(workspace.root), "crm-api", "REST", {"url": "https://crm.example.com"})
    (workspace.root / "flows" / "Crm.py").write_text(
        "def handler(system, this, inputs):\n"
        "    this.connect('crm-api', path='/users')\n"
        "    this.connect('GIT', url='x')\n", encoding="utf-8")
    graph = build_graph(Workspace(workspace.root))
    assert graph.nodes["connector:crm-api"].label == "crm-api (REST)"
    assert graph.nodes["connector:GIT"].label == "GIT"
    assert ("flow:Crm", "connector:crm-api") in graph.edges
