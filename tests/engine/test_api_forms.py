"""Forms (flows.md, the ``this.message(subject, body=FORM)`` / ``system.message(...)`` row):
a form pauses the flow until a person answers it (``Engine.respond``, ``flowdesk respond``);
``system.message`` returns at once and ``system.message(ID).wait()`` waits later; cancel ends
the wait; ``message.wait(timeout=)`` raises ``MessageResponseTimeoutError``."""

import json

import pytest

from api_support import WAIT_S, events, log_texts  # noqa: F401  (events is a fixture)
from support import run_cli

# Shaped like the forms of Cloudomation's public flows: markdown text, typed fields with
# labels and order, a select with options, two submit buttons, 'required' at the top.
DEPLOY_FORM = """{
    'type': 'object',
    'properties': {
        'intro': {'element': 'markdown', 'description': 'Deploy **build 42**?', 'order': 1},
        'environment': {'label': 'Environment', 'element': 'select', 'type': 'string',
                        'options': ['staging', 'production'], 'order': 2},
        'replicas': {'label': 'Replicas', 'element': 'number', 'type': 'number', 'default': 2, 'order': 3},
        'notify': {'label': 'Notify the team', 'element': 'toggle', 'type': 'boolean', 'default': False,
                   'order': 4},
        'Deploy': {'label': 'Deploy', 'element': 'submit', 'type': 'boolean', 'order': 5},
        'Abort': {'label': 'Abort', 'element': 'submit', 'type': 'boolean', 'order': 6},
    },
    'required': ['environment'],
}"""

APPROVAL_FLOW = f"""
FORM = {DEPLOY_FORM}

def handler(system, this, inputs):
    try:
        message = this.message('Deploy build 42?', body=FORM)
        response = message.get('response')
        if response['Abort']:
            return this.error('aborted by the user')
        this.set_output(response=response, subject=message.get('subject'))
        return this.success('deploying to ' + response['environment'])
    finally:
        this.log('finally ran')
"""

ANSWERED = {"environment": "production", "replicas": 2, "notify": False, "Deploy": True, "Abort": False}


def _start_approval(engine, workspace, events):
    workspace.write_flow("Approval", APPROVAL_FLOW)
    execution_id = engine.submit("Approval")
    added = events.wait_form(execution_id)
    assert added.subject == "Deploy build 42?"
    assert added.message_id is not None
    return execution_id, added.message_id


def test_this_message_with_a_form_pauses_until_engine_respond(engine, workspace, events):
    from engine_core.errors import UsageError

    execution_id, message_id = _start_approval(engine, workspace, events)
    events.wait_status(execution_id, "paused")
    stored = engine.store.message(message_id)
    assert (stored["execution_id"], stored["subject"], stored["state"], stored["response"]) == (
        execution_id, "Deploy build 42?", "open", None)
    assert stored["form"]["properties"]["environment"]["options"] == ["staging", "production"]
    assert message_id in [m["id"] for m in engine.store.forms(open_only=True)]
    assert engine.store.execution(execution_id)["status"] == "paused"

    with pytest.raises(UsageError, match="environment"):
        engine.respond(message_id, {"Deploy": True})                      # required field missing
    with pytest.raises(UsageError, match="replicas"):
        engine.respond(message_id, {"environment": "staging", "replicas": "many", "Deploy": True})
    with pytest.raises(UsageError, match="environment"):
        engine.respond(message_id, {"environment": "moon", "Deploy": True})  # not one of the options
    with pytest.raises(LookupError):
        engine.respond(987654, {"environment": "staging"})
    assert engine.store.message(message_id)["state"] == "open"

    answered = engine.respond(message_id, {"environment": "production", "Deploy": True})
    assert answered["state"] == "answered"
    assert answered["response"] == ANSWERED
    with pytest.raises(UsageError):
        engine.respond(message_id, {"environment": "staging", "Deploy": True})  # already answered

    record = engine.wait(execution_id, timeout=WAIT_S)
    assert (record["status"], record["message"]) == ("success", "deploying to production"), record["message"]
    assert record["outputs"] == {"response": ANSWERED, "subject": "Deploy build 42?"}
    assert engine.store.message(message_id)["state"] == "answered"
    assert message_id not in [m["id"] for m in engine.store.forms(open_only=True)]
    answered_events = events.of_type("FormAnswered")
    assert [(e.id, e.message_id, e.response) for e in answered_events] == [(execution_id, message_id, ANSWERED)]
    statuses = [e.status for e in events.of_type("StatusChanged") if e.id == execution_id]
    assert statuses[statuses.index("paused") + 1] == "running"


def test_the_other_button_reaches_the_flow(engine, workspace, events):
    execution_id, message_id = _start_approval(engine, workspace, events)
    engine.respond(message_id, {"environment": "staging", "Abort": True})
    record = engine.wait(execution_id, timeout=WAIT_S)
    assert (record["status"], record["message"]) == ("error", "aborted by the user")


