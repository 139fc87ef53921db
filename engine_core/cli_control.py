"""``flowdesk forms|respond|pause|resume``: answering forms and steering executions from a
shell. The engine that runs the execution may be another process (the IDE, a ``flowdesk
run``): these commands write to the database and wake it."""

from __future__ import annotations

import json
import sys
import time

from .cli_args import EXIT_FAILED, EXIT_OK, EXIT_USAGE


def add_parsers(sub, common) -> None:
    forms = sub.add_parser("forms", help="list the forms waiting for an answer")
    common(forms)
    forms.add_argument("--all", action="store_true", help="answered and cancelled ones too")
    forms.add_argument("--json", action="store_true")

    respond = sub.add_parser("respond", help="answer a form: flowdesk respond ID '{\"approve\": true}'")
    respond.add_argument("id", type=int, help="the form's message id (see 'flowdesk forms')")
    respond.add_argument("response", help="the answer as a JSON object keyed by the form's fields")
    common(respond)

    for action, text in (("pause", "pause a running execution and its children"),
                         ("resume", "resume a paused execution")):
        parser = sub.add_parser(action, help=text)
        parser.add_argument("id", type=int)
        common(parser)


def cmd_forms(args, store) -> int:
    records = store.forms(open_only=not args.all)
    if args.json:
        print(json.dumps(records, indent=2, ensure_ascii=False))
        return EXIT_OK
    if not records:
        print("no forms are waiting for an answer")
        return EXIT_OK
    from .forms import parse_form

    for record in records:
        print(f"#{record['id']}  {record['subject']}  (execution #{record['execution_id']}, {record['state']})")
        for field in parse_form(record["form"]):
            if not field.has_value:
                continue
            required = " (required)" if field.required else ""
            default = f" [default: {json.dumps(field.default)}]" if field.default is not None else ""
            print(f"    {field.key}: {field.element}{required}{default}  {field.title}")
    return EXIT_OK


def cmd_respond(args, store) -> int:
    try:
        response = json.loads(args.response)
    except json.JSONDecodeError as exc:
        print(f"flowdesk: the answer {args.response!r} is not valid JSON ({exc.msg} at column {exc.colno}); "
              f"write an object, e.g. '{{\"approve\": true}}'", file=sys.stderr)
        return EXIT_USAGE
    if not isinstance(response, dict):
        print("flowdesk: the answer must be a JSON object keyed by the form's fields, e.g. '{\"approve\": true}'",
              file=sys.stderr)
        return EXIT_USAGE
    try:
        record = store.request_response(args.id, response)
    except LookupError:
        print(f"flowdesk: there is no message #{args.id}; list open forms with 'flowdesk forms'", file=sys.stderr)
        return EXIT_FAILED
    print(f"form #{record['id']} ({record['subject']!r}) answered")
    return EXIT_OK


def cmd_control(args, store) -> int:
    try:
        store.request_control(args.id, args.command)
    except LookupError:
        print(f"flowdesk: there is no execution #{args.id}; list them with 'flowdesk executions'", file=sys.stderr)
        return EXIT_FAILED
    wanted = "paused" if args.command == "pause" else "running"
    record = wait_for_status(store, args.id, {wanted, "success", "error", "cancelled"}, 2.5)
    if record is not None:
        print(f"execution #{args.id}: {record['status']}")
    else:
        print(f"{args.command} of execution #{args.id} requested; its engine has not confirmed yet")
    return EXIT_OK


def wait_for_status(store, execution_id: int, statuses: set[str], seconds: float) -> dict | None:
    """The stored execution once its status is one of ``statuses``, or None after ``seconds``:
    the engine running it acts on a request at once (woken) or within 0.25 s (its poll)."""
    deadline = time.monotonic() + seconds
    while True:
        record = store.execution(execution_id)
        if record["status"] in statuses:
            return record
        if time.monotonic() >= deadline:
            return None
        time.sleep(0.05)
