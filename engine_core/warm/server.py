"""The warm process: an interpreter with the engine imported that forks one process per
``flowdesk`` command handed to it (see the package's docstring for what it is and why).

It stays single-threaded (a fork copies only the calling thread), opens no database and starts
nothing; each fork sets itself up as the caller's process would have been (terminal,
environment, working directory, umask, argv, ``sys.path``) and runs the CLI."""

from __future__ import annotations

import fcntl
import importlib
import io
import os
import selectors
import signal
import socket
import struct
import sys
import time

from . import client as wire

DEFAULT_IDLE_S = 20 * 60
# What `flowdesk run` and the store commands import: imported here once, so that a command's
# process (a fork of this one) starts with them. A test checks a warm `run` imports no more of
# the engine than this.
PREIMPORTS = [
    "engine_core.cli", "engine_core.cli_output", "engine_core.cli_control", "engine_core.runtime.engine",
    "engine_core.runtime.pool", "engine_core.runtime.options", "engine_core.store", "engine_core.forms",
    "engine_core.connectors.records", "engine_core.fileio", "engine_core.runtime.ops.children",
    "engine_core.runtime.ops.forms", "engine_core.runtime.ops.locks", "engine_core.runtime.ops.records",
    "engine_core.runtime.ops.replay", "engine_core.runtime.ops.timers", "engine_core.packages",
    "sqlalchemy.dialects.sqlite.pysqlite", "sqlite3", "argparse", "json",
    "multiprocessing.forkserver", "multiprocessing.popen_forkserver", "multiprocessing.resource_tracker",
    # the forkserver's preload (runtime/pool.py), so that a forked forkserver has it already
    "flow_api", "engine_core.worker.process",
    "engine_core.warm.forked_helpers",
]


def main() -> None:
    path = sys.argv[1]
    lock = _lock(path)
    if lock is None:
        return  # another warm process serves this socket
    for name in PREIMPORTS:
        importlib.import_module(name)
    if _threads() != 1:  # never fork a process with threads (see forked_helpers)
        print(f"flowdesk warm process: {_threads()} threads after the imports; not serving", flush=True)
        return
    idle_s = float(os.environ.get("FLOWDESK_WARM_IDLE_S", DEFAULT_IDLE_S))
    WarmServer(path, lock, idle_s).serve()


def _threads() -> int:
    import threading

    return threading.active_count()


def _lock(path: str):
    """This socket's lock, held for the warm process's life; ``None`` if another holds it."""
    lock = open(path.removesuffix(".sock") + ".lock", "a+")
    try:
        fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except OSError:
        lock.close()
        return None
    lock.truncate(0)
    lock.write(f"{os.getpid()}\n")
    lock.flush()
    return lock


def module_files() -> dict[str, tuple[int, int]]:
    """Every imported module's file with its modification time and size."""
    files = {}
    for module in list(sys.modules.values()):
        name = getattr(module, "__file__", None)
        if isinstance(name, str):
            try:
                info = os.stat(name)
            except OSError:
                continue
            files[name] = (info.st_mtime_ns, info.st_size)
    return files


class _Command:
    """One command being run: the caller's connection and the forked process."""

    def __init__(self, conn: socket.socket, pid: int):
        self.conn: socket.socket | None = conn
        self.pid = pid
        self.pidfd = os.pidfd_open(pid)


