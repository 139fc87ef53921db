"""``flowdesk connector list|show|save|delete``: stored connector records from the command line.

Output never shows a secret: ``show`` masks the inputs the connector declares secret."""

from __future__ import annotations

import argparse
import json
import sys

from flow_api import ConnectorError

from ..errors import FlowdeskError
from ..cli_args import EXIT_FAILED, EXIT_OK, EXIT_USAGE, add_action_command
from ..workspace import Workspace

HELP = "manage stored connector records (connectors/<name>.json; secrets in the keyring)"


def add_parser(subparsers) -> argparse.ArgumentParser:
    parser, action = add_action_command(subparsers, "connector", HELP)
    listing = action("list", "the records: name and connector type")
    listing.add_argument("--json", action="store_true")
    show = action("show", "one record's type and inputs, secrets masked")
    show.add_argument("name")
    show.add_argument("--json", action="store_true")
    save = action("save", "create or replace a record")
    save.add_argument("name", help="the record's name, e.g. crm-api (flows say this.connect('crm-api', ...))")
    save.add_argument("type", help="the connector type, e.g. REST")
    save.add_argument("--input", "-i", action="append", default=[], metavar="KEY=JSON",
                      help="an input, e.g. --input url='\"https://crm\"' (repeatable)")
    delete = action("delete", "delete a record and its stored secrets")
    delete.add_argument("name")
    return parser


def run(args: argparse.Namespace) -> int:
    try:
        workspace = Workspace.open(args.workspace)
        return _ACTIONS[args.connector_command](workspace, args)
    except ConnectorError as exc:  # an unknown type, a missing record, an unreadable secret
        print(f"flowdesk: {exc}", file=sys.stderr)
        return EXIT_FAILED
    except FlowdeskError as exc:
        print(f"flowdesk: {exc}", file=sys.stderr)
        return EXIT_USAGE


def _list(workspace: Workspace, args) -> int:
    from . import records

    rows = []
    for name in records.names(workspace):
        try:
            kind = records.stored(workspace, name)[0]
        except ConnectorError as exc:
            kind = f"(unreadable: {exc})"
        rows.append({"name": name, "type": kind})
    if args.json:
        print(json.dumps(rows, indent=2))
    elif not rows:
        print(f"no connector records in {workspace.connectors_dir}; add one with "
              "'flowdesk connector save NAME TYPE --input KEY=JSON ...'")
    else:
        width = max(len(row["name"]) for row in rows)
        for row in rows:
            print(f"{row['name']:<{width}}  {row['type']}")
    return EXIT_OK


def _show(workspace: Workspace, args) -> int:
    from . import records

    kind, inputs = records.stored(workspace, args.name)
    shown = _masked(kind, inputs)
    if args.json:
        print(json.dumps({"name": args.name, "type": kind, "inputs": shown}, indent=2, sort_keys=True))
        return EXIT_OK
    print(f"{args.name}: {kind}")
    for key in sorted(shown):
        print(f"  {key} = {json.dumps(shown[key])}")
    return EXIT_OK


def _save(workspace: Workspace, args) -> int:
    from ..cli import parse_input
    from . import records

    inputs = dict(parse_input(text) for text in args.input)
    path = records.save(workspace, args.name, args.type, inputs)
    kind, stored = records.stored(workspace, args.name)
    where = {value["secret"] for value in stored.values() if records.is_secret_reference(value)}
    print(f"saved connector record {args.name!r} ({kind}) to {path}")
    if records.IN_FILE in where:
        print(f"note: no system keyring works here; its secrets are in {workspace.state_dir / 'secrets'} "
              "(readable by you only, never synced)")
    return EXIT_OK


def _delete(workspace: Workspace, args) -> int:
    from . import records

    records.delete(workspace, args.name)
    print(f"deleted connector record {args.name!r}")
    return EXIT_OK


def _masked(kind: str, inputs: dict) -> dict:
    from . import MASK, records

    secret = records.secret_inputs(kind)
    return {key: (MASK if records.is_secret_reference(value) or (key in secret and value not in (None, ""))
                  else value) for key, value in inputs.items()}


_ACTIONS = {"list": _list, "show": _show, "save": _save, "delete": _delete}
