"""Connectors: what ``this.connect(connector_type=..., **params)`` runs.

A connector is a function ``(this, params) -> outputs dict`` registered under a type name.
Built-in connectors register here; other packages add theirs through the entry point group
``flowdesk.connectors`` (name = connector type, value = the function)."""

from __future__ import annotations

from importlib import metadata
from typing import Any, Callable

from flow_api import ConnectorError, Execution

Connector = Callable[[Execution, dict], "dict[str, Any] | None"]

_registry: dict[str, Connector] = {}
_entry_points_loaded = False


def register(connector_type: str, connector: Connector) -> None:
    _registry[connector_type.upper()] = connector


def available() -> list[str]:
    _load_entry_points()
    return sorted(_registry)


def get(connector_type: str) -> Connector:
    _load_entry_points()
    connector = _registry.get(str(connector_type).upper())
    if connector is None:
        known = ", ".join(available()) or "none"
        raise ConnectorError(f"unknown connector type {connector_type!r}; available connector types: {known}")
    return connector


def run(connector_type: str, this: Execution, params: dict) -> dict | None:
    return get(connector_type)(this, params)


def _load_entry_points() -> None:
    global _entry_points_loaded
    if _entry_points_loaded:
        return
    _entry_points_loaded = True
    from . import rest  # noqa: F401 - built-in, registers itself

    for entry_point in metadata.entry_points(group="flowdesk.connectors"):
        register(entry_point.name, entry_point.load())
