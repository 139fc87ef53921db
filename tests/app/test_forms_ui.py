"""Forms in the IDE, driven through the widgets as a person answers them: first the form widget
and the window's handling of hand-made engine events, then a real engine running a flow that
asks ``this.message('Approve?', body=FORM)``."""

from __future__ import annotations

import dataclasses
import threading
import time

import pytest
from PySide6.QtCore import QPoint, Qt
from PySide6.QtWidgets import QCheckBox, QComboBox, QDateEdit, QDoubleSpinBox, QLabel, QLineEdit, QTimeEdit

from engine_core import events as ev

FORM = {
    "type": "object",
    "properties": {
        "intro": {"element": "markdown", "description": "Please **check** the change first.", "order": 1},
        "reason": {"label": "Reason", "element": "string", "type": "string", "example": "tested", "order": 2},
        "copies": {"label": "Copies", "element": "number", "type": "number", "default": "2", "order": 3},
        "notify": {"label": "Notify the team", "element": "toggle", "type": "boolean", "order": 4},
        "level": {"label": "Level", "element": "select", "options": ["low", "high"], "order": 5},
        "at": {"label": "At", "element": "time", "type": "string", "order": 6},
        "on": {"label": "On", "element": "date", "type": "string", "default": "2026-12-24", "order": 7},
        "approve": {"label": "Approve", "element": "submit", "type": "boolean", "order": 8},
        "reject": {"label": "Reject", "element": "submit", "type": "boolean", "order": 9},
    },
    "required": ["reason", "level"],
}


def _message_added(execution_id: int, message_id: int, subject: str, form: dict | None, message: str = ""):
    """The engine's event for a form; before the engine side of issue 9 lands, MessageAdded
    has no form fields, so a stand-in with them is made."""
    try:
        return ev.MessageAdded(execution_id, subject, message, time.time(), message_id=message_id, form=form)
    except TypeError:
        @dataclasses.dataclass(frozen=True)
        class FormMessageAdded(ev.MessageAdded):
            message_id: int | None = None
            form: dict | None = None
        return FormMessageAdded(execution_id, subject, message, time.time(), message_id=message_id, form=form)


def _form_answered(message_id: int, execution_id: int, response: dict):
    cls = getattr(ev, "FormAnswered", None)
    if cls is None:
        pytest.skip("engine_core.events.FormAnswered is not there yet (engine side of issue 9)")
    return cls(execution_id, message_id, response, time.time())


def _record(message_id=7, execution_id=3, form=FORM, subject="Approve?"):
    return {"id": message_id, "execution_id": execution_id, "subject": subject, "message": "Release 1.2",
            "form": form, "response": None, "state": "open", "at": time.time(), "answered_at": None}


def _visible_error(widget, key: str) -> str:
    label = widget.findChild(QLabel, f"formError:{key}")
    return label.text() if label is not None and label.isVisibleTo(widget) else ""


# -- the form widget ----------------------------------------------------------------------------
def test_a_form_shows_each_element_with_defaults_and_required_marks(qtbot):
    from app.forms import FormWidget

    form = FormWidget(_record(), "#3 Release")
    qtbot.addWidget(form)
    form.show()
    assert "Approve?" in form.findChild(QLabel, "formTitle").text()
    assert "#3 Release" in form.findChild(QLabel, "formTitle").text()
    assert form.findChild(QLabel, "formText:intro").text() == "Please **check** the change first."
    kinds = {key: type(editor.widget if not hasattr(editor, "edit") else editor.edit).__name__
             for key, editor in form.editors.items()}
    assert kinds == {"reason": "QLineEdit", "copies": "NumberBox", "notify": "QCheckBox", "level": "QComboBox",
                     "at": "QTimeEdit", "on": "QDateEdit"}
    assert isinstance(form.editors["copies"].widget, QDoubleSpinBox)
    assert form.editors["copies"].widget.text() == "2"  # the default, shown as a person wrote it
    assert form.editors["reason"].widget.placeholderText() == "e.g. tested"
    assert form.editors["on"].edit.date().toString("yyyy-MM-dd") == "2026-12-24"
    assert not form.editors["at"].edit.isEnabled()  # no default: no time until one is given
    labels = [w.text() for w in form.findChildren(QLabel)]
    assert any(t.startswith("Reason") and "*" in t for t in labels)
    assert any(t.startswith("Copies") and "*" not in t for t in labels)
    assert [b.text() for b in form.buttons.values()] == ["Approve", "Reject"]


