"""The Webhooks panel driven as a person uses it: New… (the dialog filled in and Create
clicked), the Enabled checkbox, Copy URL, then Serve Webhooks switched on and the copied URL
called over real HTTP on 127.0.0.1: the answer is the flow's outputs and the call is an
execution in the IDE's Executions tree; switched off, the port is closed."""

from __future__ import annotations

import json
import socket
import threading
import urllib.error
import urllib.request

from PySide6.QtCore import Qt
from PySide6.QtGui import QGuiApplication
from support import free_port

ECHO = """
    import flow_api


    def handler(system: flow_api.System, this: flow_api.Execution, inputs: dict):
        this.set_output(got=inputs['query'])
        return this.success('echoed')
"""


def _window(make_window, workspace):
    from app.webhooks import install

    workspace.write_flow("echo", ECHO)
    window = make_window(workspace)
    controller = install(window)
    assert install(window) is controller  # a second install changes nothing
    return window, controller


def _port_open(port: int) -> bool:
    try:
        socket.create_connection(("127.0.0.1", port), timeout=1).close()
        return True
    except OSError:
        return False


def _call(url: str) -> dict:
    """urllib on a thread: the GUI thread keeps running while the flow does."""
    result = {}

    def call():
        try:
            with urllib.request.urlopen(url, timeout=60) as response:
                result.update(status=response.status, body=json.loads(response.read()),
                              execution=int(response.headers["X-Flowdesk-Execution"]))
        except urllib.error.HTTPError as exc:
            result.update(status=exc.code, body=exc.read().decode())
        except OSError as exc:
            result.update(status=None, body=str(exc))

    threading.Thread(target=call, daemon=True).start()
    return result


def _create_through_dialog(qtbot, window, controller, name: str, flow: str):
    """The New… dialog is opened with ``open()`` (modal to the window, not blocking), so the
    test fills its fields and clicks Create as a person does."""
    panel = controller.panel
    panel.toolbar.actions()[0].trigger()  # New…
    dialog = controller.dialog
    assert dialog.isVisible() and dialog.windowTitle() == "New Webhook"
    assert not dialog.ok_button.isEnabled()  # no name yet
    qtbot.keyClicks(dialog.name_edit, name)
    dialog.flow_box.setCurrentText(flow)
    qtbot.mouseClick(dialog.ok_button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: name in panel.model.names(), timeout=10000)
    qtbot.waitUntil(lambda: controller.dialog is not dialog and controller.dialog.isVisible(), timeout=5000)
    return controller.dialog  # the key, shown once


def _cell(model, name: str, column: int, role=Qt.ItemDataRole.DisplayRole):
    return model.index(model.row_of(name), column).data(role)


def test_create_enable_copy_url_serve_and_call(qtbot, make_window, workspace):
    window, controller = _window(make_window, workspace)
    panel, model = controller.panel, controller.panel.model
    assert controller.dock.windowTitle() == "Webhooks"
    assert panel.header.text() == "Webhooks are not served from the IDE"

    key_dialog = _create_through_dialog(qtbot, window, controller, "new-order", "echo")
    key = key_dialog.value_edit.text()
    assert len(key) > 30 and "shown once" in key_dialog.findChildren(type(panel.header))[0].text()
    key_dialog.close()
    assert [_cell(model, "new-order", c) for c in range(4)] == ["new-order", "echo", "disabled", "yes"]
    assert _cell(model, "new-order", 2, Qt.ItemDataRole.CheckStateRole) == Qt.CheckState.Unchecked

    # The Enabled checkbox, ticked from the keyboard as a person can (Space on the cell).
    view = panel.view
    view.setFocus()
    view.setCurrentIndex(model.index(model.row_of("new-order"), 2))
    qtbot.keyClick(view, Qt.Key.Key_Space)
    qtbot.waitUntil(lambda: _cell(model, "new-order", 2) == "enabled", timeout=10000)
    assert _cell(model, "new-order", 2, Qt.ItemDataRole.CheckStateRole) == Qt.CheckState.Checked
    assert json.loads((workspace.root / "webhooks" / "new-order.json").read_text())["enabled"] is True

    port = free_port()
    panel.port_box.setValue(port)
    panel.select("new-order")
    QGuiApplication.clipboard().clear()
    next(a for a in panel.toolbar.actions() if a.text() == "Copy URL").trigger()
    expected = f"http://127.0.0.1:{port}/api/latest/webhook/new-order/call?key={key}"
    qtbot.waitUntil(lambda: QGuiApplication.clipboard().text() == expected, timeout=10000)

    serve = controller.serving.action
    assert serve in panel.toolbar.actions() and not serve.isChecked()
    run_menu = next(m for m in window.run_action.associatedObjects() if hasattr(m, "title"))
    assert serve in run_menu.actions()
    serve.trigger()
    assert serve.isChecked()
    assert panel.header.text() == f"Serving webhooks on http://127.0.0.1:{port}"
    assert controller.serving.status_label.text() == panel.header.text()

    answer = _call(expected + "&order=42")
    qtbot.waitUntil(lambda: bool(answer), timeout=60000)
    assert answer["status"] == 200, answer
    assert answer["body"] == {"got": {"order": "42"}}
    execution = answer["execution"]
    qtbot.waitUntil(lambda: window.tree_model.node(execution) is not None
                    and window.tree_model.node(execution).status == "success", timeout=10000)
    node = window.tree_model.node(execution)
    assert node.flow == "echo" and node.name == "webhook new-order"

    wrong = _call(f"http://127.0.0.1:{port}/api/latest/webhook/new-order/call?key=nope")
    qtbot.waitUntil(lambda: bool(wrong), timeout=20000)
    assert wrong["status"] == 401

    serve.trigger()  # off
    assert not serve.isChecked()
    qtbot.waitUntil(lambda: not _port_open(port), timeout=15000)
    qtbot.waitUntil(lambda: panel.header.text() == "Webhooks are not served from the IDE", timeout=15000)
    assert not controller.serving.status_label.isVisible()


