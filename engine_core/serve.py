"""``flowdesk serve -w DIR``: one engine for the workspace, its webhooks served over HTTP
(uvicorn + Starlette, 127.0.0.1 by default) and its schedules started while it runs. Ctrl+C
(or SIGTERM) stops the server, then the schedules, then the engine (what still runs is
cancelled) and its workers. The main CLI adds it with ``add_parser`` and runs ``run(args)``."""

from __future__ import annotations

import argparse
import importlib
import importlib.util
import logging
import re
import signal
import socket
import sys

from .cli_args import EXIT_FAILED, EXIT_OK, EXIT_USAGE, add_workspace_db
from .errors import FlowdeskError
from .workspace import Workspace

HELP = "serve the workspace's webhooks over HTTP and run its schedules"


def add_parser(subparsers) -> argparse.ArgumentParser:
    parser = subparsers.add_parser("serve", help=HELP)
    add_workspace_db(parser)
    parser.add_argument("--host", default="127.0.0.1",
                        help="address to listen on (default: 127.0.0.1, this machine only; 0.0.0.0 for all)")
    parser.add_argument("--port", type=int, default=8765, help="port (default: 8765; 0 picks a free one)")
    parser.add_argument("--max-body", type=int, default=1024 * 1024, metavar="BYTES",
                        help="largest request body accepted; larger ones get 413 (default: 1 MiB)")
    parser.add_argument("--access-log", action="store_true", help="print a line per request")
    return parser


def run(args: argparse.Namespace) -> int:
    try:
        workspace = Workspace.open(args.workspace)
        sock = _listen(args.host, args.port)
    except FlowdeskError as exc:
        print(f"flowdesk: {exc}", file=sys.stderr)
        return EXIT_USAGE
    import uvicorn

    from .runtime.engine import Engine
    from .webhooks.app import create_app
    from .webhooks.records import URL_PREFIX, names

    # uvicorn catches SIGINT/SIGTERM to shut down gracefully, then raises the signal again
    # with the handlers that were there before: make those end this function through its
    # `finally` (the engine closed) rather than kill the process (SIGTERM's default).
    try:
        engine = Engine(workspace, db_url=args.db)
    except FlowdeskError as exc:
        sock.close()
        print(f"flowdesk: {exc}", file=sys.stderr)
        return EXIT_USAGE
    previous = {sig: signal.signal(sig, _interrupt) for sig in (signal.SIGINT, signal.SIGTERM)}
    runner = None
    try:
        engine.start()
        runner = _start_schedules(engine)
        config = uvicorn.Config(create_app(engine, max_body=args.max_body), log_level="info" if args.access_log else "warning",
                                access_log=args.access_log, lifespan="off", timeout_graceful_shutdown=5)
        server = uvicorn.Server(config)
        if args.access_log:
            logging.getLogger("uvicorn.access").addFilter(_KeyMask())
        host, port = sock.getsockname()[:2]
        shown = f"[{host}]" if ":" in host else host
        print(f"flowdesk serve: listening on http://{shown}:{port}{URL_PREFIX}/<name>/call "
              f"({len(names(workspace))} webhook record(s) in {workspace.root / 'webhooks'}; schedules "
              f"{'running' if runner else 'not running'}); Ctrl+C stops",
              flush=True)
        try:
            server.run(sockets=[sock])
        except KeyboardInterrupt:
            pass
    except FlowdeskError as exc:
        print(f"flowdesk: {exc}", file=sys.stderr)
        return EXIT_FAILED
    finally:
        try:
            if runner is not None:
                runner.stop()
        finally:
            engine.close()
            sock.close()
            for sig, handler in previous.items():
                signal.signal(sig, handler)
    print("flowdesk serve: stopped", flush=True)
    return EXIT_OK


class _KeyMask(logging.Filter):
    """The access log prints each request's path with its query: a webhook's key is masked."""

    def filter(self, record: logging.LogRecord) -> bool:
        if isinstance(record.args, tuple) and len(record.args) >= 3 and isinstance(record.args[2], str):
            record.args = (*record.args[:2], _KEY_IN_QUERY.sub(r"\1********", record.args[2]), *record.args[3:])
        return True


_KEY_IN_QUERY = re.compile(r"([?&]key=)[^&#]*")


def _interrupt(*_) -> None:
    raise KeyboardInterrupt


def _listen(host: str, port: int) -> socket.socket:
    """The listening socket, bound here so a port in use is a clear error and ``--port 0``
    can print the port it got."""
    try:
        infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM, flags=socket.AI_PASSIVE)
    except socket.gaierror as exc:
        raise FlowdeskError(f"cannot listen on {host!r}: {exc.strerror}; pass an address with --host") from None
    family, kind, proto, _, address = infos[0]
    sock = socket.socket(family, kind, proto)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        sock.bind(address)
    except OSError as exc:
        sock.close()
        raise FlowdeskError(f"cannot listen on {host}:{port}: {exc.strerror}; another program may use the "
                            f"port: pick another with --port (0 picks a free one)") from None
    sock.listen(2048)
    sock.set_inheritable(True)
    return sock


def _start_schedules(engine):
    """The schedules' runner, when this build has schedules (engine_core.schedules)."""
    if importlib.util.find_spec("engine_core.schedules") is None:
        return None
    runner_class = getattr(importlib.import_module("engine_core.schedules"), "ScheduleRunner", None)
    if runner_class is None:
        return None
    runner = runner_class(engine)
    try:
        runner.start()
    except FlowdeskError as exc:  # webhooks still work; the user learns why schedules do not
        print(f"flowdesk serve: schedules not started: {exc}", file=sys.stderr, flush=True)
        return None
    return runner
