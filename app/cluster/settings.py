"""The ``[cluster]`` table of the workspace's ``.flowdesk/config.toml``, read and written.

Only the keys asked for change: the rest of the file (``db_url``, ``[executions]``, comments,
the TLS keys of ``[cluster]``) stays as the user wrote it, so the IDE's "Run on" switch never
costs a hand-written setting. The engine reads the same table (engine_core.cluster.config)."""

from __future__ import annotations

import json
import re
import tomllib
from pathlib import Path

from engine_core.errors import FlowdeskError
from engine_core.fileio import read_text, write_atomically
from engine_core.workspace import STATE_DIR

TABLE = "cluster"
_HEADER = re.compile(r"^\s*\[\s*(?P<name>[^\[\]]+?)\s*\]\s*(#.*)?$")


def config_path(root: Path) -> Path:
    return Path(root) / STATE_DIR / "config.toml"


def read_cluster(root: Path) -> dict:
    """The ``[cluster]`` table (empty without a config or the table; an invalid file too: the
    engine says so when it opens)."""
    text = read_text(config_path(root))
    if not text:
        return {}
    try:
        table = tomllib.loads(text).get(TABLE)
    except tomllib.TOMLDecodeError:
        return {}
    return table if isinstance(table, dict) else {}


def write_cluster(root: Path, **values: str) -> Path:
    """Set ``values`` (strings) in the ``[cluster]`` table, adding the table or the keys when
    missing; returns the file. FlowdeskError if the file cannot be read as TOML after (an
    inline or dotted ``cluster`` table this editor does not touch): nothing is written then."""
    path = config_path(root)
    before = read_text(path) or ""
    after = set_keys(before, TABLE, values)
    try:
        parsed = tomllib.loads(after).get(TABLE, {})
    except tomllib.TOMLDecodeError as exc:
        raise FlowdeskError(f"could not update {path}: {exc}; set [{TABLE}] {', '.join(values)} there by hand") from None
    if any(parsed.get(key) != value for key, value in values.items()):
        raise FlowdeskError(f"could not update {path} (its [{TABLE}] is written in a form the IDE does not edit); "
                            f"set [{TABLE}] {', '.join(values)} there by hand")
    write_atomically(path, after)
    return path


def set_keys(text: str, table: str, values: dict[str, str]) -> str:
    """``text`` (TOML) with ``key = "value"`` lines set in ``[table]``: each key's line replaced
    where it is, the others added after the table's last setting, or a new table at the end."""
    lines = text.splitlines()
    start = next((i for i, line in enumerate(lines) if (m := _HEADER.match(line)) and m["name"] == table), None)
    pending = dict(values)
    if start is None:
        if lines and lines[-1].strip():
            lines.append("")
        lines.append(f"[{table}]")
        lines += [_line(key, value) for key, value in pending.items()]
        return "\n".join(lines) + "\n"
    end = next((i for i in range(start + 1, len(lines)) if lines[i].lstrip().startswith("[")), len(lines))
    last_setting = start
    for i in range(start + 1, end):
        key = lines[i].split("=", 1)[0].strip().strip('"')
        if "=" in lines[i] and not lines[i].lstrip().startswith("#"):
            last_setting = i
            if key in pending:
                lines[i] = _line(key, pending.pop(key))
    lines[last_setting + 1:last_setting + 1] = [_line(key, value) for key, value in pending.items()]
    return "\n".join(lines) + "\n"


def _line(key: str, value: str) -> str:
    return f"{key} = {json.dumps(value)}"  # a JSON string is a TOML basic string