def test_system_message_returns_at_once_and_a_later_execution_waits_for_the_answer(engine, workspace, events):
    # The library's two-step idiom: ask, hand the message id to a child, end; the child waits.
    workspace.write_flow("Ask Later", """
        FORM = {
            'type': 'object',
            'properties': {
                'label': {'element': 'markdown', 'description': 'Give a time or a delay', 'order': 1},
                'flow_name': {'label': 'Flow to start', 'element': 'string', 'type': 'string', 'order': 2},
                'delay': {'label': 'Delay in seconds', 'element': 'number', 'type': 'number',
                          'default': '60', 'example': '60', 'order': 3},
                'start': {'label': 'Start delayed', 'element': 'submit', 'order': 4},
            },
            'required': ['flow_name'],
        }

        def handler(system, this, inputs):
            message = system.message(subject='Delayed execution', body=FORM)
            message_id = message.get('id')
            this.save(output_value={'message_id': message_id, 'status': message.get('status')})
            this.flow('Answer Waiter', name='waits for the answer', message_id=message_id, wait=False)
            return this.success('requested details')
    """)
    workspace.write_flow("Answer Waiter", """
        def handler(system, this, inputs):
            message = system.message(inputs['message_id'])
            response = message.wait().get('response')
            this.set_output(response=response)
            return this.success('starting ' + response['flow_name'])
    """)
    root_id = engine.submit("Ask Later")
    # The root ends while its child still waits for the answer: watch the root's own status
    # (Engine.wait/run of the root wait for the whole tree, i.e. for the answer).
    events.wait(lambda e: type(e).__name__ == "StatusChanged" and e.id == root_id
                and e.status in ("success", "error", "cancelled"), what="the root's end")
    root = engine.store.execution(root_id)
    assert (root["status"], root["message"]) == ("success", "requested details"), root["message"]
    message_id = root["outputs"]["message_id"]
    assert root["outputs"]["status"] == "open"
    (waiter,) = engine.tree(root["id"])["children"]
    events.wait_status(waiter["id"], "paused")
    assert engine.store.message(message_id)["state"] == "open"

    engine.respond(message_id, {"flow_name": "Nightly Export"})
    record = engine.wait(waiter["id"], timeout=WAIT_S)
    assert (record["status"], record["message"]) == ("success", "starting Nightly Export"), record["message"]
    assert record["outputs"]["response"] == {"flow_name": "Nightly Export", "delay": 60, "start": True}


def test_flowdesk_respond_from_the_command_line(engine, workspace, events):
    execution_id, message_id = _start_approval(engine, workspace, events)

    bad_json = run_cli("respond", str(message_id), "{environment: staging", "-w", str(workspace))
    assert bad_json.returncode == 2, bad_json
    assert "JSON" in bad_json.stderr and "Traceback" not in bad_json.stderr

    missing = run_cli("respond", str(message_id), json.dumps({"Deploy": True}), "-w", str(workspace))
    assert missing.returncode != 0, missing
    assert "environment" in missing.stderr and "Traceback" not in missing.stderr

    unknown = run_cli("respond", "987654", json.dumps({"environment": "staging"}), "-w", str(workspace))
    assert unknown.returncode != 0, unknown
    assert "987654" in unknown.stderr and "Traceback" not in unknown.stderr

    answer = run_cli("respond", str(message_id), json.dumps({"environment": "production", "Deploy": True}),
                     "-w", str(workspace))
    assert answer.returncode == 0, answer
    record = engine.wait(execution_id, timeout=WAIT_S)
    assert (record["status"], record["message"]) == ("success", "deploying to production"), record["message"]
    assert record["outputs"]["response"] == ANSWERED


def test_cancel_ends_the_wait_for_an_answer(engine, workspace, events):
    from engine_core.errors import UsageError

    execution_id, message_id = _start_approval(engine, workspace, events)
    events.wait_status(execution_id, "paused")
    engine.cancel(execution_id)
    record = engine.wait(execution_id, timeout=WAIT_S)
    assert record["status"] == "cancelled"
    assert log_texts(engine.tree(execution_id)) == ["finally ran"]
    assert engine.store.message(message_id)["state"] == "cancelled"
    with pytest.raises(UsageError):
        engine.respond(message_id, {"environment": "staging", "Deploy": True})


def test_message_wait_timeout_raises_message_response_timeout(engine, workspace):
    workspace.write_flow("Impatient Asker", f"""
import time
from flow_api.exceptions import MessageResponseTimeoutError, TimeoutExceededError

FORM = {DEPLOY_FORM}

def handler(system, this, inputs):
    message = system.message(subject='Anyone there?', body=FORM)
    started = time.monotonic()
    try:
        message.wait(timeout=0.5)
    except MessageResponseTimeoutError as exc:
        waited = time.monotonic() - started
        this.set_output(waited=waited, response=message.get('response'),
                        is_timeout=isinstance(exc, TimeoutExceededError))
        return this.success(type(exc).__name__)
    return this.error('wait returned')
""")
    record = engine.run("Impatient Asker", timeout=WAIT_S)
    assert (record["status"], record["message"]) == ("success", "MessageResponseTimeoutError"), record["message"]
    assert record["outputs"]["is_timeout"] is True
    assert record["outputs"]["response"] is None
    assert 0.4 <= record["outputs"]["waited"] < 10


