"""Where a webhook's key is kept on this machine: the system keyring when one works, else a
file only this user can read under ``.flowdesk/secrets/`` (never synced: ``.flowdesk/``
ignores itself). The webhook record (``webhooks/<name>.json``, committed) holds only the
key's SHA-256, so the server checks a key without reading the keyring on each call, and a
reader of the repository cannot call the webhook."""

from __future__ import annotations

import json
import os
from pathlib import Path

from ..fileio import read_text, write_atomically
from ..workspace import Workspace

SERVICE = "flowdesk"  # the keyring service the Git secrets use too (engine_core/vcs/secrets.py)
FALLBACK_FILE = "webhook-keys.json"


def _keyring_backend():
    """The keyring module if a real backend is configured, else None. The 'fail' backend
    (no Secret Service, e.g. a headless machine) and the 'null' one (drops what it is given)
    would lose keys, so they count as none."""
    try:
        import keyring
        from keyring.backends import fail, null
    except ImportError:
        return None
    backend = keyring.get_keyring()
    if isinstance(backend, (fail.Keyring, null.Keyring)) or getattr(backend, "priority", 1) <= 0:
        return None
    return keyring


def _account(workspace: Workspace, name: str) -> str:
    # Keyed by the workspace folder's name, as the Git secrets are: two clones of one
    # repository on one machine share their keys.
    return f"{workspace.root.name}/webhook/{name}"


class KeyStore:
    """Keys of one workspace's webhooks on this machine."""

    def __init__(self, workspace: Workspace):
        self.workspace = workspace
        self._keyring = _keyring_backend()

    @property
    def where(self) -> str:
        """Said to the user: where the keys are."""
        return "the system keyring" if self._keyring else str(self._file())

    def get(self, name: str) -> str | None:
        if self._keyring:
            try:
                value = self._keyring.get_password(SERVICE, _account(self.workspace, name))
                if value is not None:
                    return value
            except Exception:  # a keyring that stopped working: the file may still have it
                pass
        return self._read_file().get(name)

    def put(self, name: str, key: str) -> None:
        if self._keyring:
            try:
                self._keyring.set_password(SERVICE, _account(self.workspace, name), key)
                self._drop_from_file(name)
                return
            except Exception:
                self._keyring = None  # refused (locked, no D-Bus): keep it in the private file
        data = self._read_file()
        data[name] = key
        self._write_file(data)

    def delete(self, name: str) -> None:
        if self._keyring:
            try:
                self._keyring.delete_password(SERVICE, _account(self.workspace, name))
            except Exception:  # not there: nothing to delete
                pass
        self._drop_from_file(name)

    # -- the fallback file -----------------------------------------------------------------
    def _file(self) -> Path:
        return self.workspace.state_dir / "secrets" / FALLBACK_FILE

    def _read_file(self) -> dict:
        text = read_text(self._file())
        try:
            data = json.loads(text) if text else {}
        except ValueError:
            data = {}
        return data if isinstance(data, dict) else {}

    def _write_file(self, data: dict) -> None:
        path = self._file()
        path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
        os.chmod(path.parent, 0o700)
        # write_atomically's temporary file is created 0600 (mkstemp), so the key is never
        # readable by others, not even for a moment.
        write_atomically(path, json.dumps(data, indent=2, sort_keys=True) + "\n")
        os.chmod(path, 0o600)

    def _drop_from_file(self, name: str) -> None:
        data = self._read_file()
        if name in data:
            del data[name]
            self._write_file(data)
