"""The Run/Debug inputs dialog and the setting dialog, driven as the real dialogs with keys
typed as a user types them (no stub stands in for them here)."""

from __future__ import annotations

import json

import pytest
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QDialog

from app.dialogs.json_dialog import JsonDialog
from app.dialogs.run_inputs_dialog import RunInputsDialog
from inputs_driver import on_next_inputs_dialog

CTRL = Qt.KeyboardModifier.ControlModifier
SHIFT = Qt.KeyboardModifier.ShiftModifier


@pytest.fixture
def open_dialog(qtbot):
    def make(text="{}", template=None, verb="Run", flow="Calculator"):
        dialog = RunInputsDialog(flow, verb, text, template)
        qtbot.addWidget(dialog)
        dialog.show()
        qtbot.waitExposed(dialog)
        return dialog
    return make


def _end(qtbot, dialog):
    qtbot.keyClick(dialog.editor, Qt.Key.Key_End, CTRL)


def test_ctrl_enter_runs_with_the_typed_inputs(qtbot, open_dialog):
    dialog = open_dialog("")
    qtbot.keyClicks(dialog.editor, '{"initial_value": 7}')
    with qtbot.waitSignal(dialog.accepted, timeout=1000):
        qtbot.keyClick(dialog.editor, Qt.Key.Key_Return, CTRL)
    assert dialog.result() == QDialog.DialogCode.Accepted and dialog.value() == {"initial_value": 7}


def test_enter_runs_once_the_json_is_complete_and_types_a_newline_before(qtbot, open_dialog):
    dialog = open_dialog("")
    qtbot.keyClicks(dialog.editor, '{"a": 1,')
    qtbot.keyClick(dialog.editor, Qt.Key.Key_Return)  # incomplete: a new line, the dialog stays
    assert dialog.isVisible() and dialog.editor.toPlainText() == '{"a": 1,\n'
    qtbot.keyClicks(dialog.editor, ' "b": [2]}')
    with qtbot.waitSignal(dialog.accepted, timeout=1000):
        qtbot.keyClick(dialog.editor, Qt.Key.Key_Return)
    assert dialog.value() == {"a": 1, "b": [2]}


def test_shift_enter_always_types_a_newline_keeping_the_indentation(qtbot, open_dialog):
    dialog = open_dialog('{\n  "a": 1')
    _end(qtbot, dialog)
    qtbot.keyClick(dialog.editor, Qt.Key.Key_Return, SHIFT)
    assert dialog.editor.toPlainText() == '{\n  "a": 1\n  '
    qtbot.keyClicks(dialog.editor, "}")
    qtbot.keyClick(dialog.editor, Qt.Key.Key_Return, SHIFT)
    assert dialog.isVisible() and dialog.result() != QDialog.DialogCode.Accepted


def test_invalid_json_says_where_and_disables_run_and_the_keys(qtbot, open_dialog):
    dialog = open_dialog("")
    assert dialog.ok_button.text() == "Run" and dialog.windowTitle() == "Run Calculator"
    qtbot.keyClicks(dialog.editor, '{"a": 1')
    qtbot.keyClick(dialog.editor, Qt.Key.Key_Return, SHIFT)
    qtbot.keyClicks(dialog.editor, '"b": 2}')
    assert not dialog.ok_button.isEnabled()
    assert dialog.error.text() == "Not valid JSON: Expecting ',' delimiter (line 2, column 1)"
    qtbot.keyClick(dialog.editor, Qt.Key.Key_Return, CTRL)  # refused while invalid
    assert dialog.isVisible() and dialog.result() != QDialog.DialogCode.Accepted
    qtbot.keyClick(dialog.editor, Qt.Key.Key_A, CTRL)
    qtbot.keyClicks(dialog.editor, "[1, 2]")
    assert not dialog.ok_button.isEnabled() and "must be a JSON object" in dialog.error.text()
    qtbot.keyClick(dialog.editor, Qt.Key.Key_A, CTRL)
    qtbot.keyClicks(dialog.editor, "{}")
    assert dialog.ok_button.isEnabled() and "Ctrl+Enter to run" in dialog.error.text()