class WarmServer:
    def __init__(self, path: str, lock, idle_s: float):
        self.path = path
        self.lock = lock
        self.idle_s = idle_s
        self.files = module_files()
        self.commands: dict[int, _Command] = {}
        self.accepting = True
        self.idle_since = time.monotonic()
        if os.path.exists(path):
            os.unlink(path)  # a dead warm process's: we hold the lock, so nobody serves it
        self.listener = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        self.listener.bind(path)
        os.chmod(path, 0o600)
        self.listener.listen(32)
        self.selector = selectors.DefaultSelector()
        self.selector.register(self.listener, selectors.EVENT_READ, self._accept)
        signal.signal(signal.SIGTERM, self._stop_signal)

    def serve(self) -> None:
        try:
            while self.accepting or self.commands:
                timeout = None if self.commands else max(0.0, self.idle_since + self.idle_s - time.monotonic())
                ready = self.selector.select(timeout)
                if not ready and not self.commands and time.monotonic() - self.idle_since >= self.idle_s:
                    self._stop_accepting()
                for key, _ in ready:
                    key.data(key.fileobj)
        finally:
            self._stop_accepting()

    def _stop_signal(self, *_) -> None:
        self._stop_accepting()
        if not self.commands:
            sys.exit(0)

    def _stop_accepting(self) -> None:
        """Take the socket away, so that the next command starts a fresh warm process; the
        commands this one runs go on until they end."""
        if not self.accepting:
            return
        self.accepting = False
        try:
            os.unlink(self.path)
        except FileNotFoundError:
            pass
        self.selector.unregister(self.listener)
        self.listener.close()

    def _accept(self, listener) -> None:
        try:
            conn, _ = listener.accept()
        except OSError:
            return
        fds: list[int] = []
        try:
            conn.settimeout(2.0)  # a caller sends its whole request at once
            uid = struct.unpack("3i", conn.getsockopt(socket.SOL_SOCKET, socket.SO_PEERCRED, 12))[1]
            if uid != os.getuid():
                raise PermissionError("another user's connection")
            _, fds, _, _ = socket.recv_fds(conn, 1, 3)
            request = wire.read_message(conn)
            if request is None:
                raise ConnectionError("the caller went away")
            if self._stale():
                wire.send_message(conn, {"refused": "stale"})
                self._stop_accepting()
                raise ConnectionError("stale")
            command = self._fork(request, fds, conn)
        except Exception:  # a bad or broken request: that caller runs its command itself
            conn.close()
            return
        finally:
            for fd in fds:
                os.close(fd)
        conn.settimeout(None)
        self.commands[command.pid] = command
        self.selector.register(conn, selectors.EVENT_READ, lambda c: self._from_caller(command))
        self.selector.register(command.pidfd, selectors.EVENT_READ, lambda f: self._ended(command))

    def _fork(self, request: dict, fds: list[int], conn: socket.socket) -> _Command:
        sys.stdout.flush()
        sys.stderr.flush()
        pid = os.fork()
        if pid == 0:
            self._close_in_child()
            become_command(request, fds, conn)  # never returns
        try:
            command = _Command(conn, pid)
            wire.send_message(conn, {"pid": pid})
        except BaseException:  # its caller cannot stand in for it: it must not run unseen
            os.kill(pid, signal.SIGKILL)
            os.waitpid(pid, 0)
            raise
        return command

    def _stale(self) -> bool:
        """Whether a module this process imported changed since (an upgrade, a ``git pull``):
        its commands would run the old code."""
        for name, seen in self.files.items():
            try:
                info = os.stat(name)
            except OSError:
                return True
            if (info.st_mtime_ns, info.st_size) != seen:
                return True
        return False

    def _from_caller(self, command: _Command) -> None:
        """A signal to forward, or the caller gone: a hang-up for its command."""
        try:
            data = command.conn.recv(64)
        except OSError:
            data = b""
        signals = list(data) if data else [signal.SIGHUP]
        if not data:
            self.selector.unregister(command.conn)
            command.conn.close()
            command.conn = None
        for signum in signals:
            try:
                os.kill(command.pid, signum)
            except ProcessLookupError:
                pass

    def _ended(self, command: _Command) -> None:
        _, status = os.waitpid(command.pid, 0)
        self.selector.unregister(command.pidfd)
        os.close(command.pidfd)
        del self.commands[command.pid]
        self.idle_since = time.monotonic()
        if command.conn is None:
            return
        outcome = ({"signal": os.WTERMSIG(status)} if os.WIFSIGNALED(status)
                   else {"exit": os.waitstatus_to_exitcode(status)})
        try:
            wire.send_message(command.conn, outcome)
        except OSError:
            pass
        self.selector.unregister(command.conn)
        command.conn.close()

    def _close_in_child(self) -> None:
        """In a command's process: let go of everything of the warm process's (closed through
        their objects, so that no finalizer closes a reused descriptor later)."""
        self.selector.close()
        if self.accepting:
            self.listener.close()
        for command in self.commands.values():
            os.close(command.pidfd)
            if command.conn is not None:
                command.conn.close()
        self.lock.close()


def become_command(request: dict, fds: list[int], conn: socket.socket) -> None:
    """In the fork: become the caller's ``flowdesk`` command, run it, end the process."""
    code = 1
    try:
        conn.close()
        os.setsid()  # a group of its own: killing a command's group never reaches this one
        _take_streams(request, fds)
        signal.signal(signal.SIGINT, signal.default_int_handler)
        for signum in (signal.SIGTERM, signal.SIGHUP, signal.SIGQUIT, signal.SIGCHLD):
            signal.signal(signum, signal.SIG_DFL)
        os.environ.clear()
        os.environ.update(request["env"])
        os.umask(request["umask"])
        sys.argv = [request["argv0"], *request["argv"]]
        sys.path[:] = request["path"]
        try:
            os.chdir(request["cwd"])
        except OSError as exc:
            print(f"flowdesk: cannot enter the working directory {request['cwd']}: {exc.strerror}", file=sys.stderr)
            code = 2
            return
        from engine_core import cli

        if cli.requested_command(request["argv"]) == "run":
            from engine_core.runtime import pool

            from .forked_helpers import helpers_forked

            with helpers_forked():
                pool.prestart()
        code = cli.main(request["argv"])
    except SystemExit as exc:  # argparse's usage errors and --help
        code = exc.code if isinstance(exc.code, int) else int(exc.code is not None)
        if isinstance(exc.code, str):
            print(exc.code, file=sys.stderr)
    except BaseException:
        import traceback

        traceback.print_exc()
    finally:
        cli_end = sys.modules.get("engine_core.cli")
        if cli_end is not None:
            cli_end.end_process(code)
        os._exit(code)


def _take_streams(request: dict, fds: list[int]) -> None:
    """The caller's stdin, stdout and stderr on 0, 1 and 2, as text streams made the way the
    caller's interpreter made its own (encoding, errors, buffering). New objects: the warm
    process's were made for its log file, and their buffers know it as seekable. Those are kept
    referenced, or collecting them would close 0-2 under the new ones."""
    for target, fd in zip(request["fds"], fds):
        os.dup2(fd, target)
        os.close(fd)
    _WARM_PROCESS_STREAMS.extend((sys.stdin, sys.stdout, sys.stderr))
    made = []
    for target, spec in enumerate(request["streams"]):
        if spec is None:
            made.append(None)
            continue
        encoding, errors, line_buffering, write_through = spec
        raw = io.FileIO(target, "rb" if target == 0 else "wb", closefd=False)
        buffered = io.BufferedReader(raw) if target == 0 else io.BufferedWriter(raw)
        made.append(io.TextIOWrapper(buffered, encoding=encoding, errors=errors, newline=None if target == 0 else "\n",
                                     line_buffering=line_buffering, write_through=write_through))
    sys.stdin, sys.stdout, sys.stderr = made
    sys.__stdin__, sys.__stdout__, sys.__stderr__ = made


_WARM_PROCESS_STREAMS: list = []
