"""What Flowdesk keeps on each Dask worker: warm flow processes, and the workspaces' packages.

``FlowdeskWorkerPlugin`` (name "flowdesk", registered by the engine, idempotent: the first
engine's options win for every engine and workspace that uses the cluster) notes who the
worker is, keeps ``warm_per_worker`` flow processes started per package set so that an
execution starts without a process spawn, and kills them when the worker closes.
``PackagesPreinstall`` (one per requirements text) installs a workspace's packages when a
worker starts or the engine registers it, before that workspace's first execution there.

Flow processes are ``python -m engine_core.worker.remote`` started with ``subprocess.Popen``
(see worker/remote.py for why not multiprocessing), one end of a socketpair each. Setup work
(spawning, pip) runs on threads of its own: a plugin's ``setup`` runs on the worker's event
loop, which must keep answering the scheduler's heartbeats."""

from __future__ import annotations

import collections
import logging
import os
import signal
import socket
import subprocess
import sys
import threading
import time
from dataclasses import dataclass, field

from distributed.diagnostics.plugin import WorkerPlugin

from .. import version as flowdesk_version
from . import PROTOCOL

log = logging.getLogger("flowdesk.cluster")

Key = tuple  # (site dir or None, memory limit in MB (0: none), max_runs): processes are alike per key
KEPT_KEYS = 4
"""Package sets (keys) kept warm at once; an older one's idle processes are stopped (a workspace
whose requirements changed does not pin processes of its old set forever)."""


@dataclass(eq=False)
class FlowProcess:
    """One flow process and the supervisor's end of its socketpair."""

    popen: subprocess.Popen
    sock: socket.socket
    key: Key
    pidfd: int | None = None  # readable once the process has exited (Linux); None: poll
    _closed: bool = field(default=False, repr=False)
    closed_at: float = 0.0  # when our end was closed (it should exit at once: EOF)

    @property
    def pid(self) -> int:
        return self.popen.pid

    def alive(self) -> bool:
        return not self._closed and self.popen.poll() is None

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
        for kill in (os.killpg, os.kill):  # the group exists once the flow ran setsid
            try:
                kill(self.pid, signal.SIGKILL)
            except OSError:
                pass
        self.reap(timeout=5.0)

    def reap(self, timeout: float | None = None) -> int | None:
        """Wait for the process to end (at most ``timeout``), close our ends; its return code."""
        try:
            code = self.popen.wait(timeout)
        except subprocess.TimeoutExpired:
            code = None
        self.close()
        return code

    def close(self) -> None:
        if self._closed:
            return
        self._closed = True
        self.closed_at = time.monotonic()
        self.sock.close()
        if self.pidfd is not None:
            os.close(self.pidfd)


def spawn(key: Key, parent_pid: int) -> FlowProcess:
    site, memory_limit_mb, max_runs = key
    ours, theirs = socket.socketpair()
    try:
        popen = subprocess.Popen(
            [sys.executable, "-m", "engine_core.worker.remote", str(theirs.fileno()), str(parent_pid),
             str(memory_limit_mb or 0), str(max_runs), site or ""],
            pass_fds=[theirs.fileno()], stdin=subprocess.DEVNULL)
    finally:
        theirs.close()
    try:
        pidfd = os.pidfd_open(popen.pid)
    except (AttributeError, OSError):  # not Linux, or a kernel before 5.3
        pidfd = None
    return FlowProcess(popen, ours, key, pidfd)


class FlowProcesses:
    """Idle flow processes per key. ``take`` hands one out (spawning when none is idle) and
    asks the top-up thread to replace it; ``put`` takes it back after an execution."""

    def __init__(self, warm: int, idle_cap: int, parent_pid: int | None = None) -> None:
        self.warm = warm
        self.idle_cap = max(idle_cap, warm)
        self.parent_pid = parent_pid or os.getpid()
        self._idle: dict[Key, list[FlowProcess]] = {}
        self._wanted: collections.OrderedDict[Key, None] = collections.OrderedDict()
        self._exiting: list[FlowProcess] = []
        self._cond = threading.Condition()
        self.closed = False
        self._thread = threading.Thread(target=self._top_up, name="flowdesk-warm", daemon=True)
        self._thread.start()

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
            idle = self._idle.get(key, [])
            while idle:
                process = idle.pop()
                if process.alive():
                    break
                self._exiting.append(process)
            else:
                process = None
        self.want(key)  # also wakes the top-up thread to replace the one taken
        return process if process is not None else spawn(key, self.parent_pid)

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
        """The worker closes: kill the idle processes. Busy ones end with their supervisors
        (``put`` kills what comes back now), or with the worker's process (their lifeline)."""
        with self._cond:
            self.closed = True
            idle = [p for processes in self._idle.values() for p in processes]
            self._idle.clear()
            self._cond.notify()
        for process in idle:
            process.kill()

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
            still = [p for p in exiting if p.reap(timeout=0) is None]  # not exited yet
            if closed:
                for process in still:
                    process.kill()
                return
            for process in still:
                if time.monotonic() - process.closed_at > 5.0:
                    process.kill()  # told to end (EOF) long ago and still there: stuck in a flow's code
            still = [p for p in still if p.popen.returncode is None]
            if still:
                with self._cond:
                    self._exiting += still
            if key is None:
                if still:
                    with self._cond:
                        self._cond.wait(0.5)  # those told to end exit in a moment
                continue
            try:
                process = spawn(key, self.parent_pid)
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


