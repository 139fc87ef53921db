"""What Flowdesk keeps on each Dask worker: warm flow processes, and the workspaces' packages.

``FlowdeskWorkerPlugin`` (name "flowdesk", registered by the engine, idempotent: the first
engine's options win for every engine and workspace that uses the cluster) notes who the
worker is, keeps ``warm_per_worker`` flow processes started per package set (and per workspace
once one ran there: ``key_for``) so that an execution starts without a process spawn, and kills
them when the worker closes.
``PackagesPreinstall`` (one per requirements text) installs a workspace's packages when a
worker starts or the engine registers it, before that workspace's first execution there.

How flow processes are started and kept is flow_processes.py's. Setup work (starting them,
pip) runs on threads of its own: a plugin's ``setup`` runs on the worker's event loop, which
must keep answering the scheduler's heartbeats."""

from __future__ import annotations

import logging
import socket
import threading

from distributed.diagnostics.plugin import WorkerPlugin

from .. import version as flowdesk_version
from . import PROTOCOL, diagnostics
from .flow_processes import FlowProcesses, Key

log = logging.getLogger("flowdesk.cluster")

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
        diagnostics.quiet_worker(worker)  # its profiler and ticks cost the flows CPU

    def teardown(self, worker) -> None:
        if self.flows is not None:
            self.flows.close()

    def key(self, site, memory_limit_mb: int | None, max_runs: int) -> Key:
        """Flow processes are interchangeable when these match (no memory limit: 0)."""
        return (None if site is None else str(site), int(memory_limit_mb or 0), int(max_runs))

    def key_for(self, ticket, site) -> Key:
        """The key of the ticket's flow process. Every engine and workspace using the cluster
        shares this plugin, and a reused process keeps the module globals, ``os.environ`` and
        ``sys.modules`` its last flow left: with the ticket's workspace in the key, processes are
        reused only within one workspace, as on a local engine. A ticket without a
        ``workspace_key`` (an engine that does not send one) gets the shared key it always had."""
        key = self.key(site, ticket.memory_limit_mb, ticket.max_runs)
        workspace = getattr(ticket, "workspace_key", None)
        return key if not workspace else (*key, str(workspace))

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
