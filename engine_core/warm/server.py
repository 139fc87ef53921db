"""The warm process: an interpreter with the engine imported that forks one process per
``flowdesk`` command handed to it (see the package's docstring for what it is and why).

It stays single-threaded (a fork copies only the calling thread), opens no database and starts
nothing; each fork sets itself up as the caller's process would have been (terminal,
environment, working directory, umask, signals, argv, ``sys.path``) and runs the CLI."""

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
import traceback

from ..process_group import signal_group
from . import client as wire

DEFAULT_IDLE_S = 20 * 60
REQUEST_TIMEOUT_S = 1.0  # a caller sends its whole request at once: a silent one stalls no one for long
# What `flowdesk run` and the store commands import: imported here once, so that a command's
# process (a fork of this one) starts with them.
PREIMPORTS = [
    "engine_core.cli", "engine_core.cli_output", "engine_core.cli_control", "engine_core.runtime.engine",
    "engine_core.runtime.pool", "engine_core.runtime.options", "engine_core.store", "engine_core.forms",
    "engine_core.connectors.records", "engine_core.fileio", "engine_core.runtime.ops.children",
    "engine_core.runtime.ops.forms", "engine_core.runtime.ops.locks", "engine_core.runtime.ops.records",
    "engine_core.runtime.ops.replay", "engine_core.runtime.ops.timers", "engine_core.packages",
    "sqlalchemy.dialects.sqlite.pysqlite", "sqlite3", "argparse", "json", "traceback",
    "multiprocessing.forkserver", "multiprocessing.popen_forkserver", "multiprocessing.resource_tracker",
    # the forkserver's preload (runtime/pool.py), so that a forked forkserver has it already
    "flow_api", "engine_core.worker.process",
    "engine_core.warm.forked_helpers",
]
_UNCATCHABLE = {signal.SIGKILL, signal.SIGSTOP}


def main() -> None:
    path = sys.argv[1]
    # Whatever the process that started this one had blocked or ignored is not this one's
    # business: each command gets its own caller's (become_command).
    signal.pthread_sigmask(signal.SIG_SETMASK, [])
    reset_signals(ignored=(signal.SIGPIPE, signal.SIGXFSZ))  # as Python sets them at its start
    lock = _lock(path)
    if lock is None:
        return  # another warm process serves this socket
    for name in PREIMPORTS:
        importlib.import_module(name)
    import threading

    if threading.active_count() != 1:  # never fork a process with threads (see forked_helpers)
        print(f"flowdesk warm process: {threading.active_count()} threads after the imports; not serving", flush=True)
        return
    idle_s = float(os.environ.get("FLOWDESK_WARM_IDLE_S", DEFAULT_IDLE_S))
    WarmServer(path, lock, idle_s).serve()
    sys.stdout.flush()
    os._exit(0)  # nothing to tear down that the exit does not free; the lock is already released


def reset_signals(ignored) -> None:
    """Every signal's disposition as a fresh interpreter started with ``ignored`` ignored has it."""
    for signum in signal.valid_signals():
        if signum in _UNCATCHABLE:
            continue
        if signum in ignored:
            handler = signal.SIG_IGN
        else:
            handler = signal.default_int_handler if signum == signal.SIGINT else signal.SIG_DFL
        try:
            signal.signal(signum, handler)
        except (OSError, ValueError):  # the C library's own real-time signals
            pass


