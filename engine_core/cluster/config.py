"""Where executions run: this machine (None) or a Dask cluster (:class:`ClusterOptions`).

Read from, in this order: ``--local`` (this machine, whatever else says), ``--cluster ADDR``,
the environment's ``FLOWDESK_CLUSTER``, then the workspace's ``.flowdesk/config.toml``::

    [cluster]
    run_on = "cluster"              # "local" (the default) | "cluster"
    scheduler = "tls://sched.lan:8786"
    advertise = "10.0.0.2"          # where the workers reach this engine's relay
    tls_ca = "certs/ca.pem"         # relative to the workspace; absent: Dask's own TLS config
    tls_cert = "certs/engine.pem"
    tls_key = "certs/engine-key.pem"

Importing this module does not import ``distributed`` (the CLI resolves options for every run);
:func:`connect` (the Dask backend's start) is where it is used.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, replace
from pathlib import Path
from typing import TYPE_CHECKING

from ..errors import FlowdeskError
from .diagnostics import local_cluster

if TYPE_CHECKING:  # pragma: no cover
    from ..workspace import Workspace

ENV = "FLOWDESK_CLUSTER"
_SCHEMES = ("tcp://", "tls://")
_KEYS = ("scheduler", "advertise", "tls_ca", "tls_cert", "tls_key", "max_attempts", "heartbeat_s",
         "lost_after_s", "warm_per_worker")
_COUNTS = ("max_attempts", "warm_per_worker")


class ClusterError(FlowdeskError):
    """The cluster cannot be used: the text names the scheduler and what to do about it."""


@dataclass(frozen=True)
class ClusterOptions:
    scheduler: str
    """``tcp://host:8786`` | ``tls://host:8786`` | ``local`` | ``local:N`` (an in-process
    LocalCluster of N worker processes, 2 by default: for trying the cluster path)."""
    advertise: str | None = None
    """The host or IP the Dask workers reach this engine's relay on. None: the address of the
    interface that routes to the scheduler (127.0.0.1 for a local cluster)."""
    tls_ca: str | None = None
    tls_cert: str | None = None
    tls_key: str | None = None
    """Certificates for ``tls://`` (the scheduler connection and the relay, mutual TLS).
    None: Dask's own ``distributed.comm.tls.*`` configuration."""
    max_attempts: int = 3
    """Runs of one execution (each lost Dask worker starts another) before it ends in error."""
    heartbeat_s: float = 2.0
    """How often a supervisor says it is alive, so a vanished machine is noticed."""
    lost_after_s: float = 10.0
    """Silence after which an execution's Dask worker counts as lost."""
    warm_per_worker: int = 2
    """Flow processes each Dask worker keeps started, so an execution starts without a spawn."""

    @property
    def local_workers(self) -> int | None:
        """N for ``local`` / ``local:N`` (the engine starts the cluster); None for an address."""
        if self.scheduler == "local":
            return 2
        if self.scheduler.startswith("local:"):
            return int(self.scheduler[len("local:"):])
        return None

    @property
    def tls(self) -> bool:
        return self.scheduler.startswith("tls://")


def parse_scheduler(text: str) -> str:
    """The scheduler address as Dask takes it; ClusterError for anything else. A bare
    ``host:port`` means ``tcp://host:port``."""
    text = text.strip()
    if text == "local" or text.startswith("local:"):
        count = text[len("local:"):] if ":" in text else "2"
        if not count.isdigit() or int(count) < 1:
            raise ClusterError(f"{text!r}: write 'local' or 'local:N' with N ≥ 1 worker processes")
        return text
    if "://" not in text:
        text = "tcp://" + text
    if not text.startswith(_SCHEMES):
        raise ClusterError(f"{text!r} is not a Dask scheduler address: use tcp://HOST:PORT, tls://HOST:PORT, "
                           "local or local:N")
    host, _, port = text.split("://", 1)[1].rpartition(":")
    if not host or not port.isdigit():
        raise ClusterError(f"{text!r} is not a Dask scheduler address: it needs a host and a port, "
                           "e.g. tcp://sched.lan:8786")
    return text


def resolve_cluster(workspace: "Workspace | None", cli_cluster: str | None = None,
                    cli_local: bool = False) -> ClusterOptions | None:
    """The cluster to run on, or None for this machine (see the module docstring's order)."""
    if cli_local:
        return None
    section = _section(workspace)
    scheduler = cli_cluster or os.environ.get(ENV)
    if not scheduler:
        if section.get("run_on", "local") != "cluster":
            return None
        scheduler = section.get("scheduler")
        if not scheduler:
            raise ClusterError("the workspace's .flowdesk/config.toml says run_on = \"cluster\" but gives no "
                               "scheduler: add scheduler = \"tcp://HOST:8786\" to its [cluster] section")
    options = ClusterOptions(parse_scheduler(scheduler))
    # The config's other keys (advertise, TLS, tunables) apply whichever way the scheduler came.
    extra = {key: section[key] for key in _KEYS[1:] if key in section}
    for key in ("tls_ca", "tls_cert", "tls_key"):
        if key in extra and workspace is not None:
            extra[key] = str((workspace.root / extra[key]).resolve())
    for key, value in extra.items():
        wanted = (int, float) if key in ("heartbeat_s", "lost_after_s") else int if key in _COUNTS else str
        if not isinstance(value, wanted) or isinstance(value, bool):
            raise ClusterError(f"[cluster] {key} = {value!r} in .flowdesk/config.toml: expected "
                               f"{'a number' if wanted != str else 'text'}")
    return replace(options, **extra)