def test_a_missing_answer_is_shown_under_its_field_and_nothing_is_sent(qtbot):
    from app.forms import FormWidget

    form = FormWidget(_record(), "")
    qtbot.addWidget(form)
    form.show()
    sent = []
    form.answered.connect(lambda *a: sent.append(a))
    qtbot.mouseClick(form.buttons["approve"], Qt.MouseButton.LeftButton)
    assert sent == []
    assert _visible_error(form, "reason") == "field 'Reason' (reason) is required; enter a value"
    assert _visible_error(form, "level") == "field 'Level' (level) is required; choose one of the options"
    assert form.state == "open" and form.buttons["approve"].isEnabled()


def test_filling_the_widgets_and_pressing_a_button_sends_the_typed_answer(qtbot):
    from app.forms import FormWidget

    form = FormWidget(_record(), "")
    qtbot.addWidget(form)
    form.show()
    qtbot.keyClicks(form.findChild(QLineEdit, "formField:reason"), "all tests green")
    form.findChild(QCheckBox, "formField:notify").click()
    form.findChild(QComboBox, "formField:level").setCurrentText("high")
    form.editors["copies"].widget.setValue(3)
    form.editors["at"].widget.enabled_box.click()
    form.editors["at"].edit.setTime(form.editors["at"].edit.time().fromString("14:30:00", "HH:mm:ss"))
    with qtbot.waitSignal(form.answered) as sent:
        qtbot.mouseClick(form.buttons["reject"], Qt.MouseButton.LeftButton)
    message_id, response = sent.args
    assert message_id == 7
    assert response["at"].startswith("14:30:00") and len(response["at"]) == len("14:30:00+01:00")
    del response["at"]
    assert response == {"reason": "all tests green", "copies": 3, "notify": True, "level": "high",
                        "on": "2026-12-24", "approve": False, "reject": True}
    assert form.state == "sending"
    assert not form.findChild(QLineEdit, "formField:reason").isEnabled()
    # The engine refuses (e.g. answered elsewhere meanwhile): said in the form, editable again.
    form.send_failed("message 7 was answered already")
    assert form.state == "open" and form.buttons["approve"].isEnabled()
    assert _visible_error(form, "") == "message 7 was answered already"


def test_enter_in_a_text_field_answers_a_one_button_form(qtbot):
    from app.forms import FormWidget

    one = {"properties": {"name": {"element": "string", "label": "Name"}, "ok": {"element": "submit", "label": "OK"}},
           "required": ["name"]}
    form = FormWidget(_record(form=one), "")
    qtbot.addWidget(form)
    form.show()
    edit = form.findChild(QLineEdit, "formField:name")
    qtbot.keyClicks(edit, "Ada")
    with qtbot.waitSignal(form.answered) as sent:
        qtbot.keyClick(edit, Qt.Key.Key_Return)
    assert sent.args[1] == {"name": "Ada", "ok": True}


def test_a_broken_stored_form_says_why_instead_of_failing(qtbot):
    from app.forms import FormWidget

    form = FormWidget(_record(form={"properties": {"x": {"element": "slider"}}}), "")
    qtbot.addWidget(form)
    assert "This form cannot be shown: form field 'x' has the unknown element 'slider'" in form.banner.text()


# -- the window, with hand-made engine events ---------------------------------------------------
class _FakeEngine:
    """Stands in for Engine.respond: records the call and the thread it ran on."""

    def __init__(self, fail: str | None = None):
        self.calls, self.threads, self.fail = [], [], fail

    def respond(self, message_id, response):
        self.calls.append((message_id, response))
        self.threads.append(threading.current_thread())
        if self.fail:
            from engine_core.errors import UsageError
            raise UsageError(self.fail)
        return {"id": message_id, "state": "answered", "response": response, "answered_at": time.time()}

    def close(self):
        pass


def _created(execution_id, name="Release"):
    return ev.ExecutionCreated(id=execution_id, parent_id=None, root_id=execution_id, flow="Release", name=name,
                               kind="flow", status="queued", inputs={}, at=time.time())


