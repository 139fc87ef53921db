"""``flowdesk schedule list|create|enable|disable|delete|next``. The main CLI adds it with
``add_parser(subparsers)`` and dispatches to ``run(args)``.

Schedules only start runs while an engine runs (the IDE, ``flowdesk serve``); these commands
edit the files in ``schedules/`` and show when runs are due.

Exit codes: 0 done; 1 no such schedule, or some schedule files are invalid (``list``);
2 usage (bad cron, unknown zone or flow, bad --input JSON, no workspace)."""

from __future__ import annotations

import argparse
import json
import sys

from ..errors import FlowdeskError
from ..cli_args import EXIT_FAILED, EXIT_OK, EXIT_USAGE, add_action_command
from ..workspace import Workspace

HELP = "list, create and switch on/off the schedules that start flows at cron times"


def add_parser(subparsers) -> argparse.ArgumentParser:
    parser, action = add_action_command(subparsers, "schedule", HELP)
    listing = action("list", "the schedules with their next run")
    listing.add_argument("--json", action="store_true", help="print them as JSON, with the next three runs")
    create = action("create", "create a schedule (enabled unless --disabled)")
    create.add_argument("name", help="the schedule's name: its file is schedules/NAME.json")
    create.add_argument("flow", help="the flow to start")
    create.add_argument("--cron", required=True, metavar="EXPR",
                        help="5-field cron expression: minute hour day-of-month month day-of-week, e.g. '0 * * * *'")
    create.add_argument("--tz", metavar="ZONE", help="IANA time zone, e.g. Europe/Vienna (default: this machine's)")
    create.add_argument("--input", "-i", action="append", default=[], metavar="KEY=JSON", help="an input (repeatable)")
    create.add_argument("--disabled", action="store_true", help="create it switched off")
    for verb, text in (("enable", "start its runs again"), ("disable", "stop starting its runs"),
                         ("delete", "delete its file")):
        action(verb, text).add_argument("name")
    following = action("next", "the next run times of a schedule")
    following.add_argument("name")
    following.add_argument("-n", type=int, default=3, metavar="N", help="how many (default: 3)")
    return parser


def run(args: argparse.Namespace) -> int:
    from .records import UnknownScheduleError

    try:
        workspace = Workspace.open(args.workspace)
        return _ACTIONS[args.schedule_command](workspace, args)
    except UnknownScheduleError as exc:
        return _fail(exc, EXIT_FAILED)
    except FlowdeskError as exc:
        return _fail(exc, EXIT_USAGE)


def _fail(exc: Exception, code: int) -> int:
    print(f"flowdesk: {exc}", file=sys.stderr)
    return code


def _when(instant) -> str:
    return instant.isoformat(timespec="minutes")


def cmd_list(workspace: Workspace, args) -> int:
    from . import records

    schedules, problems = records.scan(workspace)
    for problem in problems:
        print(f"flowdesk: {problem}", file=sys.stderr)
    if args.json:
        print(json.dumps([{"name": s.name, "flow": s.flow, "cron": s.cron, "timezone": s.timezone,
                           "inputs": s.inputs, "enabled": s.enabled,
                           "next_runs": [_when(t) for t in records.next_runs(s)]} for s in schedules],
                         indent=2, ensure_ascii=False))
    elif schedules:
        rows = [("NAME", "FLOW", "CRON", "TIMEZONE", "ENABLED", "NEXT RUN")]
        for s in schedules:
            following = records.next_runs(s, 1)
            rows.append((s.name, s.flow, s.cron, s.timezone, "yes" if s.enabled else "no",
                         _when(following[0]) if following and s.enabled else "-"))
        widths = [max(len(row[i]) for row in rows) for i in range(len(rows[0]))]
        for row in rows:
            print("  ".join(cell.ljust(width) for cell, width in zip(row, widths)).rstrip())
    elif not problems:
        print(f"no schedules in {records.schedules_dir(workspace)}; create one with: "
              "flowdesk schedule create NAME FLOW --cron '0 * * * *'")
    return EXIT_FAILED if problems else EXIT_OK


def cmd_create(workspace: Workspace, args) -> int:
    from ..cli import parse_input
    from . import records, times

    inputs = dict(parse_input(item) for item in args.input)
    schedule = records.Schedule(name=args.name, flow=args.flow, cron=args.cron,
                                timezone=args.tz or times.local_zone_name(), inputs=inputs,
                                enabled=not args.disabled)
    path = records.create(workspace, schedule)
    state = "enabled" if schedule.enabled else "disabled"
    print(f"created schedule {schedule.name!r} ({state}): flow {schedule.flow!r} at {schedule.cron!r} "
          f"in {schedule.timezone}; file {path.relative_to(workspace.root).as_posix()}")
    _print_next(records.next_runs(schedule), schedule.enabled)
    return EXIT_OK


def _set_enabled(workspace: Workspace, args, enabled: bool) -> int:
    from . import records

    schedule = records.set_enabled(workspace, args.name, enabled)
    print(f"schedule {schedule.name!r} {'enabled' if enabled else 'disabled'}")
    if enabled:
        _print_next(records.next_runs(schedule), True)
    return EXIT_OK


def cmd_delete(workspace: Workspace, args) -> int:
    from . import records

    records.delete(workspace, args.name)
    print(f"deleted schedule {args.name!r}")
    return EXIT_OK


def cmd_next(workspace: Workspace, args) -> int:
    from . import records

    schedule = records.load(workspace, args.name)
    for instant in records.next_runs(schedule, args.n):
        print(_when(instant))
    if not schedule.enabled:
        print(f"(schedule {schedule.name!r} is disabled: these runs start only once it is enabled "
              f"with: flowdesk schedule enable {schedule.name!r})", file=sys.stderr)
    return EXIT_OK


def _print_next(instants, enabled: bool) -> None:
    if enabled:
        print("next runs: " + ", ".join(_when(t) for t in instants))
    print("runs start while an engine runs: flowdesk serve, or the IDE")


_ACTIONS = {"list": cmd_list, "create": cmd_create, "delete": cmd_delete, "next": cmd_next,
            "enable": lambda w, a: _set_enabled(w, a, True), "disable": lambda w, a: _set_enabled(w, a, False)}
