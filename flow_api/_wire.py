"""How flow values travel between processes and into the database: JSON, with resources
(settings, flows, executions) written as small marker objects and turned back into live
objects on the other side."""

from __future__ import annotations

import json
from typing import Any

MARKER = "__flowdesk_resource__"


def encode(value: Any, what: str) -> str:
    """Serialise ``value`` to JSON text; ``what`` names it in the error if that is impossible."""
    return json.dumps(_to_plain(value, what), separators=(",", ":"), ensure_ascii=False)


def decode(text: str | None) -> Any:
    if text is None:
        return None
    return _from_plain(json.loads(text))


def _to_plain(value: Any, where: str) -> Any:
    kind = getattr(type(value), "resource_kind", None)
    if kind in ("setting", "flow", "file"):
        return {MARKER: kind, "name": value.name}
    if kind in ("execution", "message"):
        return {MARKER: kind, "id": value.id}
    if value is None or isinstance(value, (bool, int, float, str)):
        return value
    if isinstance(value, dict):
        out = {}
        for key, item in value.items():
            if not isinstance(key, str):
                raise TypeError(f"{where}: dictionary keys must be strings, got {key!r}")
            out[key] = _to_plain(item, f"{where}[{key!r}]")
        return out
    if isinstance(value, (list, tuple)):
        return [_to_plain(item, f"{where}[{i}]") for i, item in enumerate(value)]
    raise TypeError(
        f"{where}: a value of type {type(value).__name__} cannot be stored; "
        "use JSON values (str, int, float, bool, None, list, dict) or a resource"
    )


def _from_plain(value: Any) -> Any:
    if isinstance(value, dict):
        kind = value.get(MARKER)
        if kind is not None:
            return _resource(kind, value)
        return {key: _from_plain(item) for key, item in value.items()}
    if isinstance(value, list):
        return [_from_plain(item) for item in value]
    return value


def _resource(kind: str, marker: dict) -> Any:
    # Imported here: the resource classes import this module's users.
    from .execution import Execution
    from .messages import Message
    from .resources import File, Flow, Setting

    by_name = {"setting": Setting, "flow": Flow, "file": File}
    by_id = {"execution": Execution, "message": Message}
    if kind in by_name:
        return by_name[kind](marker["name"])
    if kind in by_id:
        return by_id[kind](marker["id"])
    return marker
