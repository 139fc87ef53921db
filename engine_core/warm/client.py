"""The launcher's half of the warm command process: hand a command to the warm process and
stand in for it (signals in, exit code out), or say that there is none to hand it to.

Imported on every ``flowdesk`` command before anything else: the standard library's cheapest
modules only (``socket`` and ``json`` are imported when a warm process is there to talk to).

The exchange on the Unix socket, all messages length-prefixed JSON:
- the client sends its request (argv, environment, umask, ``sys.path``, its streams'
  encodings and buffering, its ignored signals and signal mask), with its stdin, stdout,
  stderr and working directory attached as descriptors (SCM_RIGHTS);
- the warm process answers ``{"pid": N}`` (the command's process) or ``{"refused": why}``; a
  caller of another user or context, or a bad request, is answered by the connection closing;
- the client sends one byte per signal it gets (:data:`FORWARDED_SIGNALS`), forwarded to the
  command's process group;
- the warm process sends ``{"exit": code}`` or ``{"signal": n}`` when it has reaped it.
The client catches every signal that would end it, so a client that goes away was killed
(SIGKILL) or crashed: its command is killed too, as it would have been in the same process."""

from __future__ import annotations

import os
import signal
import struct
import sys

# Commands that open the store: these pay for SQLAlchemy's import, so these go to the warm
# process. `debug` stays in its own process (a debugger attaches to it), `ide` too.
WARM_COMMANDS = frozenset({"run", "executions", "show", "cancel", "forms", "respond", "pause", "resume"})
# Signals the stand-in passes on to its command: every catchable one whose default ends or
# stops a process (a Python process ignores SIGPIPE and SIGXFSZ). Ctrl+Z (SIGTSTP) stops the
# command, then the stand-in; `fg` continues both (SIGCONT).
FORWARDED_SIGNALS = (signal.SIGINT, signal.SIGTERM, signal.SIGHUP, signal.SIGQUIT, signal.SIGTSTP, signal.SIGCONT,
                     signal.SIGUSR1, signal.SIGUSR2, signal.SIGALRM, signal.SIGVTALRM, signal.SIGPROF, signal.SIGXCPU)
# Environment variables an interpreter reads once, as it starts (hash seed, locale, warnings,
# buffering, …): a warm process started under other values would not be the same interpreter.
_STARTUP_ENV = ("PYTHONHASHSEED", "PYTHONUNBUFFERED", "PYTHONWARNINGS", "PYTHONIOENCODING", "PYTHONUTF8",
                "PYTHONCOERCECLOCALE", "PYTHONMALLOC", "PYTHONFAULTHANDLER", "PYTHONDEVMODE", "PYTHONTRACEMALLOC",
                "LC_ALL", "LC_CTYPE", "LANG")
_HEADER = struct.Struct("!I")


def enabled() -> bool:
    """Whether this interpreter may use (and start) a warm process: Linux with pidfds, no ``-X``
    options (``-X importtime`` must time this process's imports), and not turned off with
    ``FLOWDESK_WARM=0``. The frozen app too: its executable runs ``-c CODE`` as Python does
    (packaging/frozen_main.py)."""
    if os.environ.get("FLOWDESK_WARM", "1").strip().lower() in ("0", "false", "no", "off"):
        return False
    return sys.platform == "linux" and hasattr(os, "pidfd_open") and not sys._xoptions


def socket_dir() -> str | None:
    """The user's private folder for warm processes' sockets, made if missing; ``None`` if it
    is not ours alone (another user could then talk to our warm process)."""
    base = os.environ.get("FLOWDESK_WARM_DIR")
    if not base:
        runtime = os.environ.get("XDG_RUNTIME_DIR")
        base = os.path.join(runtime, "flowdesk") if runtime and os.path.isdir(runtime) \
            else os.path.join("/tmp", f"flowdesk-{os.getuid()}")
    try:
        os.makedirs(base, mode=0o700, exist_ok=True)
        info = os.lstat(base)
    except OSError:
        return None
    if info.st_uid != os.getuid() or info.st_mode & 0o077 or not os.path.isdir(base):
        return None
    return base


def identity() -> str:
    """What a warm process must share with the command it runs: the interpreter, its flags, the
    environment it read at its start, its module search path (``sys.path[0]`` is the script's
    folder and differs per caller), and the process's context (:func:`process_context`)."""
    key = repr((sys.executable, sys.version, sys.flags, sys.warnoptions, sys.path[1:],
                [os.environ.get(name) for name in _STARTUP_ENV], process_context("self")))
    try:
        from _sha256 import sha256  # hashlib's import (OpenSSL) costs ~7 ms of every command
    except ImportError:  # Python 3.12 and later
        try:
            from _sha2 import sha256
        except ImportError:
            from hashlib import sha256
    return sha256(key.encode()).hexdigest()[:16]