def test_a_form_event_opens_the_form_tells_the_user_and_marks_the_execution(qtbot, make_window):
    window = make_window()
    window.tree_model.enqueue([_created(3), ev.StatusChanged(3, "running", None, time.time())])
    qtbot.waitUntil(lambda: window.tree_model.node(3) is not None)
    window.bridge.eventsArrived.emit([_message_added(3, 7, "Approve?", FORM, "Release 1.2"),
                                      ev.StatusChanged(3, "paused", "waiting for an answer", time.time())])
    form = window.forms.panel.form(7)
    assert form is not None and form.isVisibleTo(window)
    assert window.messages_dock.windowTitle() == "Messages (1 open form)"
    assert window.statusBar().currentMessage() == ("#3 Release asks: Approve? — answer it in the Messages panel")
    qtbot.waitUntil(lambda: window.tree_model.index_for(3).siblingAtColumn(2).data() == "waiting for answer")
    # The form's row in the table says it is a form, and activating it brings the form up.
    row = window.messages_model.index(0, 3)
    assert row.data() == "Release 1.2 — form: answer it beside this table"
    assert row.data(window.messages_model.MessageIdRole) == 7


def test_answering_calls_engine_respond_off_the_gui_thread(qtbot, make_window):
    window = make_window()
    engine = window.bridge.engine = _FakeEngine()
    window.bridge.eventsArrived.emit([_message_added(3, 7, "Approve?", FORM)])
    form = window.forms.panel.form(7)
    qtbot.keyClicks(form.findChild(QLineEdit, "formField:reason"), "ok")
    form.findChild(QComboBox, "formField:level").setCurrentIndex(1)
    qtbot.mouseClick(form.buttons["approve"], Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: form.state == "answered")
    assert engine.calls[0][0] == 7 and engine.calls[0][1]["approve"] is True
    assert engine.threads[0] is not threading.main_thread()
    assert form.banner.text().startswith("✓ Answered at ")
    assert window.messages_dock.windowTitle() == "Messages"


def test_a_refused_answer_shows_in_the_form_not_in_a_dialog(qtbot, make_window):
    window = make_window()
    window.bridge.engine = _FakeEngine(fail="message 7 was answered already; nothing to do")
    window.bridge.eventsArrived.emit([_message_added(3, 7, "Approve?", FORM)])
    form = window.forms.panel.form(7)
    qtbot.keyClicks(form.findChild(QLineEdit, "formField:reason"), "ok")
    form.findChild(QComboBox, "formField:level").setCurrentIndex(1)
    form.buttons["approve"].click()
    qtbot.waitUntil(lambda: _visible_error(form, "") != "")
    assert _visible_error(form, "") == "message 7 was answered already; nothing to do"
    assert form.state == "open" and window.last_error is None


def test_cancelling_the_execution_closes_its_form(qtbot, make_window):
    window = make_window()
    window.bridge.eventsArrived.emit([_message_added(3, 7, "Approve?", FORM), _message_added(4, 8, "Other", FORM)])
    assert window.messages_dock.windowTitle() == "Messages (2 open forms)"
    assert window.forms.indicator.text() == "✎ 2 forms waiting"
    assert window.statusBar().currentMessage() == "2 new forms wait for an answer in the Messages panel"
    window.bridge.eventsArrived.emit([ev.StatusChanged(3, "cancelled", "cancelled by user", time.time())])
    form = window.forms.panel.form(7)
    assert form.state == "cancelled" and not form.buttons["approve"].isEnabled()
    assert "the execution was cancelled" in form.banner.text()
    assert window.messages_dock.windowTitle() == "Messages (1 open form)"
    # A closed form's tab can be closed; an open one's cannot (its execution still waits).
    panel = window.forms.panel
    panel.tabCloseRequested.emit(1)
    assert panel.form(8) is not None
    panel.tabCloseRequested.emit(0)
    assert panel.form(7) is None


def test_form_answered_event_marks_the_form_answered(qtbot, make_window):
    window = make_window()
    window.bridge.eventsArrived.emit([_message_added(3, 7, "Approve?", FORM)])
    window.bridge.eventsArrived.emit([_form_answered(7, 3, {"approve": True})])
    assert window.forms.panel.form(7).state == "answered"
    assert window.messages_dock.windowTitle() == "Messages"


