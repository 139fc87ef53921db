"""Webhook records: ``webhooks/<name>.json`` in the workspace, JSON with sorted keys, so Git
sync carries them. A record names the flow it starts, whether it is enabled and whether it
needs a key; the key itself stays on this machine (see ``keys.py``), the record holds only
its SHA-256. A webhook is created disabled."""

from __future__ import annotations

import hashlib
import hmac
import json
import os
import re
import secrets
from dataclasses import asdict, dataclass, replace
from pathlib import Path

from ..errors import FlowdeskError
from ..fileio import read_text, write_atomically
from ..workspace import Workspace

WEBHOOKS_DIR = "webhooks"
URL_PREFIX = "/api/latest/webhook"
# A name is one URL path segment that reads the same quoted or not.
_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,99}$")


class WebhookError(FlowdeskError):
    """An unknown webhook, a bad name, an unreadable record."""


def key_digest(key: str) -> str:
    return hashlib.sha256(key.encode("utf-8")).hexdigest()


def new_key() -> str:
    return secrets.token_urlsafe(32)


@dataclass(frozen=True)
class Webhook:
    name: str
    flow: str
    enabled: bool = False
    key_required: bool = True
    key_sha256: str | None = None

    def accepts(self, key: str | None) -> bool:
        """Whether a call with ``key`` (None: none given) may start the flow."""
        if not self.key_required:
            return True
        if not key or not isinstance(key, str) or not self.key_sha256:
            return False
        return hmac.compare_digest(key_digest(key), self.key_sha256)

    def to_json(self) -> str:
        data = asdict(self)
        del data["name"]  # the file's name is the webhook's name: one truth, renames stay simple
        return json.dumps(data, indent=2, sort_keys=True) + "\n"


def check_name(name: str) -> str:
    if not isinstance(name, str) or not _NAME.match(name):
        raise WebhookError(f"{name!r} is not a valid webhook name: use letters, digits, '.', '_' and '-' "
                           "(it becomes part of the URL), e.g. 'new-order'")
    return name


def webhooks_dir(workspace: Workspace) -> Path:
    return workspace.root / WEBHOOKS_DIR


def record_path(workspace: Workspace, name: str) -> Path:
    return webhooks_dir(workspace) / f"{check_name(name)}.json"


def load(workspace: Workspace, name: str) -> Webhook | None:
    """The webhook ``name``, or None if there is none (or the name cannot be one)."""
    if not isinstance(name, str) or not _NAME.match(name):
        return None
    path = webhooks_dir(workspace) / f"{name}.json"
    text = read_text(path)
    if text is None:
        return None
    try:
        data = json.loads(text)
        if not isinstance(data, dict) or not isinstance(data.get("flow"), str):
            raise ValueError("it needs a \"flow\" name")
        return Webhook(name=name, flow=data["flow"], enabled=data.get("enabled") is True,
                       key_required=data.get("key_required", True) is not False,
                       key_sha256=data.get("key_sha256") if isinstance(data.get("key_sha256"), str) else None)
    except ValueError as exc:
        raise WebhookError(f"webhook record {path} is not valid ({exc}); fix the file or delete it with "
                           f"'flowdesk webhook delete {name}'") from None


class RecordCache:
    """The records as the server sees them: each call stats its record's file and parses it
    again only when the file changed, so an edit (enable, a regenerated key, a Git pull)
    counts from the next call without a restart, and a call costs no JSON parse."""

    def __init__(self, workspace: Workspace):
        self.workspace = workspace
        self._seen: dict[str, tuple[tuple[int, int, int], Webhook | None]] = {}

    def get(self, name: str) -> Webhook | None:
        if not isinstance(name, str) or not _NAME.match(name):
            return None
        try:
            info = os.stat(webhooks_dir(self.workspace) / f"{name}.json")
        except OSError:
            self._seen.pop(name, None)
            return None
        stamp = (info.st_mtime_ns, info.st_size, info.st_ino)  # a rename-over gives a new inode
        cached = self._seen.get(name)
        if cached is not None and cached[0] == stamp:
            return cached[1]
        hook = load(self.workspace, name)
        self._seen[name] = (stamp, hook)
        return hook


def names(workspace: Workspace) -> list[str]:
    folder = webhooks_dir(workspace)
    if not folder.is_dir():
        return []
    return sorted(p.stem for p in folder.glob("*.json") if p.is_file() and _NAME.match(p.stem))


def save(workspace: Workspace, hook: Webhook) -> None:
    write_atomically(record_path(workspace, hook.name), hook.to_json())


class Webhooks:
    """Managing the webhooks of one workspace (the CLI's ``flowdesk webhook`` and the IDE)."""

    def __init__(self, workspace: Workspace, keys=None):
        from .keys import KeyStore

        self.workspace = workspace
        self.keys = keys or KeyStore(workspace)

    def list(self) -> list[Webhook]:
        return [hook for hook in (load(self.workspace, n) for n in names(self.workspace)) if hook]

    def get(self, name: str) -> Webhook:
        hook = load(self.workspace, check_name(name))
        if hook is None:
            known = ", ".join(names(self.workspace)) or "none"
            raise WebhookError(f"there is no webhook {name!r} in {webhooks_dir(self.workspace)} (webhooks there: "
                               f"{known}); create one with 'flowdesk webhook create {name} FLOW'")
        return hook

    def create(self, name: str, flow: str, *, key_required: bool = True) -> str | None:
        """Create webhook ``name`` starting ``flow``, disabled; returns its key (None without)."""
        check_name(name)
        self.workspace.read_flow(flow)  # an unknown flow is refused now, naming the flows there are
        if load(self.workspace, name) is not None:
            raise WebhookError(f"webhook {name!r} exists already; pick another name or delete it first")
        key = new_key() if key_required else None
        if key:
            self.keys.put(name, key)
        save(self.workspace, Webhook(name=name, flow=flow, enabled=False, key_required=key_required,
                                     key_sha256=key_digest(key) if key else None))
        return key

    def set_enabled(self, name: str, enabled: bool) -> Webhook:
        hook = replace(self.get(name), enabled=enabled)
        save(self.workspace, hook)
        return hook

    def enable(self, name: str) -> Webhook:
        return self.set_enabled(name, True)

    def disable(self, name: str) -> Webhook:
        return self.set_enabled(name, False)

    def regenerate_key(self, name: str) -> str:
        """A new key; the old one stops working as soon as the record is saved."""
        hook = self.get(name)
        key = new_key()
        self.keys.put(name, key)
        save(self.workspace, replace(hook, key_required=True, key_sha256=key_digest(key)))
        return key

    def key(self, name: str) -> str | None:
        """This machine's copy of the key (None for a webhook without one)."""
        hook = self.get(name)
        if not hook.key_required:
            return None
        key = self.keys.get(name)
        if key is None or not hook.accepts(key):
            raise WebhookError(f"this machine has no key for webhook {name!r} (it was made elsewhere, or its "
                               f"key was regenerated there); make a new one with "
                               f"'flowdesk webhook key {name} --regenerate'")
        return key

    def delete(self, name: str) -> None:
        path = record_path(self.workspace, self.get(name).name)
        path.unlink()
        self.keys.delete(name)

    def url(self, name: str, base: str = "http://127.0.0.1:8765") -> str:
        """The URL to call, with the key in its query when the webhook needs one."""
        key = self.key(name)
        url = f"{base.rstrip('/')}{URL_PREFIX}/{name}/call"
        return f"{url}?key={key}" if key else url
