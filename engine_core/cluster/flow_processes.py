"""Flow processes on a Dask worker: how they are started, kept warm and ended.

A flow process runs ``engine_core.worker.remote`` (the local worker's loop, on one end of a
socketpair; the supervisor holds the other). Not multiprocessing: a Nanny-started Dask worker
is a daemonic process, and daemonic processes may not have multiprocessing children.

They are forked by a *zygote*: one process per Dask worker, started with ``subprocess.Popen``,
that has imported the flow runtime once and forks a flow process per request (~5 ms, where a
new interpreter takes ~0.15 s of CPU, 0.4 s on a busy machine). A deep chain of children needs
one process per level at once; forks keep a 32-deep chain in seconds. The zygote passes back a
pidfd of each child (it cannot be mistaken for a later process with the same pid) and reports
their exit codes, since only it can reap them. Without a zygote (it failed to start, or died)
flow processes are started with Popen, as before.

``FlowProcesses`` keeps ``warm`` idle processes per key (package set, memory limit, max runs,
and the workspace when the ticket names one) ready, takes back those whose execution ended
normally, and reaps the ones that end."""

from __future__ import annotations

import collections
import itertools
import logging
import os
import pickle
import queue
import signal
import socket
import subprocess
import sys
import threading
import time

from ..process_group import signal_group

log = logging.getLogger("flowdesk.cluster")

Key = tuple
"""(site dir or None, memory limit in MB (0: none), max_runs[, workspace]): processes are alike
per key. A process that ran an execution keeps that flow's module globals, ``os.environ`` and
``sys.modules``: with the workspace in the key it goes back only to that workspace's executions.
The first three alone are a *base* key, whose idle processes a workspace's key may take while
they are fresh (never ran anything: no workspace's state)."""
KEPT_KEYS = 4
"""Keys (package sets, workspaces) kept warm at once; an older one's idle processes are stopped (a
workspace whose requirements changed, or that no engine runs any more, does not pin processes forever)."""
FORK_TIMEOUT_S = 10.0
"""A zygote that has not forked within this is taken for hung: it is killed, Popen takes over."""
ZYGOTE_RETRY_S = 30.0


class Spawned:
    """A flow process started with Popen (this process is its parent and reaps it)."""

    def __init__(self, popen: subprocess.Popen) -> None:
        self.popen = popen
        self.pid = popen.pid

    @property
    def returncode(self) -> int | None:
        return self.popen.returncode

    def running(self) -> bool:
        return self.popen.poll() is None

    def wait(self, timeout: float | None) -> bool:
        try:
            self.popen.wait(timeout)
        except subprocess.TimeoutExpired:
            return False
        return True


class Forked:
    """A flow process forked by the zygote, which reaps it and tells its exit code."""

    def __init__(self, pid: int) -> None:
        self.pid = pid
        self.returncode: int | None = None  # None after the end too when the zygote died first
        self._ended = threading.Event()

    def running(self) -> bool:
        return not self._ended.is_set()

    def wait(self, timeout: float | None) -> bool:
        return self._ended.wait(timeout)

    def ended(self, code: int | None) -> None:
        self.returncode = code
        self._ended.set()


class FlowProcess:
    """One flow process and the supervisor's end of its socketpair."""

    def __init__(self, proc: Spawned | Forked, sock: socket.socket, key: Key, pidfd: int | None) -> None:
        self.proc = proc
        self.sock = sock
        self.key = key
        self.pidfd = pidfd  # readable once the process has exited (Linux); None: poll
        self.closed_at = 0.0  # when our end was closed (it should exit at once: EOF)
        self._closed = False

    @property
    def pid(self) -> int:
        return self.proc.pid

    @property
    def returncode(self) -> int | None:
        return self.proc.returncode

    def alive(self) -> bool:
        return not self._closed and self.proc.running()

    def signal(self, sig: int) -> None:
        """SIGTERM (cancel) to the flow's process, so its cancel handler runs; other signals
        (SIGSTOP/SIGCONT: pause) to its process group, as the local pool does."""
        try:
            if sig == signal.SIGTERM:
                os.kill(self.pid, sig)
            else:
                os.killpg(self.pid, sig)
        except OSError:
            pass  # gone: its pidfd / socket says so

    def kill(self) -> None:
        """SIGKILL to the process group (what the flow started dies with it), then reap."""
        signal_group(self.pid, signal.SIGKILL)
        self.reap(timeout=5.0)

    def reap(self, timeout: float | None = None) -> bool:
        """Wait for the process to end (at most ``timeout``) and close our ends; whether it ended."""
        ended = self.proc.wait(timeout)
        self.close()
        return ended

    def close(self) -> None:
        if self._closed:
            return
        self._closed = True
        self.closed_at = time.monotonic()
        self.sock.close()
        if self.pidfd is not None:
            os.close(self.pidfd)


