"""``flowdesk``: the command line, a client of ``engine_core`` like the IDE.

Exit codes: 0 success; 1 the execution ended in error or was cancelled (or a looked-up
thing is missing); 2 usage errors (unknown flow, unreadable workspace, bad JSON, bad DB URL)."""

from __future__ import annotations

import argparse
import importlib
import json
import os
import signal
import sys
import threading
from typing import Any, Callable, NamedTuple, NoReturn

from . import redact
from .errors import FlowdeskError, UsageError
from .status import Status
from .cli_args import EXIT_FAILED, EXIT_OK, EXIT_USAGE, add_cluster, add_workspace_db
from .workspace import Workspace



# Commands whose modules are imported only when they run (or show their own --help): their
# imports (GitPython for git, the graph analysis) cost ~0.2 s, which every `flowdesk run` paid
# when the parser was built from all of them. The help text here is what `flowdesk --help`
# lists; a test keeps it equal to the one the module gives its parser.
_PLUGGED = {
    "graph": ("engine_core.graph.cli", "print the flows' dependency graph (dot, json or svg)"),
    "git": ("engine_core.vcs.cli", "sync the workspace with its Git repository"),
    "serve": ("engine_core.serve", "serve the workspace's webhooks over HTTP and run its schedules"),
    "webhook": ("engine_core.webhooks.cli", "manage the webhooks that start flows over HTTP (served by 'flowdesk serve')"),
    "schedule": ("engine_core.schedules.cli", "list, create and switch on/off the schedules that start flows at cron times"),
    "connector": ("engine_core.connectors.cli", "manage stored connector records (connectors/<name>.json; secrets in the keyring)"),
    "packages": ("engine_core.packages.cli", "install and list the workspace's third-party packages (requirements.txt)"),
    "replay": ("engine_core.cli_durable", "replay a stored execution under the debugger, every flow API call answered from its journal"),
    "prune": ("engine_core.cli_durable", "delete old executions with their journals and logs (--older-than 30d)"),
    "cluster": ("engine_core.cli_cluster", "start a local Dask cluster to run flows on, or list the workers of one"),
}


class Command(NamedTuple):
    """A command added by the program that embeds this CLI (the launcher's ``ide``)."""

    add_parser: Callable[[Any], None]  # called with the subparsers object
    run: Callable[[argparse.Namespace], int]


class _VersionAction(argparse.Action):
    """``--version``; the version is looked up only when asked for (it reads package metadata)."""

    def __init__(self, option_strings, dest=argparse.SUPPRESS, default=argparse.SUPPRESS, help=None):
        super().__init__(option_strings, dest=dest, default=default, nargs=0, help=help)

    def __call__(self, parser, namespace, values, option_string=None):
        from . import version

        print(f"flowdesk {version()}")
        parser.exit()


def requested_command(argv: list[str]) -> str | None:
    """The command word of ``argv`` (the top-level options take no values)."""
    return next((arg for arg in argv if not arg.startswith("-")), None)


def build_parser(command: str | None = None, extra: dict[str, Command] | None = None) -> argparse.ArgumentParser:
    """The whole parser; the commands in ``_PLUGGED`` get their real arguments only when
    ``command`` is theirs (otherwise a stand-in that lists them in ``--help``)."""
    parser = argparse.ArgumentParser(prog="flowdesk", description="Run and inspect Python automation flows.")
    parser.add_argument("--version", "-V", action=_VersionAction, help="print the version and exit")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    for name, item in (extra or {}).items():
        item.add_parser(sub)

    run = sub.add_parser("run", help="run a flow and wait for its execution tree to end")
    run.add_argument("flow", help="flow name: the stem of flows/<name>.py")
    add_workspace_db(run)
    run.add_argument("--input", "-i", action="append", default=[], metavar="KEY=JSON", help="an input (repeatable)")
    run.add_argument("--name", help="name of the execution (default: the flow's name)")
    run.add_argument("--json", action="store_true", help="print the whole execution tree as JSON at the end")
    run.add_argument("--timeout", type=float, metavar="S", help="cancel the tree after S seconds")
    run.add_argument("--no-install", action="store_true",
                     help="do not install the workspace's packages (requirements.txt); refuse if any is missing")
    add_cluster(run)

    debug = sub.add_parser("debug", help="run a flow under debugpy and wait for a debugger (e.g. VS Code) to attach")
    debug.add_argument("flow")
    add_workspace_db(debug)
    debug.add_argument("--input", "-i", action="append", default=[], metavar="KEY=JSON")
    debug.add_argument("--no-install", action="store_true",
                       help="do not install the workspace's packages (requirements.txt); refuse if any is missing")
    add_cluster(debug)  # accepted, so that a run's command line can be debugged as it is; debug stays here

    listing = sub.add_parser("executions", help="list past executions, newest first")
    add_workspace_db(listing)
    listing.add_argument("--limit", type=int, default=30)
    listing.add_argument("--roots", action="store_true", help="only executions without a parent")
    listing.add_argument("--status", choices=[str(s) for s in Status])
    listing.add_argument("--json", action="store_true")

    show = sub.add_parser("show", help="show one execution with its logs")
    show.add_argument("id", type=int)
    add_workspace_db(show)
    show.add_argument("--json", action="store_true", help="print its tree as JSON")
    show.add_argument("--journal", action="store_true",
                      help="print its journal: every flow API call it made, with line, answer and time")

    cancel = sub.add_parser("cancel", help="cancel a running execution and its children")
    cancel.add_argument("id", type=int)
    add_workspace_db(cancel)

    flows = sub.add_parser("flows", help="list the flows of a workspace")
    flows.add_argument("--workspace", "-w", default=".", metavar="DIR")

    from . import cli_control

    cli_control.add_parsers(sub, add_workspace_db)

    for name, (module, text) in _PLUGGED.items():
        if name == command:  # a module with several commands adds the one asked for
            plugin = importlib.import_module(module)
            adder = getattr(plugin, f"add_{name}_parser", None) or plugin.add_parser
            adder(sub)
        else:
            sub.add_parser(name, help=text)
    return parser