def test_the_template_fills_in_the_handlers_inputs_keeping_typed_values(qtbot, open_dialog):
    dialog = open_dialog('{"extra": true}', template={"initial_value": None, "mode": "fast"}, verb="Debug")
    assert dialog.windowTitle() == "Debug Calculator" and dialog.ok_button.text() == "Debug"
    assert "initial_value, mode" in dialog.template_button.toolTip()
    qtbot.mouseClick(dialog.template_button, Qt.MouseButton.LeftButton)
    assert json.loads(dialog.editor.toPlainText()) == {"initial_value": None, "mode": "fast", "extra": True}
    assert dialog.editor.textCursor().selectedText() == "null", "the first value to fill in is selected"
    qtbot.keyClicks(dialog.editor, "42")
    with qtbot.waitSignal(dialog.accepted, timeout=1000):
        qtbot.keyClick(dialog.editor, Qt.Key.Key_Return)
    assert dialog.value() == {"initial_value": 42, "mode": "fast", "extra": True}


def test_no_template_button_when_the_handler_reads_no_inputs(open_dialog):
    assert open_dialog("{}", template={}).template_button is None


def test_run_from_the_window_prefills_the_template_and_enter_runs(qtbot, make_window, workspace):
    window = make_window(workspace)
    window.open_flow("Calculator")
    seen = []

    def type_seven_and_enter(dialog):
        qtbot.keyClicks(dialog.editor, "7")  # replaces the selected null
        qtbot.keyClick(dialog.editor, Qt.Key.Key_Return)

    on_next_inputs_dialog(type_seven_and_enter, seen)
    window.run_current()
    assert seen == [("Run Calculator", '{\n  "initial_value": null\n}')]
    qtbot.waitUntil(lambda: window.last_run_id is not None and window.tree_model.node(window.last_run_id) is not None
                    and window.tree_model.node(window.last_run_id).status == "success", timeout=15000)
    remembered = window.session.run_inputs(str(workspace.root), "Calculator")
    assert json.loads(remembered) == {"initial_value": 7}

    # The next run offers what was typed last; Ctrl+Enter runs it as it is.
    first = window.last_run_id
    on_next_inputs_dialog(lambda d: qtbot.keyClick(d.editor, Qt.Key.Key_Return, CTRL), seen)
    window.run_current()
    assert seen[1] == ("Run Calculator", '{\n  "initial_value": 7\n}')
    qtbot.waitUntil(lambda: window.last_run_id != first, timeout=10000)


def test_debug_asks_in_a_dialog_titled_debug_and_escape_starts_nothing(qtbot, make_window, workspace):
    window = make_window(workspace)
    window.open_flow("Messenger")
    seen = []
    on_next_inputs_dialog(lambda d: (seen.append(d.ok_button.text()), qtbot.keyClick(d.editor, Qt.Key.Key_Escape)), seen)
    window.debug.debug_action.trigger()
    assert seen[0] == ("Debug Messenger", '{\n  "message_value": null\n}') and seen[1] == "Debug"
    assert not window.debug.controller.active and window.last_run_id is None


def test_new_setting_dialog_saves_on_ctrl_enter(qtbot, make_window, workspace):
    window = make_window(workspace)
    window.settings.edit(None)  # shown with open(): no nested event loop to drive
    dialog = window.findChild(JsonDialog, "settingDialog")
    assert dialog is not None and dialog.isVisible() and not dialog.ok_button.isEnabled()
    assert dialog.error.text() == "Enter a name."
    qtbot.keyClicks(dialog.name_edit, "region")
    dialog.editor.setFocus()
    qtbot.keyClick(dialog.editor, Qt.Key.Key_A, CTRL)
    qtbot.keyClicks(dialog.editor, '{"name": "eu"')
    qtbot.keyClick(dialog.editor, Qt.Key.Key_Return)  # incomplete: a newline
    assert dialog.isVisible()
    qtbot.keyClicks(dialog.editor, "}")
    qtbot.keyClick(dialog.editor, Qt.Key.Key_Return, CTRL)
    qtbot.waitUntil(lambda: window.explorer.item_for("setting", "region") is not None, timeout=5000)
    assert window.bridge.engine.store.settings() == {"region": {"name": "eu"}}