def _flow_args(key: Key) -> list[str]:
    site, memory_limit_mb, max_runs = key[:3]  # the workspace changes no setting of the process
    return [str(memory_limit_mb or 0), str(max_runs), site or ""]


def _pidfd(pid: int) -> int | None:
    try:
        return os.pidfd_open(pid)
    except (AttributeError, OSError):  # not Linux, or a kernel before 5.3
        return None


def _start_remote(mode: list[str], parent_pid: int, args: list[str],
                  *pair: int) -> tuple[subprocess.Popen, socket.socket]:
    """``python -m engine_core.worker.remote [mode] FD PARENT [args]`` holding one end of a new
    socketpair (``pair``: its family and type); the Popen and our end. Their end is closed here
    once the child has it, so our end sees EOF when the child ends."""
    ours, theirs = socket.socketpair(*pair)
    try:
        popen = subprocess.Popen(
            [sys.executable, "-m", "engine_core.worker.remote", *mode, str(theirs.fileno()), str(parent_pid), *args],
            pass_fds=[theirs.fileno()], stdin=subprocess.DEVNULL)
    except BaseException:
        ours.close()
        raise
    finally:
        theirs.close()
    return popen, ours


def spawn(key: Key, parent_pid: int) -> FlowProcess:
    """A flow process in a new interpreter (no zygote)."""
    popen, ours = _start_remote([], parent_pid, _flow_args(key))
    return FlowProcess(Spawned(popen), ours, key, _pidfd(popen.pid))


class Zygote:
    """The client of a zygote (``python -m engine_core.worker.remote --zygote``): fork requests
    over a SOCK_SEQPACKET socketpair, each carrying the flow's socket end (SCM_RIGHTS); replies
    carry the child's pid and pidfd; exit notices its exit code."""

    def __init__(self, parent_pid: int) -> None:
        self.popen, self.sock = _start_remote(["--zygote"], parent_pid, [], socket.AF_UNIX, socket.SOCK_SEQPACKET)
        self.broken = False
        self._lock = threading.Lock()  # one fork request at a time
        self._replies: queue.SimpleQueue = queue.SimpleQueue()
        self._children: dict[int, Forked] = {}
        self._children_lock = threading.Lock()
        self._ids = itertools.count(1)
        threading.Thread(target=self._read, name="flowdesk-zygote", daemon=True).start()

    def fork(self, key: Key) -> FlowProcess:
        """A new flow process; OSError when the zygote cannot make one (the caller spawns)."""
        ours, theirs = socket.socketpair()
        try:
            with self._lock:
                if self.broken:
                    raise OSError("the zygote is gone")
                request = next(self._ids)
                socket.send_fds(self.sock, [pickle.dumps((request, *_flow_args(key)))], [theirs.fileno()])
                while True:
                    try:
                        answered, child, pidfd = self._replies.get(timeout=FORK_TIMEOUT_S)
                    except queue.Empty:
                        self.close()
                        raise OSError(f"the zygote did not fork within {FORK_TIMEOUT_S:.0f} s") from None
                    if answered == request:
                        break
                    _discard(child, pidfd)  # the answer to a request that timed out: nobody's
        except BaseException:
            ours.close()
            raise
        finally:
            theirs.close()
        return FlowProcess(child, ours, key, pidfd)

    def _read(self) -> None:
        while True:
            try:
                data, fds, _, _ = socket.recv_fds(self.sock, 4096, 1)
            except OSError:
                data, fds = b"", []
            if not data:
                self._gone()
                return
            message = pickle.loads(data)
            if message[0] == "spawned":
                child = Forked(message[2])
                with self._children_lock:
                    self._children[child.pid] = child
                self._replies.put((message[1], child, fds[0] if fds else _pidfd(child.pid)))
            elif message[0] == "exit":
                with self._children_lock:
                    child = self._children.pop(message[1], None)
                if child is not None:
                    child.ended(message[2])

    def _gone(self) -> None:
        """The zygote ended: its children live on (reparented), their exit codes are lost; each
        counts as ended once its process is gone."""
        self.broken = True
        with self._children_lock:
            orphans, self._children = list(self._children.values()), {}
        if orphans:
            threading.Thread(target=_watch_orphans, args=(orphans,), name="flowdesk-orphans", daemon=True).start()

    def alive(self) -> bool:
        return not self.broken and self.popen.poll() is None

    def close(self) -> None:
        """End the zygote (its flow processes are not touched)."""
        self.broken = True
        try:
            self.popen.kill()
            self.popen.wait(5.0)
        except (OSError, subprocess.TimeoutExpired):
            pass
        self.sock.close()