def test_a_malformed_form_is_an_error_naming_the_field(engine, workspace):
    workspace.write_flow("Bad Form", """
        def handler(system, this, inputs):
            this.message('Pick a size', body={
                'type': 'object',
                'properties': {'size': {'label': 'Size', 'element': 'slider', 'order': 1}},
            })
    """)
    record = engine.run("Bad Form", timeout=WAIT_S)
    assert record["status"] == "error"
    assert "'size'" in record["message"] and "slider" in record["message"]


def test_two_open_forms_are_answered_separately(engine, workspace, events):
    workspace.write_flow("Asks Colour", """
        def handler(system, this, inputs):
            message = this.message('Colour for ' + inputs['who'], body={
                'type': 'object',
                'properties': {'colour': {'label': 'Colour', 'element': 'string', 'type': 'string', 'order': 1}},
                'required': ['colour'],
            })
            this.set_output(colour=message.get('response')['colour'])
    """)
    workspace.write_flow("Asks Two", """
        def handler(system, this, inputs):
            a = this.flow('Asks Colour', name='ada', who='Ada', wait=False)
            b = this.flow('Asks Colour', name='bob', who='Bob', wait=False)
            this.wait_for(a, b)
            this.set_output(ada=a.get('output_value')['colour'], bob=b.get('output_value')['colour'])
    """)
    root = engine.submit("Asks Two")
    events.wait(lambda e: len([x for x in events.of_type("MessageAdded") if getattr(x, "form", None)]) >= 2,
                what="two forms")
    forms = {e.subject: e.message_id for e in events.of_type("MessageAdded") if getattr(e, "form", None)}
    assert set(forms) == {"Colour for Ada", "Colour for Bob"}
    engine.respond(forms["Colour for Bob"], {"colour": "green"})
    bob_done = events.wait(lambda e: type(e).__name__ == "FormAnswered" and e.message_id == forms["Colour for Bob"],
                           what="Bob's answer")
    assert bob_done.response == {"colour": "green"}
    assert engine.store.message(forms["Colour for Ada"])["state"] == "open"
    engine.respond(forms["Colour for Ada"], {"colour": "blue"})
    record = engine.wait(root, timeout=WAIT_S)
    assert record["status"] == "success", record["message"]
    assert record["outputs"] == {"ada": "blue", "bob": "green"}


def test_plain_messages_do_not_pause(engine, workspace):
    """A message without a form body is a plain message (the contract's record: state None),
    not a form that stays open: Cloudomation's wizard sends ``system.message(type='popup',
    subject=..., message=...)`` notices and never waits on them."""
    workspace.write_flow("Reports", """
        def handler(system, this, inputs):
            this.message('Import finished', message='20 files copied')
            system.message(subject='Heads up', message='disk 80% full')
            return this.success('reported')
    """)
    record = engine.run("Reports", timeout=WAIT_S)
    assert (record["status"], record["message"]) == ("success", "reported"), record["message"]
    messages = [(m["subject"], m["message"]) for m in engine.tree(record["id"])["messages"]]
    assert messages == [("Import finished", "20 files copied"), ("Heads up", "disk 80% full")]
    assert engine.store.forms(open_only=True) == []


def test_a_form_shaped_like_the_library_ones_is_accepted(engine, workspace, events):
    """Quirks seen in Cloudomation's public flows: markdown text in 'example' or 'description',
    a 'password' element, a 'required' list inside a property, a submit button without 'type'
    whose key has a space, a number default given as a string."""
    workspace.write_flow("Invite", """
        def handler(system, this, inputs):
            response = system.message(
                subject='Invite a new user',
                body={
                    'type': 'object',
                    'properties': {
                        'name_info': {'element': 'markdown', 'example': 'Enter a login name', 'order': 1},
                        'name': {'element': 'string', 'type': 'string', 'label': 'Login name', 'order': 2},
                        'secret': {'element': 'password', 'type': 'string', 'label': 'Initial password',
                                   'order': 3, 'required': []},
                        'days': {'element': 'number', 'type': 'number', 'label': 'Valid for days',
                                 'default': '7', 'order': 4},
                        'Send invitation': {'element': 'submit', 'order': 5},
                    },
                    'required': ['name'],
                },
            ).wait().get('response')
            this.set_output(response=response)
            return this.success(f"{response['name']} invited for {response['days'] * 1} days")
    """)
    execution_id = engine.submit("Invite")
    added = events.wait_form(execution_id)
    engine.respond(added.message_id, {"name": "grace", "secret": "s3cret"})
    record = engine.wait(execution_id, timeout=WAIT_S)
    assert (record["status"], record["message"]) == ("success", "grace invited for 7 days"), record["message"]
    assert record["outputs"]["response"] == {"name": "grace", "secret": "s3cret", "days": 7, "Send invitation": True}