def test_pause_and_resume_from_the_executions_context_menu_run_off_the_gui_thread(qtbot, make_window):
    window = make_window()
    calls = []

    class Engine(_FakeEngine):
        def pause(self, execution_id):
            calls.append(("pause", execution_id, threading.current_thread()))

        def resume(self, execution_id):
            calls.append(("resume", execution_id, threading.current_thread()))

    window.bridge.engine = Engine()
    window.tree_model.enqueue([_created(3), ev.StatusChanged(3, "running", None, time.time())])
    qtbot.waitUntil(lambda: window.tree_model.node(3) is not None and window.tree_model.node(3).status == "running")
    menu = window.executions.context_actions(3)
    actions = {a.text(): a for a in menu.actions() if a.text()}
    assert [actions[t].isEnabled() for t in ("Pause", "Resume", "Cancel")] == [True, False, True]
    actions["Pause"].trigger()
    qtbot.waitUntil(lambda: len(calls) == 1)
    assert calls[0][:2] == ("pause", 3) and calls[0][2] is not threading.main_thread()
    window.tree_model.enqueue([ev.StatusChanged(3, "paused", "paused by user", time.time())])
    qtbot.waitUntil(lambda: window.tree_model.node(3).status == "paused")
    actions = {a.text(): a for a in window.executions.context_actions(3).actions() if a.text()}
    assert [actions[t].isEnabled() for t in ("Pause", "Resume")] == [False, True]
    actions["Resume"].trigger()
    qtbot.waitUntil(lambda: len(calls) == 2)
    assert calls[1][:2] == ("resume", 3)
    # Waiting for a form's answer is not resumed by hand: answering the form resumes it.
    window.bridge.eventsArrived.emit([_message_added(3, 9, "Approve?", FORM)])
    actions = {a.text(): a for a in window.executions.context_actions(3).actions() if a.text()}
    assert actions["Resume"].isEnabled() is False
    assert window.tree_model.index_for(3).siblingAtColumn(2).data() == "waiting for answer"


# -- a real engine ------------------------------------------------------------------------------
APPROVE_FLOW = """
FORM = {
    'type': 'object',
    'properties': {
        'intro': {'element': 'markdown', 'description': 'Release **1.2** to production?', 'order': 1},
        'reason': {'label': 'Reason', 'element': 'string', 'type': 'string', 'order': 2},
        'copies': {'label': 'Copies', 'element': 'number', 'type': 'number', 'default': 2, 'order': 3},
        'notify': {'label': 'Notify the team', 'element': 'toggle', 'type': 'boolean', 'order': 4},
        'level': {'label': 'Level', 'element': 'select', 'options': ['low', 'high'], 'order': 5},
        'approve': {'label': 'Approve', 'element': 'submit', 'type': 'boolean', 'order': 6},
        'reject': {'label': 'Reject', 'element': 'submit', 'type': 'boolean', 'order': 7},
    },
    'required': ['reason', 'level'],
}

def handler(system, this, inputs):
    message = this.message('Approve?', body=FORM)
    response = message.get('response')
    this.set_output(response=response)
    return this.success('approved' if response['approve'] else 'rejected')
"""


def _needs_engine_forms():
    from engine_core.runtime.engine import Engine

    if not hasattr(Engine, "respond") or getattr(ev, "FormAnswered", None) is None:
        pytest.skip("the engine side of forms (Engine.respond, FormAnswered) has not landed yet")


def _start_approval(qtbot, window, workspace):
    workspace.write_flow("Approve", APPROVE_FLOW)
    window.ask_run_inputs = lambda flow, remembered: {}
    window.run_flow("Approve")
    qtbot.waitUntil(lambda: window.forms.panel.open_forms() != [], timeout=15000)
    form = window.forms.panel.open_forms()[0]
    qtbot.waitUntil(lambda: window.last_run_id is not None, timeout=5000)  # may come after the form
    assert form.subject == "Approve?" and form.execution_id == window.last_run_id
    return form