def main(argv: list[str] | None = None, *, extra: dict[str, Command] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    command = requested_command(argv)
    parser = build_parser(command, extra)
    args = parser.parse_args(argv)
    if args.command is None:
        parser.print_help()
        return EXIT_USAGE
    try:
        if extra and args.command in extra:
            return extra[args.command].run(args)
        if args.command not in _COMMANDS:  # a plugged command without a cmd_ function: its module's run
            return importlib.import_module(_PLUGGED[args.command][0]).run(args)
        return _COMMANDS[args.command](args)
    except FlowdeskError as exc:  # may quote a database or remote URL: its password stays hidden
        print(f"flowdesk: {redact.mask_urls(str(exc))}", file=sys.stderr)
        return EXIT_USAGE
    except BrokenPipeError:
        # The reader went away (`flowdesk executions | head`): not an error worth a traceback.
        # Python's own advice: point stdout at devnull so the exit's flush cannot fail again.
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        return EXIT_FAILED


def end_process(code: int) -> NoReturn:
    """End a CLI command's process at once. Its work is done (the engine closed, every change
    committed, the database released): what is left is the interpreter's teardown, which frees
    SQLAlchemy's and the engine's objects module by module and took longer than everything
    after the imports of a ``flowdesk run`` (~0.3 s on this loaded 2-core machine; 15 ms with
    this). The atexit handlers (multiprocessing's, logging's) still run, and the output is
    flushed. Not for the IDE, where Qt's objects have their own order of teardown."""
    import atexit
    import os

    atexit._run_exitfuncs()
    flush_output()
    os._exit(code)


def flush_output() -> None:
    """Flush stdout and stderr, whatever became of them."""
    for stream in (sys.stdout, sys.stderr):
        try:
            stream.flush()
        except Exception:  # a closed pipe (| head), a closed stream (None): nothing more can be said
            pass


def _store(args):
    from .runtime.engine import resolve_db_url
    from .store import Store

    workspace = Workspace.open(args.workspace)
    return Store(resolve_db_url(workspace, args.db))


def parse_input(text: str) -> tuple[str, Any]:
    """``KEY=JSON`` as given to ``--input``."""
    key, sep, value = text.partition("=")
    if not sep or not key:
        raise UsageError(f"--input {text!r} is not KEY=JSON; write e.g. --input initial_value=42")
    try:
        return key, json.loads(value)
    except json.JSONDecodeError as exc:
        raise UsageError(
            f"--input {key}: {value!r} is not valid JSON ({exc.msg} at column {exc.colno}); "
            f"quote strings, e.g. --input '{key}=\"text\"'"
        ) from None


def cmd_run(args) -> int:
    inputs = dict(parse_input(item) for item in args.input)
    workspace = Workspace.open(args.workspace)
    workspace.read_flow(args.flow)  # unknown flow: a usage error before anything starts
    options = _run_options(workspace, args)
    refused = _install_packages(workspace, args.no_install)
    if refused is not None:
        return refused
    # The workers' forkserver starts now, so that its interpreter starts while this process
    # imports the engine (SQLAlchemy): the two take about as long and need a core each.
    from .runtime.pool import prestart

    prestart()
    from .cli_output import LivePrinter

    engine = _open_engine(workspace, args.db, options)
    with engine:
        printer = None
        if not args.json:
            printer = LivePrinter()
            engine.subscribe(printer)
        # Ctrl+C cancels the tree. The handler goes in before the submit: the first line of
        # output ("running") may be printed before submit() returns, and a Ctrl+C then must
        # not kill the CLI with its engine. It only starts the cancel: run inside the handler,
        # a cancel (which waits for the dispatcher) deadlocked when the signal came while this
        # thread held the lock the dispatcher needs to announce an end.
        submitted: list[int] = []
        interrupted: list[bool] = []

        def on_ctrl_c(*_) -> None:
            interrupted.append(True)
            if submitted:
                threading.Thread(target=engine.cancel, args=(submitted[0], "cancelled: interrupted (Ctrl+C)"),
                                 name="flowdesk-ctrl-c", daemon=True).start()

        previous = signal.getsignal(signal.SIGINT)
        signal.signal(signal.SIGINT, on_ctrl_c)
        root_id = engine.submit(args.flow, inputs, name=args.name)
        submitted.append(root_id)
        if printer:
            printer.follow(root_id)
        if interrupted:
            engine.cancel(root_id, "cancelled: interrupted (Ctrl+C)")
        try:
            try:
                record = engine.wait(root_id, args.timeout)
            except TimeoutError:
                engine.cancel(root_id, f"cancelled: timeout after {args.timeout:g} s")
                record = engine.wait(root_id)
        finally:
            signal.signal(signal.SIGINT, previous)
        if args.json:
            print(json.dumps(engine.tree(root_id), indent=2, ensure_ascii=False))
    return EXIT_OK if record["status"] == "success" else EXIT_FAILED


def _run_options(workspace: Workspace, args):
    """The run's EngineOptions: on this machine, or on the cluster ``--cluster`` / the
    workspace's config names (engine_core.cli_cluster imports nothing of Dask for a local run)."""
    from .runtime.options import EngineOptions

    # No warm workers: one run forks its workers when it needs them (~5 ms each from the
    # forkserver); keeping idle ones ready only made each start and stop fork and stop more.
    if args.local or (args.cluster is None and not os.environ.get("FLOWDESK_CLUSTER")
                      and "cluster" not in workspace.config()):
        return EngineOptions(warm_workers=0)  # a local run does not even import cli_cluster
    from .cli_cluster import cluster_options

    cluster = cluster_options(workspace, args.cluster, args.local)
    return EngineOptions(warm_workers=0, cluster=cluster)


def _open_engine(workspace: Workspace, db_url: str | None, options):
    """The started engine. One that cannot start on its cluster (no scheduler there, TLS
    refused) raises a ClusterError naming the scheduler and what to do: main() prints it."""
    from .runtime.engine import Engine, resolve_db_url

    cluster = options.cluster
    if cluster is None:
        return Engine(workspace, db_url=db_url, options=options).start()
    from .cli_cluster import sqlite_warning

    if warning := sqlite_warning(resolve_db_url(workspace, db_url), cluster.scheduler):
        print(warning, file=sys.stderr, flush=True)
    engine = Engine(workspace, db_url=db_url, options=options)
    try:
        return engine.start()
    except FlowdeskError:
        engine.close()
        raise


def _install_packages(workspace: Workspace, no_install: bool) -> int | None:
    """Install what requirements.txt asks for and is not installed, before a run (``None``:
    go on). Without a requirements.txt this is a stat: ``engine_core.packages`` imports
    neither pip nor the requirements parser until there is something to install."""
    from . import packages

    if not packages.needs_install(workspace.root):
        return None
    if no_install:
        missing = packages.status(workspace.root).missing
        if not missing:
            return None  # requirements.txt changed, but what it asks for is there
        print(f"flowdesk: the workspace's packages are not installed: {', '.join(missing)}; "
              f"install them with: flowdesk packages install -w {workspace.root}", file=sys.stderr)
        return EXIT_USAGE
    print("installing the workspace's packages (requirements.txt) first", file=sys.stderr, flush=True)
    try:
        packages.install(workspace.root, on_line=lambda line: print(f"  {line}", file=sys.stderr, flush=True))
    except packages.PackagesError as exc:
        print(f"flowdesk: {exc}\nthe flow was not run", file=sys.stderr)
        return EXIT_FAILED
    return None


def cmd_debug(args) -> int:
    from . import events
    from .cli_output import LivePrinter
    from .runtime.engine import Engine

    inputs = dict(parse_input(item) for item in args.input)
    workspace = Workspace.open(args.workspace)
    workspace.read_flow(args.flow)
    if args.cluster:  # the debugger attaches to a process on this machine (config's cluster: ignored too)
        print(f"flowdesk: debug runs the flow on this machine; --cluster {args.cluster} is not used", file=sys.stderr)
    refused = _install_packages(workspace, args.no_install)  # as `run` does: debug what would run
    if refused is not None:
        return refused
    printer = LivePrinter()

    def on_event(event) -> None:
        if isinstance(event, events.DebugListening):
            print(ATTACH_HELP.format(host=event.host, port=event.port, flows=workspace.flows_dir), flush=True)
        else:
            printer(event)

    with Engine(workspace, db_url=args.db) as engine:
        engine.subscribe(on_event)
        root_id = engine.submit(args.flow, inputs, mode="development")
        printer.follow(root_id)
        try:
            record = engine.wait(root_id)
        except KeyboardInterrupt:
            engine.cancel(root_id, "cancelled: interrupted (Ctrl+C)")
            record = engine.wait(root_id)
    return EXIT_OK if record["status"] == "success" else EXIT_FAILED


ATTACH_HELP = """debugpy listens on {host}:{port} (loopback only); the flow starts when a debugger attaches.
VS Code: add to .vscode/launch.json and start "Attach to Flowdesk":
  {{"name": "Attach to Flowdesk", "type": "debugpy", "request": "attach",
    "connect": {{"host": "{host}", "port": {port}}}, "justMyCode": true}}
Breakpoints go in the flow files under {flows}."""


def cmd_executions(args) -> int:
    from .cli_output import executions_table

    store = _store(args)
    rows = store.executions(limit=args.limit, roots_only=args.roots, status=args.status)
    if args.json:
        print(json.dumps(rows, indent=2, default=str, ensure_ascii=False))
    elif rows:
        print(executions_table(rows))
    else:
        print("no executions yet; start one with: flowdesk run NAME --workspace DIR")
    return EXIT_OK


def cmd_show(args) -> int:
    from .cli_output import execution_details

    store = _store(args)
    record = store.execution(args.id)
    if record is None:
        print(f"flowdesk: there is no execution #{args.id}; list them with 'flowdesk executions'", file=sys.stderr)
        return EXIT_FAILED
    if args.journal:
        from .cli_output import journal_table

        if args.json:  # secret settings' values as their keyring references, as stored
            print(json.dumps(store.journal(args.id, references=True), indent=2, default=str, ensure_ascii=False))
        else:
            print(journal_table(record, store.journal(args.id)))
        return EXIT_OK
    if args.json:
        print(json.dumps(store.tree(args.id), indent=2, ensure_ascii=False))
        return EXIT_OK
    tree = store.tree(args.id)
    print(execution_details(record, store.logs(args.id), store.messages(args.id), tree["children"]))
    return EXIT_OK


def cmd_cancel(args) -> int:
    store = _store(args)
    try:
        outcome = store.request_cancel(args.id)
    except LookupError:
        print(f"flowdesk: there is no execution #{args.id}; list them with 'flowdesk executions'", file=sys.stderr)
        return EXIT_FAILED
    if outcome == "finished":
        print(f"execution #{args.id} has already ended; nothing to cancel")
        return EXIT_OK
    if outcome == "cancelled":
        print(f"execution #{args.id} marked cancelled (its engine was no longer running)")
        return EXIT_OK
    # Its engine picks the request up within a fraction of a second; report what it did.
    from .cli_control import wait_for_status

    record = wait_for_status(store, args.id, {"success", "error", "cancelled"}, 5.0)
    if record is None:
        print(f"cancel of execution #{args.id} requested; its engine has not confirmed yet")
    else:
        print(f"execution #{args.id}: {record['status']}" + (f" — {record['message']}" if record["message"] else ""))
    return EXIT_OK


def cmd_store_command(args) -> int:
    from . import cli_control

    store = _store(args)
    if args.command == "forms":
        return cli_control.cmd_forms(args, store)
    if args.command == "respond":
        return cli_control.cmd_respond(args, store)
    return cli_control.cmd_control(args, store)


def cmd_flows(args) -> int:
    workspace = Workspace.open(args.workspace)
    names = workspace.flow_names()
    print("\n".join(names) if names else f"no flows in {workspace.flows_dir}")
    return EXIT_OK


def cmd_graph(args) -> int:
    from .graph.cli import run

    return run(args)


def cmd_git(args) -> int:
    from .vcs.cli import run

    return run(args)


_COMMANDS = {"run": cmd_run, "debug": cmd_debug, "graph": cmd_graph, "git": cmd_git, "executions": cmd_executions, "show": cmd_show, "cancel": cmd_cancel, "flows": cmd_flows,
             "forms": cmd_store_command, "respond": cmd_store_command, "pause": cmd_store_command,
             "resume": cmd_store_command}

if __name__ == "__main__":
    sys.exit(main())
