"""Stored connector records: a named connector type plus inputs, so that a flow says
``this.connect('crm-api', path='/users')`` instead of repeating the URL and credentials.

A record is the workspace file ``connectors/<name>.json`` (sorted keys, synced by Git), e.g.
``{"type": "REST", "inputs": {"url": "https://crm", "password": {"secret": "keyring"}}}``.
Secret inputs (those the connector declares secret, plus the names every connector treats as
secret) never go into that file: their values live in the system keyring (the service of
:mod:`engine_core.vcs.secrets`) and the file keeps only a reference. Where no keyring backend
works (a headless Linux without a Secret Service) they go to ``.flowdesk/secrets/`` files,
readable by the user only and never synced; the reference says ``"file"`` then.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

from flow_api import ConnectorError

from ..errors import WorkspaceError
from ..fileio import write_atomically

SECRET_KEY = "secret"  # {"secret": "keyring"} / {"secret": "file"} stands for a stored secret
IN_KEYRING, IN_FILE = "keyring", "file"
_SECRETS_DIR = "secrets"  # under .flowdesk/: the fallback when no keyring backend works


class RecordError(ConnectorError):
    """A connector record is missing, unreadable or its secret cannot be found."""


# -- the API ---------------------------------------------------------------------------------

def save(workspace, name: str, connector_type: str, inputs: dict) -> Path:
    """Create or replace record ``name``; secrets go to the keyring (or the local fallback)."""
    from . import spec

    workspace = _workspace(workspace)
    path = workspace.connector_record_path(name)
    kind = spec(connector_type).type  # an unknown type: ConnectorError naming the known ones
    if not isinstance(inputs, dict):
        raise RecordError(f"the inputs of connector record {name!r} must be a JSON object, not {type(inputs).__name__}")
    secret_names = secret_inputs(kind)
    stored: dict[str, Any] = {}
    for key, value in inputs.items():
        if key in secret_names and value not in (None, "") and not _is_reference(value):
            stored[key] = {SECRET_KEY: _put_secret(workspace, name, key, value)}
        else:
            stored[key] = value
    try:
        old = _read(workspace, name) if path.is_file() else None
    except RecordError:
        old = None  # a broken file is replaced; its secrets cannot be told apart any more
    try:
        text = json.dumps({"type": kind, "inputs": stored}, indent=2, sort_keys=True) + "\n"
    except TypeError as exc:
        raise RecordError(f"connector record {name!r}: an input is not JSON ({exc})") from None
    write_atomically(path, text)
    if old is not None:  # secrets the new inputs no longer have must not linger in the keyring
        for key in _referenced(old) - {k for k, v in stored.items() if _is_reference(v)}:
            _delete_secret(workspace, name, key, old["inputs"][key][SECRET_KEY])
    return path


def load(workspace, name: str) -> tuple[str, dict]:
    """``(connector type, inputs)`` of record ``name``, its secrets filled in."""
    workspace = _workspace(workspace)
    record = _read(workspace, name)
    inputs = dict(record["inputs"])
    for key in _referenced(record):
        inputs[key] = _get_secret(workspace, name, key, inputs[key][SECRET_KEY])
    return record["type"], inputs


def stored(workspace, name: str) -> tuple[str, dict]:
    """``(connector type, inputs)`` as they are in the file: secrets as references, not values
    (what ``flowdesk connector show`` and the IDE's form show without reading the keyring)."""
    record = _read(_workspace(workspace), name)
    return record["type"], dict(record["inputs"])


def names(workspace) -> list[str]:
    return _workspace(workspace).connector_record_names()


def types(workspace) -> dict[str, str]:
    """Record name → connector type, for the editor (``lint``/``complete``'s
    ``connector_records``); unreadable records are left out."""
    found = {}
    for name in names(workspace):
        try:
            found[name] = stored(workspace, name)[0]
        except ConnectorError:
            continue
    return found


def exists(workspace, name: str) -> bool:
    try:
        return _workspace(workspace).connector_record_path(name).is_file()
    except WorkspaceError:
        return False


def delete(workspace, name: str) -> None:
    workspace = _workspace(workspace)
    record = _read(workspace, name)
    for key in _referenced(record):
        _delete_secret(workspace, name, key, record["inputs"][key][SECRET_KEY])
    workspace.connector_record_path(name).unlink()


def resolve(workspace, name_or_type: str, params: dict) -> tuple[str, dict]:
    """The connector type and the inputs of a call: a record's stored inputs overridden by the
    call's, or ``(name_or_type, params)`` when no record has that name."""
    if workspace is None or not isinstance(name_or_type, str) or not exists(workspace, name_or_type):
        return name_or_type, params
    kind, inputs = load(workspace, name_or_type)
    return kind, {**inputs, **params}


def secret_inputs(connector_type: str) -> set[str]:
    """The input names stored as secrets for this connector type."""
    from . import spec
    from .spec import _ALWAYS_SECRET

    try:
        declared = spec(connector_type).secret_names()
    except ConnectorError:
        declared = set()
    return declared | set(_ALWAYS_SECRET)


def is_secret_reference(value: Any) -> bool:
    return _is_reference(value)


# -- the record file ---------------------------------------------------------------------------

def _workspace(workspace):
    from ..workspace import Workspace

    if isinstance(workspace, Workspace):
        return workspace
    return Workspace(Path(workspace).resolve())  # a folder path (str or Path; a Path's .root is "/")


def _read(workspace, name: str) -> dict:
    path = workspace.connector_record_path(name)
    try:
        record = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        known = ", ".join(repr(n) for n in workspace.connector_record_names()) or "none"
        raise RecordError(f"no connector record {name!r} (expected {path}); records there: {known}") from None
    except (ValueError, UnicodeDecodeError) as exc:
        raise RecordError(f"connector record {path} is not valid JSON ({exc}); fix it or save the record again") from None
    if (not isinstance(record, dict) or not isinstance(record.get("type"), str)
            or not isinstance(record.get("inputs", {}), dict)):
        raise RecordError(f'connector record {path} must be {{"type": "REST", "inputs": {{...}}}}; fix it or save '
                          "the record again")
    record.setdefault("inputs", {})
    return record


def _is_reference(value: Any) -> bool:
    return isinstance(value, dict) and set(value) == {SECRET_KEY} and value[SECRET_KEY] in (IN_KEYRING, IN_FILE)


def _referenced(record: dict) -> set[str]:
    return {key for key, value in record["inputs"].items() if _is_reference(value)}


# -- secrets: the keyring, else .flowdesk/secrets/ ---------------------------------------------

def _keyring_key(name: str, key: str) -> str:
    return f"connector/{name}/{key}"


def _put_secret(workspace, name: str, key: str, value: Any) -> str:
    """Store one secret; where it went (:data:`IN_KEYRING` or :data:`IN_FILE`)."""
    text = json.dumps(value)
    from ..vcs import secrets  # imported here: the vcs package loads GitPython

    try:
        secrets.put(_keyring_key(name, key), text)
        return IN_KEYRING
    except secrets.SecretError:
        pass
    path = _secret_file(workspace, name, key)
    path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
    os.chmod(path.parent, 0o700)
    write_atomically(path, text)  # a temporary file from mkstemp: mode 0600 from the start
    os.chmod(path, 0o600)
    return IN_FILE


def _get_secret(workspace, name: str, key: str, where: str) -> Any:
    if where == IN_FILE:
        path = _secret_file(workspace, name, key)
        try:
            text = path.read_text(encoding="utf-8")
        except FileNotFoundError:
            raise RecordError(f"connector record {name!r}: its {key} is not stored on this machine ({path} is "
                              f"missing); save the record again with its {key} "
                              f"(flowdesk connector save {name} ... --input {key}=...)") from None
    else:
        from ..vcs import secrets

        try:
            text = secrets.get(_keyring_key(name, key))
        except secrets.SecretError as exc:
            raise RecordError(f"connector record {name!r}: cannot read its {key}: {exc}") from None
        if text is None:
            raise RecordError(f"connector record {name!r}: its {key} is not in this machine's keyring; save the "
                              f"record again with its {key} (flowdesk connector save {name} ... --input {key}=...)")
    try:
        return json.loads(text)
    except ValueError:
        return text  # stored by hand as plain text


def _delete_secret(workspace, name: str, key: str, where: str) -> None:
    if where == IN_FILE:
        _secret_file(workspace, name, key).unlink(missing_ok=True)
        return
    try:
        import keyring
        from keyring.errors import KeyringError

        from ..vcs.secrets import SERVICE

        keyring.delete_password(SERVICE, _keyring_key(name, key))
    except (ImportError, KeyringError):
        pass  # already gone, or no keyring: nothing of it is left to remove here


def _secret_file(workspace, name: str, key: str) -> Path:
    # Record and input names may hold characters a file name cannot; hex keeps them apart.
    return workspace.state_dir / _SECRETS_DIR / f"connector-{name.encode().hex()}-{key.encode().hex()}.json"