def _section(workspace) -> dict:
    if workspace is None:
        return {}
    section = workspace.config().get("cluster", {})
    if not isinstance(section, dict):
        raise ClusterError("the workspace's .flowdesk/config.toml has a 'cluster' key that is not a [cluster] section")
    unknown = sorted(set(section) - set(_KEYS) - {"run_on"})
    if unknown:
        raise ClusterError(f"the [cluster] section of .flowdesk/config.toml has unknown keys {unknown}; "
                           f"known: run_on, {', '.join(_KEYS)}")
    return section


def tls_paths(options: ClusterOptions) -> tuple[str, str, str] | None:
    """(ca, cert, key) when the options name all three; None: take Dask's configuration."""
    paths = (options.tls_ca, options.tls_cert, options.tls_key)
    if all(paths):
        for path in paths:
            if not Path(path).is_file():
                raise ClusterError(f"the TLS file {path} does not exist (cluster tls_ca / tls_cert / tls_key)")
        return paths  # type: ignore[return-value]
    if any(paths):
        raise ClusterError("give all three of tls_ca, tls_cert and tls_key, or none (Dask's TLS configuration)")
    return None


def connect(distributed, options: ClusterOptions) -> tuple:
    """A Dask client for ``options`` and the LocalCluster started for ``local[:N]`` (else None;
    the caller closes both). ClusterError saying what to do when it cannot be had."""
    workers = options.local_workers
    cluster = None
    try:
        if workers is not None:
            cluster = local_cluster(distributed, n_workers=workers, threads_per_worker=1, processes=True,
                                    dashboard_address=":0")
            return distributed.Client(cluster, timeout=10, set_as_default=False), cluster
        security = _security(options)
        if not options.tls:  # a bare connect to a TLS scheduler would log a failed handshake there
            _probe(options.scheduler)
        return distributed.Client(options.scheduler, security=security, timeout=10, set_as_default=False), None
    except ClusterError:
        raise
    except Exception as exc:  # noqa: BLE001 - OSError, TimeoutError, ssl errors: one message
        _close_failed_client(distributed, exc)
        if cluster is not None:
            cluster.close()
        if workers is not None:
            raise ClusterError(f"cannot start a local Dask cluster of {workers} workers: {reason(exc)}") from None
        raise _unreachable(options, reason(exc)) from None


def reason(exc: BaseException) -> str:
    """An exception in one line: its message's first line, or its type's name."""
    text = str(exc).strip()
    return text.splitlines()[0] if text else type(exc).__name__


def unusable(scheduler: str, exc: BaseException) -> ClusterError:
    """An engine that connected but could not use its cluster (its relay's port, a worker
    plugin, a timeout): one line naming the scheduler and what to do, no traceback."""
    return ClusterError(f"cannot use the Dask cluster at {scheduler}: {reason(exc)}; start its scheduler "
                        "(e.g. flowdesk cluster local), check the address, or run with --local")


def _unreachable(options: ClusterOptions, reason: str) -> ClusterError:
    return ClusterError(f"cannot reach the Dask scheduler at {options.scheduler}: {reason}; start one with "
                        "`flowdesk cluster local --workers 2` or check --cluster")


def _probe(scheduler: str) -> None:
    """Fail at once, with the system's reason, when nothing listens at the scheduler's address
    (Dask's client would retry for its whole timeout and then say only "timed out")."""
    import socket

    host, _, port = scheduler.split("://", 1)[1].rpartition(":")
    try:
        socket.create_connection((host.strip("[]"), int(port)), timeout=5).close()
    except OSError as exc:
        raise OSError(exc.strerror or str(exc) or type(exc).__name__) from None


def _close_failed_client(distributed, exc: BaseException) -> None:
    """A Client whose start failed is left half-made; closed later by its ``__del__`` (at exit,
    once its event loop is gone) it waits 20 s and prints a traceback. Close it now."""
    tb = exc.__traceback__
    while tb is not None:
        client = tb.tb_frame.f_locals.get("self")
        if isinstance(client, distributed.Client):
            try:
                client.close(timeout=2)
            except Exception:  # noqa: BLE001 - best effort: it never worked
                pass
            return
        tb = tb.tb_next


def _security(options: ClusterOptions) -> object:
    from distributed.security import Security

    paths = tls_paths(options)
    if paths is None:
        security = Security()  # Dask's configuration: distributed.comm.tls.*
        if options.tls and not (security.tls_ca_file and security.tls_client_cert):
            raise ClusterError(f"{options.scheduler} needs certificates: set tls_ca, tls_cert and tls_key in the "
                               "[cluster] section of .flowdesk/config.toml (or Dask's distributed.comm.tls "
                               "configuration)")
        return security
    ca, cert, key = paths
    return Security(tls_ca_file=ca, tls_client_cert=cert, tls_client_key=key, require_encryption=True)
