"""Flowdesk's execution engine, as a library. No Qt here, ever.

Public surface::

    from engine_core import Engine, EngineOptions, Workspace, Store, events, FlowdeskError
    from engine_core import ClusterOptions  # EngineOptions(cluster=ClusterOptions("tcp://host:8786"))

Names are imported lazily, so that a worker process (which imports only
``engine_core.worker``) stays small and starts fast."""

from __future__ import annotations

import functools
import importlib
from typing import TYPE_CHECKING

__all__ = ["ClusterError", "ClusterOptions", "Engine", "EngineOptions", "FlowdeskError", "Store", "Status",
           "Workspace", "events", "version"]

VERSION = "0.1.0"
"""Flowdesk's version when the installed package's metadata cannot be read (a frozen app may
carry none); a test keeps it equal to ``pyproject.toml``'s."""


@functools.cache
def version() -> str:
    """The installed Flowdesk's version (package metadata), else :data:`VERSION`. Cached: reading
    the metadata takes ~1 ms, and a cluster engine sends the version with every execution."""
    try:
        from importlib.metadata import PackageNotFoundError
        from importlib.metadata import version as distribution_version
    except ImportError:  # pragma: no cover - a stripped-down frozen app
        return VERSION
    try:
        return distribution_version("flowdesk")
    except (PackageNotFoundError, ValueError):
        return VERSION

_LAZY = {
    "ClusterError": "engine_core.cluster.config",  # neither imports distributed
    "ClusterOptions": "engine_core.cluster.config",
    "Engine": "engine_core.runtime.engine",
    "EngineOptions": "engine_core.runtime.options",
    "FlowdeskError": "engine_core.errors",
    "Store": "engine_core.store",
    "Status": "engine_core.status",
    "Workspace": "engine_core.workspace",
}

if TYPE_CHECKING:  # pragma: no cover
    from . import events
    from .cluster.config import ClusterError, ClusterOptions
    from .errors import FlowdeskError
    from .runtime.engine import Engine
    from .runtime.options import EngineOptions
    from .status import Status
    from .store import Store
    from .workspace import Workspace


def __getattr__(name: str):
    if name == "events":
        return importlib.import_module("engine_core.events")
    if name in _LAZY:
        return getattr(importlib.import_module(_LAZY[name]), name)
    raise AttributeError(f"module 'engine_core' has no attribute {name!r}")