def process_context(pid: str | int) -> tuple:
    """What a fork inherits and cannot change to a caller's: the control groups (a systemd scope
    that is killed with its terminal, resource limits of a group), the namespaces and root (a
    container, a chroot), the security state (groups, capabilities, no_new_privs, seccomp, the
    LSM label), the resource limits, the nice value, the scheduling policy, the CPUs allowed and
    the OOM score. A caller whose context differs is served by a warm process of its own (the
    socket's name) and refused by any other."""
    proc = f"/proc/{pid}"
    try:
        with open(f"{proc}/status") as status:
            state = [line for line in status if line.startswith(_STATUS_FIELDS)]
        with open(f"{proc}/stat") as stat:
            fields = stat.read().rsplit(")", 1)[1].split()
        parts = [_read(f"{proc}/{name}") for name in ("cgroup", "limits", "oom_score_adj", "attr/current")]
        spaces = sorted((name, os.readlink(f"{proc}/ns/{name}")) for name in os.listdir(f"{proc}/ns"))
        root = os.stat(f"{proc}/root/")
    except OSError:
        return ("unknown", pid)
    # stat's fields from the state on: nice (19th), real-time priority and policy (40th, 41st)
    return (*state, *parts, fields[16], fields[37], fields[38], *spaces, root.st_dev, root.st_ino)


_STATUS_FIELDS = ("Gid:", "Groups:", "NoNewPrivs:", "Seccomp:", "CapInh:", "CapPrm:", "CapEff:", "CapBnd:", "CapAmb:",
                  "Cpus_allowed:", "Mems_allowed:")


def _read(path: str) -> str | None:
    try:
        with open(path) as file:
            return file.read()
    except OSError:  # attr/current without an LSM
        return None


def socket_path() -> str | None:
    folder = socket_dir()
    return None if folder is None else os.path.join(folder, f"cli-{identity()}.sock")


def send_message(sock, message: dict) -> None:
    import json

    data = json.dumps(message).encode()
    sock.sendall(_HEADER.pack(len(data)) + data)


def read_message(sock, deadline: float | None = None) -> dict | None:
    """The next message, or ``None`` at the end of the connection. With a ``deadline``
    (time.monotonic()), a message not whole by then raises TimeoutError."""
    import json

    header = _read_exactly(sock, _HEADER.size, deadline)
    if header is None:
        return None
    body = _read_exactly(sock, _HEADER.unpack(header)[0], deadline)
    return None if body is None else json.loads(body)


def _read_exactly(sock, size: int, deadline: float | None) -> bytes | None:
    import time

    chunks, left = [], size
    while left:
        if deadline is not None:
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                raise TimeoutError("the message did not come in time")
            sock.settimeout(remaining)
        chunk = sock.recv(left)
        if not chunk:
            return None
        chunks.append(chunk)
        left -= len(chunk)
    return b"".join(chunks)


def _request(argv: list[str], ignored: list[int]) -> dict:
    umask = os.umask(0o022)
    os.umask(umask)
    return {
        "argv": argv, "argv0": sys.argv[0] if sys.argv else "flowdesk", "env": dict(os.environ), "umask": umask, "path": sys.path,
        # how this interpreter set up its streams (a terminal or a pipe, -u): the command's the same
        "streams": [[stream.encoding, stream.errors, getattr(stream, "line_buffering", False),
                     getattr(stream, "write_through", False), type(getattr(stream, "buffer", None)).__name__ == "FileIO"]
                    if stream is not None else None for stream in (sys.stdin, sys.stdout, sys.stderr)],
        # what it inherited of signals: ignored ones (nohup, a background job) and the blocked mask
        "ignored": ignored, "mask": sorted(signal.pthread_sigmask(signal.SIG_BLOCK, [])),
    }


def _ignored_signals() -> list[int]:
    ignored = []
    for signum in signal.valid_signals():
        try:
            if signal.getsignal(signum) == signal.SIG_IGN:
                ignored.append(int(signum))
        except (OSError, ValueError):
            continue
    return ignored


def run(argv: list[str]) -> int | None:
    """Run ``argv`` in the warm process and return its exit code (after a signal that ended it,
    this process ends by the same signal). ``None``: there is no warm process to take it (none
    running, a stale one, or this machine cannot): the caller runs the command itself."""
    # With one of 0-2 closed the socket would take its number and be handed over as stdio.
    path = socket_path() if all(_is_open(fd) for fd in (0, 1, 2)) else None
    if path is None:
        return None
    import socket

    ignored = _ignored_signals()
    stand_in = _StandIn()  # from here on, a signal is this command's, whichever process runs it
    sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    try:
        # The working directory goes as a descriptor: one may be in a folder it cannot reach by path.
        cwd = os.open(".", os.O_PATH | os.O_DIRECTORY | os.O_CLOEXEC)
        try:
            sock.connect(path)
            socket.send_fds(sock, [b"F"], [0, 1, 2, cwd])
        finally:
            os.close(cwd)
        send_message(sock, _request(argv, ignored))
        answer = read_message(sock)
    except OSError:  # no warm process (no socket, or a dead one's): not an error
        answer = None
    if answer is None or "pid" not in answer:  # none, or refused (stale: it is ending)
        sock.close()
        stand_in.give_back()
        return None
    return stand_in.follow(sock, answer["pid"])


