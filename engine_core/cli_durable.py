"""``flowdesk replay`` and ``flowdesk prune``: the command-line side of durable executions.

``replay ID`` runs a stored execution's handler again with its recorded inputs, every flow API
call answered from its journal (nothing outside is touched), under debugpy waiting for a
debugger as ``flowdesk debug`` does (``--no-debug`` just runs it). When the recording ends
before the handler does (the flow was edited), the replay pauses there: on a terminal it asks
whether to go on live, otherwise it stops (``--live`` goes on without asking).

``prune --older-than 30d`` deletes executions that ended before then, with their journals,
logs and messages (``--journals-only``: only the journals, the bulk of the database).

Both are plugged commands of ``engine_core.cli`` (imported only when they run).
Exit codes: 0 done (the replay ended in success); 1 the replay ended otherwise, or no such
execution; 2 usage (bad duration, no workspace, an execution that cannot be replayed)."""

from __future__ import annotations

import argparse
import re
import sys
import threading

from .cli_args import EXIT_FAILED, EXIT_OK, add_workspace_db

REPLAY_HELP = "replay a stored execution under the debugger, every flow API call answered from its journal"
PRUNE_HELP = "delete old executions with their journals and logs (--older-than 30d)"

_UNITS = {"d": 86400, "h": 3600, "m": 60}
_DURATION = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*([dhm])\s*$")


def add_replay_parser(sub) -> argparse.ArgumentParser:
    p = sub.add_parser("replay", help=REPLAY_HELP)
    p.add_argument("id", type=int, help="the execution to replay (see 'flowdesk executions')")
    add_workspace_db(p)
    p.add_argument("--no-debug", action="store_true", help="run the replay without waiting for a debugger")
    p.add_argument("--live", action="store_true",
                   help="when the recording ends before the flow does, go on live (calls act for real) without asking")
    p.add_argument("--recorded-code", action="store_true",
                   help="run the code the execution ran then (stored with it), not the workspace's current file")
    return p


def add_prune_parser(sub) -> argparse.ArgumentParser:
    p = sub.add_parser("prune", help=PRUNE_HELP)
    add_workspace_db(p)
    p.add_argument("--older-than", required=True, metavar="AGE", type=parse_duration,
                   help="prune executions that ended more than AGE ago: 30d, 12h or 90m")
    p.add_argument("--journals-only", action="store_true",
                   help="delete only the journals (executions stay listed but can no longer be replayed)")
    p.add_argument("--dry-run", action="store_true", help="count what would be pruned, delete nothing")
    p.add_argument("--vacuum", action="store_true", help="SQLite: give the freed space back to the file system")
    return p


def parse_duration(text: str) -> float:
    """``30d``, ``12h``, ``90m`` → seconds."""
    match = _DURATION.match(text or "")
    if not match:
        raise argparse.ArgumentTypeError(f"{text!r} is not an age; write a number and d, h or m, e.g. 30d, 12h, 90m")
    return float(match[1]) * _UNITS[match[2]]


def run(args) -> int:
    return cmd_replay(args) if args.command == "replay" else cmd_prune(args)