def _lock(path: str):
    """This socket's lock, held while the warm process accepts commands; ``None`` if another
    holds it."""
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
        self.context = wire.process_context("self")
        self.commands: dict[int, _Command] = {}
        self.accepting = True
        self.stop_requested = False
        self.idle_since = time.monotonic()
        if os.path.exists(path):
            os.unlink(path)  # a dead warm process's: we hold the lock, so nobody serves it
        self.listener = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        self.listener.bind(path)
        os.chmod(path, 0o600)
        bound = os.stat(path)
        self.bound = (bound.st_dev, bound.st_ino)
        self.listener.listen(32)
        self.selector = selectors.DefaultSelector()
        self.selector.register(self.listener, selectors.EVENT_READ, self._accept)
        # SIGTERM only sets a flag; the signal's byte on this pair wakes the loop to act on it.
        self.wake_r, self.wake_w = socket.socketpair()
        for end in (self.wake_r, self.wake_w):
            end.setblocking(False)
        self.selector.register(self.wake_r, selectors.EVENT_READ, self._woken)
        signal.set_wakeup_fd(self.wake_w.fileno(), warn_on_full_buffer=False)
        signal.signal(signal.SIGTERM, self._request_stop)

    def serve(self) -> None:
        while self.accepting or self.commands:
            timeout = None if self.commands else max(0.0, self.idle_since + self.idle_s - time.monotonic())
            ready = self.selector.select(timeout)
            if self.stop_requested or (not self.commands and time.monotonic() - self.idle_since >= self.idle_s):
                self._stop_accepting()
            for key, _ in ready:
                try:
                    key.data(key.fileobj)
                except Exception:  # one bad connection must not end the commands of the others
                    traceback.print_exc()
                    sys.stderr.flush()

    def _request_stop(self, *_) -> None:
        self.stop_requested = True

    def _woken(self, wake_r) -> None:
        try:
            wake_r.recv(512)
        except BlockingIOError:
            pass

    def _stop_accepting(self) -> None:
        """Take the socket away and let go of the lock, so that the next command starts a fresh
        warm process; the commands this one runs go on until they end."""
        if not self.accepting:
            return
        self.accepting = False
        try:
            # Only if still ours: a folder removed and made again may hold a newer warm process's.
            info = os.stat(self.path)
            if (info.st_dev, info.st_ino) == self.bound:
                os.unlink(self.path)
        except FileNotFoundError:
            pass
        self.selector.unregister(self.listener)
        self.listener.close()
        self.lock.close()

    def _accept(self, listener) -> None:
        try:
            conn, _ = listener.accept()
        except OSError:
            return
        fds: list[int] = []
        try:
            deadline = time.monotonic() + REQUEST_TIMEOUT_S
            conn.settimeout(REQUEST_TIMEOUT_S)
            peer = struct.unpack("3i", conn.getsockopt(socket.SOL_SOCKET, socket.SO_PEERCRED, 12))
            if peer[1] != os.getuid() or wire.process_context(peer[0]) != self.context:
                raise PermissionError("a caller of another user or context")  # it runs the command itself
            _, fds, _, _ = socket.recv_fds(conn, 1, 4)  # stdin, stdout, stderr, working directory
            request = wire.read_message(conn, deadline)
            if request is None or len(fds) != 4:
                raise ConnectionError("an incomplete request")
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
        # Blocked across the fork: a signal must not run this process's handlers in the child
        # before it has the caller's dispositions (become_command sets the caller's mask).
        blocked = signal.pthread_sigmask(signal.SIG_BLOCK, signal.valid_signals() - _UNCATCHABLE)
        pid = os.fork()
        if pid == 0:
            try:
                self._close_in_child()
                conn.close()
                become_command(request, fds)
            finally:
                os._exit(1)  # become_command ends the process; nothing may return into this loop
        signal.pthread_sigmask(signal.SIG_SETMASK, blocked)
        try:
            os.setpgid(pid, pid)  # as the child does itself: a signal for the group finds it either way
        except OSError:
            pass
        command = None
        try:
            command = _Command(conn, pid)
            wire.send_message(conn, {"pid": pid})
        except BaseException:  # its caller cannot stand in for it: it must not run unseen
            os.kill(pid, signal.SIGKILL)
            os.waitpid(pid, 0)
            if command is not None:
                os.close(command.pidfd)
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
        """A signal to forward to the command's process group (as a terminal signals a job), or
        the caller gone. The caller catches every signal that would end it, so gone means killed
        (SIGKILL) or crashed: its command ends as a command running on its own would have with it."""
        try:
            data = command.conn.recv(64)
        except OSError:
            data = b""
        if not data:
            self.selector.unregister(command.conn)
            command.conn.close()
            command.conn = None
            try:
                os.kill(command.pid, signal.SIGKILL)  # the command's process alone, as `kill -9` of it on its own
            except OSError:  # ended already (reaped only by _ended, so the pid is still its own)
                pass
            return
        for signum in data:
            if signum in wire.FORWARDED_SIGNALS:
                signal_group(command.pid, signum)

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
        signal.set_wakeup_fd(-1)
        self.selector.close()
        self.wake_r.close()
        self.wake_w.close()
        if self.accepting:
            self.accepting = False
            self.listener.close()
            self.lock.close()
        for command in self.commands.values():
            os.close(command.pidfd)
            if command.conn is not None:
                command.conn.close()
        self.commands.clear()


