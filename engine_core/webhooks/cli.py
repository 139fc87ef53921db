"""``flowdesk webhook create|enable|disable|key|url|list|delete``: managing the webhooks of a
workspace. The main CLI adds it with ``add_parser(subparsers)`` and dispatches to ``run(args)``.
Exit codes: 0 done; 1 a webhook problem (unknown, exists, no key here); 2 usage."""

from __future__ import annotations

import argparse
import json
import sys

from ..errors import FlowdeskError, UnknownFlowError, WorkspaceError
from ..cli_args import EXIT_FAILED, EXIT_OK, EXIT_USAGE, add_action_command
from ..workspace import Workspace
from .records import Webhooks

HELP = "manage the webhooks that start flows over HTTP (served by 'flowdesk serve')"


def add_parser(subparsers) -> argparse.ArgumentParser:
    parser, action = add_action_command(subparsers, "webhook", HELP)
    create = action("create", "create a webhook (disabled) and print its key")
    create.add_argument("name", help="the webhook's name, part of its URL")
    create.add_argument("flow", help="the flow each call starts")
    create.add_argument("--no-key", action="store_true", help="anyone who can reach the server may call it")
    action("enable", "let calls start the flow").add_argument("name")
    action("disable", "answer 404 to calls").add_argument("name")
    key = action("key", "print the key (this machine's copy)")
    key.add_argument("name")
    key.add_argument("--regenerate", action="store_true", help="make a new key; the old one stops working")
    url = action("url", "print the URL to call, key included")
    url.add_argument("name")
    url.add_argument("--base", default="http://127.0.0.1:8765", help="where 'flowdesk serve' listens")
    listing = action("list", "list the webhooks")
    listing.add_argument("--json", action="store_true")
    action("delete", "delete the record and its key").add_argument("name")
    return parser


def run(args: argparse.Namespace) -> int:
    try:
        hooks = Webhooks(Workspace.open(args.workspace))
        return _ACTIONS[args.webhook_command](hooks, args)
    except (WorkspaceError, UnknownFlowError) as exc:
        print(f"flowdesk: {exc}", file=sys.stderr)
        return EXIT_USAGE
    except FlowdeskError as exc:
        print(f"flowdesk: {exc}", file=sys.stderr)
        return EXIT_FAILED


def _create(hooks: Webhooks, args) -> int:
    key = hooks.create(args.name, args.flow, key_required=not args.no_key)
    print(f"webhook {args.name!r} created for flow {args.flow!r}, disabled; enable it with "
          f"'flowdesk webhook enable {args.name}'")
    if key:
        print(f"key (kept in {hooks.keys.where}, never in the repository): {key}")
    return EXIT_OK


def _enable(hooks: Webhooks, args) -> int:
    hooks.enable(args.name)
    print(f"webhook {args.name!r} enabled")
    return EXIT_OK


def _disable(hooks: Webhooks, args) -> int:
    hooks.disable(args.name)
    print(f"webhook {args.name!r} disabled")
    return EXIT_OK


def _key(hooks: Webhooks, args) -> int:
    key = hooks.regenerate_key(args.name) if args.regenerate else hooks.key(args.name)
    print(key if key else f"webhook {args.name!r} needs no key")
    return EXIT_OK


def _url(hooks: Webhooks, args) -> int:
    print(hooks.url(args.name, args.base))
    return EXIT_OK


def _list(hooks: Webhooks, args) -> int:
    items = hooks.list()
    if args.json:
        print(json.dumps([{"name": h.name, "flow": h.flow, "enabled": h.enabled, "key_required": h.key_required}
                          for h in items], indent=2))
    elif not items:
        print("no webhooks yet; create one with: flowdesk webhook create NAME FLOW")
    else:
        width = max(len(h.name) for h in items)
        for h in items:
            state = "enabled " if h.enabled else "disabled"
            print(f"{h.name:<{width}}  {state}  {'key' if h.key_required else 'no key'}  → {h.flow}")
    return EXIT_OK


def _delete(hooks: Webhooks, args) -> int:
    hooks.delete(args.name)
    print(f"webhook {args.name!r} deleted")
    return EXIT_OK


_ACTIONS = {"create": _create, "enable": _enable, "disable": _disable, "key": _key, "url": _url,
            "list": _list, "delete": _delete}