def _discard(child: Forked, pidfd: int | None) -> None:
    signal_group(child.pid, signal.SIGKILL)
    if pidfd is not None:
        os.close(pidfd)


def _watch_orphans(orphans: list[Forked]) -> None:
    from ..lifeline import alive

    while orphans:
        time.sleep(0.25)
        for child in [c for c in orphans if not alive(c.pid)]:
            child.ended(None)
            orphans.remove(child)


class FlowProcesses:
    """Idle flow processes per key. ``take`` hands one out (starting one when none is idle) and
    asks the top-up thread to replace it; ``put`` takes it back after an execution."""

    def __init__(self, warm: int, idle_cap: int, parent_pid: int | None = None, zygote: bool = True) -> None:
        self.warm = warm
        self.idle_cap = max(idle_cap, warm)
        self.parent_pid = parent_pid or os.getpid()
        self._idle: dict[Key, list[FlowProcess]] = {}
        self._wanted: collections.OrderedDict[Key, None] = collections.OrderedDict()
        self._exiting: list[FlowProcess] = []
        self._cond = threading.Condition()
        self.closed = False
        self._use_zygote = zygote
        self._zygote: Zygote | None = None
        self._zygote_tried = 0.0
        self._zygote_lock = threading.Lock()
        self._thread = threading.Thread(target=self._top_up, name="flowdesk-warm", daemon=True)
        self._thread.start()

    def start(self, key: Key) -> FlowProcess:
        """A new flow process: forked by the zygote, else a new interpreter."""
        zygote = self._get_zygote()
        if zygote is not None:
            try:
                return zygote.fork(key)
            except OSError as exc:
                log.warning("the flow process zygote failed (%s); starting flow processes without it", exc)
        return spawn(key, self.parent_pid)

    def _get_zygote(self) -> Zygote | None:
        if not self._use_zygote:
            return None
        with self._zygote_lock:
            if self._zygote is not None and self._zygote.alive():
                return self._zygote
            now = time.monotonic()
            if self.closed or now - self._zygote_tried < ZYGOTE_RETRY_S:
                return None
            self._zygote_tried = now
            if self._zygote is not None:
                self._zygote.close()
            try:
                self._zygote = Zygote(self.parent_pid)
            except OSError as exc:
                log.warning("cannot start the flow process zygote: %s", exc)
                self._zygote = None
            return self._zygote

    def want(self, key: Key) -> None:
        """Keep ``warm`` processes of ``key`` ready from now on."""
        with self._cond:
            self._wanted[key] = None
            self._wanted.move_to_end(key)
            dropped = []
            while len(self._wanted) > KEPT_KEYS:
                old, _ = self._wanted.popitem(last=False)
                dropped += self._idle.pop(old, [])
            self._exiting += dropped
            self._cond.notify()
        for process in dropped:
            process.close()  # EOF: its worker_main returns; the top-up thread reaps it

    def take(self, key: Key) -> FlowProcess:
        with self._cond:
            if self.closed:
                raise RuntimeError("the Dask worker is closing")
            process = self._pop_idle(key)
            if process is None and len(key) > 3:
                # The plugin keeps base keys warm before any workspace ran there. Their idle
                # processes are fresh only while no ticket without a workspace puts one back
                # under a base key, which holds as long as all tickets carry a workspace or none do.
                process = self._pop_idle(key[:3])
                if process is not None:
                    process.key = key  # it now holds this workspace's state: back to it only
        self.want(key)  # also wakes the top-up thread to replace the one taken
        return process if process is not None else self.start(key)

    def _pop_idle(self, key: Key) -> FlowProcess | None:
        """A live idle process of ``key``, or None (caller holds the lock)."""
        idle = self._idle.get(key, [])
        while idle:
            candidate = idle.pop()
            if candidate.alive():
                return candidate
            self._exiting.append(candidate)
        return None

    def put(self, process: FlowProcess) -> None:
        """Back after an execution that ended normally (its DONE did not retire it)."""
        with self._cond:
            idle = self._idle.setdefault(process.key, [])
            if not self.closed and process.key in self._wanted and process.alive() and len(idle) < self.idle_cap:
                idle.append(process)
                return
            self._exiting.append(process)
            self._cond.notify()
        process.close()

    def retire(self, process: FlowProcess) -> None:
        """An ended process (or one ending by itself): reaped by the top-up thread."""
        with self._cond:
            self._exiting.append(process)
            self._cond.notify()

    def idle_count(self, key: Key) -> int:
        with self._cond:
            return sum(1 for p in self._idle.get(key, []) if p.alive())

    def close(self) -> None:
        """The worker closes: kill the idle processes and the zygote. Busy ones end with their
        supervisors (``put`` kills what comes back now), or with the worker's process (their
        lifeline)."""
        with self._cond:
            self.closed = True
            idle = [p for processes in self._idle.values() for p in processes]
            self._idle.clear()
            self._cond.notify()
        for process in idle:
            process.kill()
        with self._zygote_lock:
            if self._zygote is not None:
                self._zygote.close()

    def _missing(self) -> Key | None:
        """A wanted key with fewer than ``warm`` live idle processes (caller holds the lock)."""
        for key in reversed(self._wanted):  # the most recently used set first
            idle = self._idle.setdefault(key, [])
            dead = [p for p in idle if not p.alive()]
            if dead:
                idle[:] = [p for p in idle if p not in dead]
                self._exiting += dead
            if len(idle) < self.warm:
                return key
        return None

    def _top_up(self) -> None:
        while True:
            with self._cond:
                key = None
                while not self.closed:
                    key = self._missing()
                    if key is not None or self._exiting:
                        break
                    self._cond.wait(1.0)
                exiting, self._exiting = self._exiting, []
                closed = self.closed
            still = [p for p in exiting if not p.reap(timeout=0)]  # not ended yet
            if closed:
                for process in still:
                    process.kill()
                return
            for process in still:
                if time.monotonic() - process.closed_at > 5.0:
                    process.kill()  # told to end (EOF) long ago and still there: stuck in a flow's code
            still = [p for p in still if p.proc.running()]
            if still:
                with self._cond:
                    self._exiting += still
            if key is None:
                if still:
                    with self._cond:
                        self._cond.wait(0.5)  # those told to end exit in a moment
                continue
            try:
                process = self.start(key)
            except OSError as exc:
                log.warning("cannot start a flow process: %s", exc)
                with self._cond:
                    self._cond.wait(5.0)
                continue
            with self._cond:
                if self.closed or key not in self._wanted:
                    self._exiting.append(process)
                    process.close()
                else:
                    self._idle.setdefault(key, []).append(process)