class _StandIn:
    """This process, standing in for its command: every signal it can catch that would end or
    stop a Python process goes to the command (which takes it as the caller would have: the
    caller's ignored signals are the command's), and the command's end is this one's."""

    def __init__(self):
        self.sock = None
        self.pending: list[int] = []
        self.previous = {signum: signal.signal(signum, self._forward) for signum in FORWARDED_SIGNALS}

    def _forward(self, signum, _frame) -> None:
        if self.sock is None:  # before the command is there: sent once it is, or given back
            self.pending.append(signum)
            return
        self._send(signum)
        if signum == signal.SIGTSTP:
            # The command is stopped; now this process, as the shell expects: by the default
            # action, so that the kernel decides (it drops a stop of an orphaned group).
            signal.signal(signal.SIGTSTP, signal.SIG_DFL)
            signal.pthread_sigmask(signal.SIG_UNBLOCK, [signal.SIGTSTP])
            os.kill(os.getpid(), signal.SIGTSTP)
            signal.signal(signal.SIGTSTP, self._forward)
            self._send(signal.SIGCONT)  # continued (or never stopped): so is the command

    def _send(self, signum: int) -> None:
        try:
            self.sock.sendall(bytes([signum]))
        except OSError:
            pass

    def give_back(self) -> None:
        """No warm process took the command: the signals are this process's own again, and the
        ones that came meanwhile are delivered to it."""
        for signum, handler in self.previous.items():
            signal.signal(signum, handler)
        for signum in self.pending:
            os.kill(os.getpid(), signum)

    def follow(self, sock, pid: int) -> int:
        self.sock = sock
        for signum in self.pending:
            self._forward(signum, None)
        try:
            outcome = read_message(sock)
        except OSError:
            outcome = None
        finally:
            sock.close()
        if outcome is None:  # the warm process died under its command: end the command too
            try:
                os.kill(pid, signal.SIGTERM)
            except OSError:
                pass
            print(f"flowdesk: the warm process running this command ended unexpectedly; the command "
                  f"(process {pid}) was stopped. Run it again, or with FLOWDESK_WARM=0.", file=sys.stderr)
            return 1
        if "signal" in outcome:
            _die_of(outcome["signal"])
        return outcome["exit"]


def _die_of(signum: int) -> None:
    """End this process by ``signum``, as the command ended; without the core dump of a signal
    that makes one (the command's process dumped its own, where the system keeps them)."""
    if signum in (signal.SIGQUIT, signal.SIGILL, signal.SIGABRT, signal.SIGFPE, signal.SIGSEGV, signal.SIGBUS,
                  signal.SIGSYS, signal.SIGTRAP, signal.SIGXCPU, signal.SIGXFSZ):
        import resource

        resource.setrlimit(resource.RLIMIT_CORE, (0, resource.getrlimit(resource.RLIMIT_CORE)[1]))
    try:
        signal.signal(signum, signal.SIG_DFL)
        signal.pthread_sigmask(signal.SIG_UNBLOCK, [signum])
    except (OSError, ValueError):  # SIGKILL and SIGSTOP keep theirs
        pass
    os.kill(os.getpid(), signum)
    os._exit(128 + signum)  # a signal whose default is to be ignored


def _is_open(fd: int) -> bool:
    try:
        os.fstat(fd)
    except OSError:
        return False
    return True


def start_server() -> None:
    """Start a warm process for the next command, in the background, detached from this one's
    terminal and output (a caller reading this command's output to its end must not wait for
    it). One that finds another already serving ends at once."""
    path = socket_path()
    if path is None:
        return
    import subprocess

    log = path.removesuffix(".sock") + ".log"
    try:
        with open(log, "ab") as out:
            # The caller's own module path: a warm process must import what the command would.
            code = f"import sys; sys.path[:] = {sys.path!r}; from engine_core.warm.server import main; main()"
            subprocess.Popen([sys.executable, *subprocess._args_from_interpreter_flags(), "-c", code, path],
                             stdin=subprocess.DEVNULL, stdout=out, stderr=out, cwd="/",
                             start_new_session=True, close_fds=True)
    except OSError:
        pass  # no warm process then: the next command runs on its own, as this one did