class FlowdeskWorkerPlugin(WorkerPlugin):
    """Registered once per cluster under the name "flowdesk"; every supervisor task of every
    engine uses it (``get_worker().plugins["flowdesk"]``)."""

    name = "flowdesk"
    idempotent = True

    def __init__(self, warm_per_worker: int = 2, memory_limit_mb: int | None = 4096, max_runs: int = 500) -> None:
        self.warm_per_worker = warm_per_worker
        self.memory_limit_mb = memory_limit_mb
        self.max_runs = max_runs
        self.address = ""
        self.host = ""
        self.version = ""
        self.flows: FlowProcesses | None = None
        self._security = None
        self._ssl = None
        self._lock = threading.Lock()

    def __getstate__(self):  # what travels to the workers: the settings, not the live parts
        return {"warm_per_worker": self.warm_per_worker, "memory_limit_mb": self.memory_limit_mb,
                "max_runs": self.max_runs}

    def __setstate__(self, state) -> None:
        self.__init__(**state)

    def setup(self, worker) -> None:
        self.address = worker.address
        self.host = socket.gethostname()
        self.version = flowdesk_version()
        self._security = worker.security
        threads = getattr(getattr(worker, "state", None), "nthreads", None) or getattr(worker, "nthreads", 1)
        # Room for the processes of running executions to come back (warm + threads): a released
        # process is kept rather than a younger one, and nothing is spawned only to be stopped.
        self.flows = FlowProcesses(self.warm_per_worker, idle_cap=self.warm_per_worker + threads)
        # Ready before the first execution: the set of a workspace without packages now,
        # those with packages once PackagesPreinstall (or the first execution) installed them.
        self.flows.want(self.default_key(None))

    def teardown(self, worker) -> None:
        if self.flows is not None:
            self.flows.close()

    def key(self, site, memory_limit_mb: int | None, max_runs: int) -> Key:
        """Flow processes are interchangeable when these match (no memory limit: 0)."""
        return (None if site is None else str(site), int(memory_limit_mb or 0), int(max_runs))

    def default_key(self, site) -> Key:
        """The key of this plugin's settings (the registering engine's options)."""
        return self.key(site, self.memory_limit_mb, self.max_runs)

    def ssl_context(self):
        """The context supervisors connect to a tls:// engine with: the worker's own Dask
        certificates (Dask builds it, in-memory certificates of ``Security.temporary()`` too)."""
        with self._lock:
            if self._ssl is None:
                security = self._security
                if security is None:
                    raise RuntimeError("the Dask worker has no TLS configuration")
                context = security.get_connection_args("worker").get("ssl_context")
                if context is None:
                    raise RuntimeError(f"the Dask worker {self.address} has no TLS certificates "
                                       "(start it with --tls-ca-file, --tls-cert and --tls-key)")
                self._ssl = context
            return self._ssl

    def refusal(self, ticket) -> str | None:
        """Why this worker must not run the ticket's execution, or None."""
        theirs = ticket.flowdesk_version
        if theirs != self.version or getattr(ticket, "protocol", PROTOCOL) != PROTOCOL:
            return (f"the worker {self.address} ({self.host}) runs Flowdesk {self.version}, this engine "
                    f"{theirs}; install the same Flowdesk version on the engine's machine and the workers")
        return None


class PackagesPreinstall(WorkerPlugin):
    """Installs one requirements text on every current and future worker (name
    ``flowdesk-packages-<sha12>``), then keeps flow processes of its set warm. A failure is only
    logged here: the first execution that needs the set tries again and reports pip's reason."""

    idempotent = True

    def __init__(self, packages: tuple[str, str]) -> None:
        self.packages = packages
        self.name = f"flowdesk-packages-{packages[0][:12]}"

    def setup(self, worker) -> None:
        threading.Thread(target=self._install, args=(worker,), name=self.name, daemon=True).start()

    def _install(self, worker) -> None:
        from ..packages import PackagesError, cluster_sets

        try:
            site = cluster_sets.site_dir(self.packages)
        except PackagesError as exc:
            log.warning("the workspace's packages (%s) do not install on %s: %s", self.name, worker.address, exc)
            return
        plugin = worker.plugins.get(FlowdeskWorkerPlugin.name)
        if isinstance(plugin, FlowdeskWorkerPlugin) and plugin.flows is not None:
            plugin.flows.want(plugin.default_key(site))


def plugin_for(worker) -> FlowdeskWorkerPlugin:
    """The worker's Flowdesk plugin; one made here when the engine did not register it (a
    supervise task submitted by hand, tests), kept per worker outside ``worker.plugins`` so a
    later registration does not tear down processes a supervisor is using."""
    plugin = worker.plugins.get(FlowdeskWorkerPlugin.name)
    if isinstance(plugin, FlowdeskWorkerPlugin) and plugin.flows is not None:
        return plugin
    with _fallback_lock:
        plugin = _fallback.get(worker.address)
        if plugin is None:
            plugin = FlowdeskWorkerPlugin()
            plugin.setup(worker)
            _fallback[worker.address] = plugin
        return plugin


_fallback: dict[str, FlowdeskWorkerPlugin] = {}
_fallback_lock = threading.Lock()