def test_a_port_in_use_is_a_message_and_the_switch_goes_off(qtbot, make_window, workspace):
    window, controller = _window(make_window, workspace)
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen(1)
        controller.panel.port_box.setValue(taken.getsockname()[1])
        controller.serving.action.trigger()
        assert not controller.serving.action.isChecked()
        assert "cannot serve webhooks on 127.0.0.1:" in window.last_error
        assert "pick another port" in window.last_error
    assert controller.panel.header.text() == "Webhooks are not served from the IDE"


def test_serving_is_remembered_and_closing_the_window_stops_it(qtbot, make_window, workspace):
    window, controller = _window(make_window, workspace)
    port = free_port()
    controller.panel.port_box.setValue(port)
    controller.serving.action.trigger()
    assert _port_open(port)
    window.close()
    assert not _port_open(port)

    again, controller = _window(make_window, workspace)  # the next start serves again, same port
    assert controller.panel.port_box.value() == port
    qtbot.waitUntil(lambda: controller.serving.server is not None, timeout=10000)
    assert controller.serving.action.isChecked() and _port_open(port)
    assert controller.panel.header.text() == f"Serving webhooks on http://127.0.0.1:{port}"
    controller.serving.action.trigger()
    qtbot.waitUntil(lambda: not _port_open(port), timeout=15000)


def test_regenerate_delete_and_a_key_missing_on_this_machine(qtbot, make_window, workspace):
    from engine_core.webhooks import Webhooks
    from engine_core.workspace import Workspace

    window, controller = _window(make_window, workspace)
    panel, model = controller.panel, controller.panel.model
    first = _create_through_dialog(qtbot, window, controller, "hook", "echo").value_edit.text()
    asked = []
    controller.confirm = lambda title, text: asked.append(title) or True

    panel.select("hook")
    next(a for a in panel.toolbar.actions() if a.text() == "Regenerate Key…").trigger()
    qtbot.waitUntil(lambda: controller.dialog.value_edit.text() not in ("", first), timeout=10000)
    second = controller.dialog.value_edit.text()
    assert asked == ["Regenerate Key"]
    assert Webhooks(Workspace.open(workspace.root)).get("hook").accepts(second)

    # The key was made on another machine: this one has none; Copy URL says so and offers a new one.
    Webhooks(Workspace.open(workspace.root)).keys.delete("hook")
    answers = []
    controller.confirm = lambda title, text: answers.append((title, text)) or False
    QGuiApplication.clipboard().clear()
    panel.select("hook")
    next(a for a in panel.toolbar.actions() if a.text() == "Copy URL").trigger()
    qtbot.waitUntil(lambda: bool(answers), timeout=10000)
    assert answers[0][0] == "No Key on This Machine" and "Regenerate the key now?" in answers[0][1]
    assert QGuiApplication.clipboard().text() == ""

    controller.create("hook", "echo")  # the name is taken: a message, nothing changes
    qtbot.waitUntil(lambda: bool(window.last_error) and "exists already" in window.last_error, timeout=10000)
    assert model.names() == ["hook"]

    controller.confirm = lambda title, text: title == "Delete Webhook"
    panel.select("hook")
    next(a for a in panel.toolbar.actions() if a.text() == "Delete…").trigger()
    qtbot.waitUntil(lambda: model.names() == [], timeout=10000)
    assert not (workspace.root / "webhooks" / "hook.json").exists()
