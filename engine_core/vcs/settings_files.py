"""Settings as readable files for Git: ``settings/<name>.json``, one per setting, with sorted
keys and a fixed indent so diffs stay small. The database stays the engine's truth; these
files are synced with it three ways (files, database, and what was last synced, kept in
``.flowdesk/``) so a change on either side is carried over and a deletion is not mistaken
for a new setting. Secret settings go to the keyring; their files carry a reference."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol
from urllib.parse import quote, unquote

from flow_api import _wire

from . import secrets
from ..fileio import read_text, write_atomically

SETTINGS_DIR = "settings"
RECORD_FILE = "git-settings.json"  # in the workspace's .flowdesk/: last synced texts
_SAFE = " -_.()[]@+,=~"


class SettingsStore(Protocol):
    def settings(self) -> dict[str, Any]: ...
    def save_setting(self, name: str, value: Any) -> None: ...
    def delete_setting(self, name: str) -> None: ...


@dataclass
class SyncReport:
    to_files: list[str] = field(default_factory=list)  # settings written to (or removed from) files
    to_database: list[str] = field(default_factory=list)  # settings taken from files into the database
    warnings: list[str] = field(default_factory=list)


def file_name(name: str) -> str:
    quoted = quote(name, safe=_SAFE)
    return ("%2E" + quoted[1:] if quoted.startswith(".") else quoted) + ".json"


def setting_name(filename: str) -> str:
    return unquote(filename[: -len(".json")])


def render(value: Any) -> str:
    """Stable text for a value: sorted keys, two-space indent, a final newline."""
    plain = json.loads(_wire.encode(value, "setting value"))
    return json.dumps(plain, sort_keys=True, indent=2, ensure_ascii=False) + "\n"


def read_files(root: Path) -> dict[str, str]:
    folder = root / SETTINGS_DIR
    if not folder.is_dir():
        return {}
    return {setting_name(p.name): p.read_text(encoding="utf-8") for p in sorted(folder.glob("*.json")) if p.is_file()}


def sync(root: Path, state_dir: Path, store: SettingsStore, prefer: str) -> SyncReport:
    """Bring files and database together. Where only one side changed since the last sync it
    wins; where both did, ``prefer`` ("files" after a pull or branch switch, "database"
    before a commit) decides."""
    if prefer not in ("files", "database"):
        raise ValueError(prefer)
    record = _load_record(state_dir)
    files = read_files(root)
    values = store.settings()
    report = SyncReport()
    for name in sorted(set(files) | set(values) | set(record)):
        _sync_one(root, store, name, files.get(name), values, record, prefer, report)
    _save_record(state_dir, record)
    return report


def _sync_one(root: Path, store: SettingsStore, name: str, file_text: str | None, values: dict,
              record: dict, prefer: str, report: SyncReport) -> None:
    last = record.get(name)
    key = secrets.reference_key(file_text) or secrets.reference_key(last)
    if key is not None:  # a secret: the database side is compared as its reference
        db_text = secrets.reference_text(key) if name in values else None
    else:
        db_text = render(values[name]) if name in values else None
    if file_text == db_text:
        winner = "same"
    else:
        file_changed, db_changed = file_text != last, db_text != last
        winner = "files" if file_changed and not db_changed else "database" if db_changed and not file_changed \
            else prefer
    if winner == "files":
        if not _file_to_database(store, name, file_text, report):
            return  # unreadable file: keep the record so the next sync tries again
        result = file_text
    elif winner == "database":
        _database_to_file(root, name, db_text, report)
        result = db_text
    else:
        result = file_text
    _set(record, name, result)
    if key is not None and winner in ("same", "database") and result is not None and secrets.reference_key(result):
        _sync_secret_value(store, name, key, values, prefer, report)


def _file_to_database(store: SettingsStore, name: str, text: str | None, report: SyncReport) -> bool:
    if text is None:
        store.delete_setting(name)
    elif (key := secrets.reference_key(text)) is not None:
        value = _secret_value(key, name, report)
        if value is None:
            return True
        store.save_setting(name, value)
    else:
        try:
            store.save_setting(name, json.loads(text))
        except ValueError as exc:
            report.warnings.append(f"{SETTINGS_DIR}/{file_name(name)} is not valid JSON ({exc}); "
                                   f"setting {name!r} was left as it is: fix the file")
            return False
    report.to_database.append(name)
    return True


def _database_to_file(root: Path, name: str, text: str | None, report: SyncReport) -> None:
    path = root / SETTINGS_DIR / file_name(name)
    if text is None:
        path.unlink(missing_ok=True)
    else:
        write_atomically(path, text)
    report.to_files.append(name)


def _sync_secret_value(store: SettingsStore, name: str, key: str, values: dict, prefer: str,
                       report: SyncReport) -> None:
    """Keep the keyring and the database's copy (the engine reads settings there) equal."""
    try:
        stored = secrets.get(key)
    except secrets.SecretError as exc:
        report.warnings.append(f"secret setting {name!r}: {exc}")
        return
    local = json.dumps(json.loads(_wire.encode(values[name], name)), sort_keys=True) if name in values else None
    if stored == local:
        return
    if local is not None and (stored is None or prefer == "database"):
        secrets.put(key, local)
    elif stored is not None:
        store.save_setting(name, json.loads(stored))
    else:
        report.warnings.append(_missing_secret(name, key))


def _secret_value(key: str, name: str, report: SyncReport) -> Any:
    try:
        stored = secrets.get(key)
    except secrets.SecretError as exc:
        report.warnings.append(f"secret setting {name!r}: {exc}")
        return None
    if stored is None:
        report.warnings.append(_missing_secret(name, key))
        return None
    return json.loads(stored)


def _missing_secret(name: str, key: str) -> str:
    return (f"secret setting {name!r} has no value in this machine's keyring: set the setting in the IDE, or run "
            f"keyring set {secrets.SERVICE} '{key}' with its JSON value")


def mark_secret(root: Path, state_dir: Path, store: SettingsStore, name: str) -> str:
    """Move setting ``name``'s value into the keyring; its file becomes a reference. Returns
    the keyring key."""
    values = store.settings()
    if name not in values:
        raise secrets.SecretError(f"no setting {name!r} to mark secret; create it first")
    key = f"{root.name}/{name}"
    secrets.put(key, json.dumps(json.loads(_wire.encode(values[name], name)), sort_keys=True))
    text = secrets.reference_text(key)
    write_atomically(root / SETTINGS_DIR / file_name(name), text)
    record = _load_record(state_dir)
    _set(record, name, text)
    _save_record(state_dir, record)
    return key


def _set(record: dict, name: str, text: str | None) -> None:
    if text is None:
        record.pop(name, None)
    else:
        record[name] = text


def _load_record(state_dir: Path) -> dict[str, str]:
    text = read_text(state_dir / RECORD_FILE)
    try:
        data = json.loads(text) if text else {}
    except ValueError:
        data = {}  # a damaged record only makes the next sync ask `prefer`
    return data if isinstance(data, dict) else {}


def _save_record(state_dir: Path, record: dict[str, str]) -> None:
    write_atomically(state_dir / RECORD_FILE, json.dumps(record, sort_keys=True, indent=1) + "\n")