# -- replay -------------------------------------------------------------------------------
def cmd_replay(args) -> int:
    from . import events as ev
    from .cli import ATTACH_HELP
    from .cli_output import LivePrinter
    from .runtime.engine import Engine
    from .workspace import Workspace

    workspace = Workspace.open(args.workspace)
    printer = LivePrinter()
    ended: list[ev.JournalEnded] = []
    decide = threading.Event()

    def on_event(event) -> None:
        if isinstance(event, ev.DebugListening):
            print(ATTACH_HELP.format(host=event.host, port=event.port, flows=workspace.flows_dir), flush=True)
        elif isinstance(event, ev.JournalEnded):
            ended.append(event)
            decide.set()  # answered on the main thread: never call the engine from its own event thread
        else:
            printer(event)

    with Engine(workspace, db_url=args.db) as engine:
        engine.subscribe(on_event)
        try:
            replay_id = engine.replay(args.id, debug=not args.no_debug, live_after=args.live,
                                      recorded_code=args.recorded_code)
        except LookupError as exc:
            print(f"flowdesk: {_unquoted(exc) or f'there is no execution #{args.id}'}; "
                  f"list them with 'flowdesk executions'", file=sys.stderr)
            return EXIT_FAILED
        print(f"replaying execution #{args.id} as #{replay_id}: every flow API call is answered from its journal",
              flush=True)
        printer.follow(replay_id)
        try:
            record = _wait_deciding(engine, replay_id, ended, decide, args.live)
        except KeyboardInterrupt:
            engine.cancel(replay_id, "cancelled: interrupted (Ctrl+C)")
            record = engine.wait(replay_id)
    return EXIT_OK if record["status"] == "success" else EXIT_FAILED


def _wait_deciding(engine, replay_id: int, ended: list, decide: threading.Event, live: bool) -> dict:
    """Wait for the replay's end; each time it reaches the end of a recording, say so and
    continue it live or stop it."""
    while True:
        try:
            return engine.wait(replay_id, timeout=0.2)
        except TimeoutError:
            pass
        if not decide.is_set():
            continue
        decide.clear()
        while ended:
            event = ended.pop(0)
            print(f"⏸ #{event.id}: {event.message}", flush=True)
            go_live = live or _ask_live()
            print("continuing live: from here the flow's calls act for real" if go_live
                  else "stopping the replay here", flush=True)
            engine.continue_replay(event.id, live=go_live)


def _ask_live() -> bool:
    if not sys.stdin.isatty():
        return False
    try:
        answer = input("continue live (the flow's calls act for real from here)? [y/N] ")
    except EOFError:
        return False
    return answer.strip().lower() in ("y", "yes")


def _unquoted(exc: BaseException) -> str:
    return str(exc.args[0]) if exc.args else ""


# -- prune --------------------------------------------------------------------------------
def cmd_prune(args) -> int:
    from .cli import _store

    store = _store(args)
    report = store.prune(args.older_than, journals_only=args.journals_only, dry_run=args.dry_run)
    print(prune_summary(report, dry_run=args.dry_run, journals_only=args.journals_only))
    if args.vacuum and not args.dry_run:
        store.vacuum()  # SQLite; PostgreSQL's autovacuum reuses the space by itself
    return EXIT_OK


def prune_summary(report, *, dry_run: bool = False, journals_only: bool = False) -> str:
    """``pruned 1,204 executions (3 replays), 88,310 journal entries, 41 MB freed``."""
    executions = _field(report, "executions")
    replays = _field(report, "replays")
    journal = _field(report, "journal_entries", "journal")
    freed = _field(report, "bytes", "bytes_freed")
    verb = "would prune" if dry_run else "pruned"
    if journals_only:
        text = f"{verb} {journal:,} journal entr{'y' if journal == 1 else 'ies'} of {executions:,} execution{_s(executions)}"
    else:
        text = f"{verb} {executions:,} execution{_s(executions)}"
        if replays:
            text += f" ({replays:,} replay{_s(replays)})"
        text += f", {journal:,} journal entr{'y' if journal == 1 else 'ies'}"
    if freed and not dry_run:
        text += f", {_size(freed)} freed"
    return text


def _field(report, *names: str) -> int:
    for name in names:
        value = report.get(name) if isinstance(report, dict) else getattr(report, name, None)
        if value is not None:
            return int(value)
    return 0


def _s(n: int) -> str:
    return "" if n == 1 else "s"


def _size(n: int) -> str:
    for unit, size in (("GB", 1 << 30), ("MB", 1 << 20), ("KB", 1 << 10)):
        if n >= size:
            return f"{n / size:.0f} {unit}"
    return f"{n} bytes"