def test_a_flow_asks_the_user_answers_through_the_widgets_and_the_flow_goes_on(qtbot, make_window, workspace):
    _needs_engine_forms()
    window = make_window(workspace)
    form = _start_approval(qtbot, window, workspace)
    execution_id = form.execution_id
    assert window.forms.dock.isVisible()
    assert window.messages_dock.windowTitle() == "Messages (1 open form)"
    indicator = window.forms.indicator  # stays in the status bar while the form is open
    assert indicator.isVisible() and indicator.text() == "✎ 1 form waiting"
    qtbot.waitUntil(lambda: window.tree_model.index_for(execution_id).siblingAtColumn(2).data()
                    == "waiting for answer", timeout=10000)
    assert "Release 1.2 to production?" in form.findChild(QLabel, "formText:intro").text().replace("**", "")

    # A required field left empty: said under the field, nothing sent, the flow still waits.
    qtbot.mouseClick(form.buttons["approve"], Qt.MouseButton.LeftButton)
    assert _visible_error(form, "reason") == "field 'Reason' (reason) is required; enter a value"
    assert form.state == "open"

    qtbot.keyClicks(form.findChild(QLineEdit, "formField:reason"), "all tests green")
    box = form.findChild(QCheckBox, "formField:notify")
    qtbot.mouseClick(box, Qt.MouseButton.LeftButton, pos=QPoint(8, box.height() // 2))  # on its tick box
    form.findChild(QComboBox, "formField:level").setCurrentText("high")
    qtbot.mouseClick(form.buttons["approve"], Qt.MouseButton.LeftButton)

    qtbot.waitUntil(lambda: window.tree_model.node(execution_id).status == "success", timeout=15000)
    assert form.state == "answered" and form.banner.text().startswith("✓ Answered")
    assert window.messages_dock.windowTitle() == "Messages" and not indicator.isVisible()
    stored = window.bridge.engine.store.execution(execution_id)
    assert stored["outputs"]["response"] == {"reason": "all tests green", "copies": 2, "notify": True,
                                             "level": "high", "approve": True, "reject": False}
    assert stored["message"] == "approved"
    # The execution's details show the answer as its output.
    window.executions.select(execution_id)
    qtbot.waitUntil(lambda: "all tests green" in window.executions.details.toPlainText(), timeout=5000)


def test_cancelling_a_waiting_execution_closes_its_form(qtbot, make_window, workspace):
    _needs_engine_forms()
    window = make_window(workspace)
    form = _start_approval(qtbot, window, workspace)
    window.bridge.cancel(form.execution_id)
    qtbot.waitUntil(lambda: form.state == "cancelled", timeout=15000)
    assert not form.buttons["approve"].isEnabled()
    assert window.messages_dock.windowTitle() == "Messages"


def test_a_form_already_waiting_when_the_ide_starts_is_shown_and_answered(qtbot, make_window, workspace):
    """The flow runs in another engine (``flowdesk run`` in a terminal) and waits for its form;
    the IDE opened afterwards loads the open form from the store and answers it there."""
    _needs_engine_forms()
    import subprocess
    import sys

    from engine_core import Store, Workspace
    from engine_core.runtime.engine import resolve_db_url

    workspace.write_flow("Approve", APPROVE_FLOW)
    cli = subprocess.Popen([sys.executable, "-m", "engine_core.cli", "run", "Approve", "-w", str(workspace)],
                           stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    try:
        store = Store(resolve_db_url(Workspace.open(workspace.root), None))
        try:
            qtbot.waitUntil(lambda: store.forms(open_only=True) != [], timeout=20000)
        finally:
            store.close()
        window = make_window(workspace)
        qtbot.waitUntil(lambda: window.forms.panel.open_forms() != [], timeout=15000)
        form = window.forms.panel.open_forms()[0]
        assert form.subject == "Approve?"
        assert window.statusBar().currentMessage() == "1 form waits for an answer in the Messages panel"
        qtbot.keyClicks(form.findChild(QLineEdit, "formField:reason"), "from the IDE")
        form.findChild(QComboBox, "formField:level").setCurrentIndex(1)
        qtbot.mouseClick(form.buttons["reject"], Qt.MouseButton.LeftButton)
        qtbot.waitUntil(lambda: form.state == "answered", timeout=15000)
        assert window.statusBar().currentMessage() == "", "no stale 'form waits' once it is answered"
        output, _ = cli.communicate(timeout=30)
    finally:
        if cli.poll() is None:
            cli.kill()
            cli.wait()
    assert cli.returncode == 0, output
    assert "rejected" in output