def become_command(request: dict, fds: list[int]) -> None:
    """In the fork: become the caller's ``flowdesk`` command, run it, end the process."""
    code = 1
    try:
        reset_signals(request["ignored"])  # still blocked (see WarmServer._fork): none ran our handlers
        os.setpgid(0, 0)  # a group of its own (killing it never reaches the warm process), in a session with no terminal
        _take_streams(request, fds)
        os.fchdir(fds[3])  # the caller's working directory, by descriptor (it may not be reachable by path)
        os.close(fds[3])
        os.environ.clear()
        os.environ.update(request["env"])
        time.tzset()  # TZ
        os.umask(request["umask"])
        sys.argv = [request["argv0"], *request["argv"]]
        sys.path[:] = request["path"]
        signal.pthread_sigmask(signal.SIG_SETMASK, request["mask"])
        code = _run_cli(request)
    except SystemExit as exc:  # argparse's usage errors and --help
        code = exc.code if isinstance(exc.code, int) else int(exc.code is not None)
        if isinstance(exc.code, str):
            print(exc.code, file=sys.stderr)
    except KeyboardInterrupt:  # as Python ends on an uncaught Ctrl+C: the traceback, then SIGINT
        traceback.print_exc()
        from engine_core.cli import flush_output

        flush_output()
        signal.signal(signal.SIGINT, signal.SIG_DFL)
        os.kill(os.getpid(), signal.SIGINT)
    except BaseException:
        traceback.print_exc()
    finally:
        _end(code)


def _run_cli(request: dict) -> int:
    from engine_core import cli

    if cli.requested_command(request["argv"]) == "run":
        from engine_core.runtime import pool

        from .forked_helpers import helpers_forked

        with helpers_forked():
            pool.prestart()
    return cli.main(request["argv"])


def _end(code: int) -> None:
    try:
        from engine_core.cli import end_process

        end_process(code)
    finally:
        os._exit(code)


def _take_streams(request: dict, fds: list[int]) -> None:
    """The caller's stdin, stdout and stderr on 0, 1 and 2, as text streams made the way the
    caller's interpreter made its own (encoding, errors, buffering, unbuffered with -u). New
    objects: the warm process's were made for its log file, and their buffers know it as
    seekable. Those are kept referenced, or collecting them would close 0-2 under the new ones."""
    for target, fd in enumerate(fds[:3]):
        os.dup2(fd, target)
        os.close(fd)
    _WARM_PROCESS_STREAMS.extend((sys.stdin, sys.stdout, sys.stderr))
    made = []
    for target, spec in enumerate(request["streams"]):
        if spec is None:
            made.append(None)
            continue
        encoding, errors, line_buffering, write_through, raw = spec
        layer = io.FileIO(target, "rb" if target == 0 else "wb", closefd=False)
        if target == 0:
            layer = io.BufferedReader(layer)
        elif not raw:
            layer = io.BufferedWriter(layer)
        made.append(io.TextIOWrapper(layer, encoding=encoding, errors=errors, newline="\n",
                                     line_buffering=line_buffering, write_through=write_through))
    sys.stdin, sys.stdout, sys.stderr = made
    sys.__stdin__, sys.__stdout__, sys.__stderr__ = made


_WARM_PROCESS_STREAMS: list = []
