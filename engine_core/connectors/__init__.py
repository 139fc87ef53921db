"""Connectors: what ``this.connect(connector_type=..., **params)`` runs.

A connector is a function ``(this, params) -> outputs dict`` registered under a type name with
the parameters it takes (:class:`spec.Param`: required, secret). Built-in connectors are
modules of this package that call :func:`register`; other packages add theirs through the
entry point group ``flowdesk.connectors`` (name = connector type, value = the function, or a
:class:`spec.ConnectorSpec` to declare parameters)."""

from __future__ import annotations

from importlib import import_module, metadata
from typing import Any, Callable

from flow_api import ConnectorError, Execution

from .spec import MASK, ConnectorSpec, Param

Connector = Callable[[Execution, dict], "dict[str, Any] | None"]

# Built-in connector modules, imported on first use (each registers itself).
BUILT_IN = ("rest", "git", "shell", "sql", "ssh", "smtp")

_registry: dict[str, ConnectorSpec] = {}
_loaded = False


def register(connector_type: str, connector: Connector, params: "tuple[Param, ...] | list[Param] | None" = None,
             doc: str = "", one_of: tuple[tuple[str, ...], ...] = ()) -> None:
    kind = connector_type.upper()
    _registry[kind] = ConnectorSpec(kind, connector, tuple(params) if params is not None else None, doc, one_of)


def available() -> list[str]:
    _load()
    return sorted(_registry)


def spec(connector_type: str) -> ConnectorSpec:
    _load()
    found = _registry.get(str(connector_type).upper())
    if found is None:
        known = ", ".join(available()) or "none"
        raise ConnectorError(f"unknown connector type {connector_type!r}; available connector types: {known}")
    return found


def get(connector_type: str) -> Connector:
    return spec(connector_type).run


def run(connector_type: str, this: Execution, params: dict) -> dict | None:
    return get(connector_type)(this, params)


def masked(connector_type: str, params: dict) -> dict:
    """``params`` as they may be stored and shown: secrets replaced by ``********``."""
    try:
        return spec(connector_type).masked(params)
    except ConnectorError:
        return ConnectorSpec(str(connector_type), lambda this, p: None).masked(params)


def secret_values(connector_type: str, params: dict) -> list[str]:
    """The secret values of a call (secret parameters, credentials in URLs), to be masked in
    the connection's messages and logs."""
    try:
        return spec(connector_type).secret_values(params)
    except ConnectorError:
        return ConnectorSpec(str(connector_type), lambda this, p: None).secret_values(params)


def _load() -> None:
    global _loaded
    if _loaded:
        return
    _loaded = True
    for module in BUILT_IN:
        import_module(f"{__name__}.{module}")
    for entry_point in metadata.entry_points(group="flowdesk.connectors"):
        loaded = entry_point.load()
        if isinstance(loaded, ConnectorSpec):
            _registry[entry_point.name.upper()] = loaded
        else:
            register(entry_point.name, loaded)


__all__ = ["MASK", "BUILT_IN", "ConnectorSpec", "Param", "available", "get", "masked", "register", "run", "secret_values", "spec"]
