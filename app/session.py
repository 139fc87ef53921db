"""What the IDE remembers between starts: last and recent workspaces, window layout, open
tabs per workspace, run inputs per flow, theme. Stored with QSettings in an INI file under
the user's config folder (``FLOWDESK_CONFIG_DIR`` overrides it, which the tests use)."""

from __future__ import annotations

import json
import os
from pathlib import Path

import platformdirs
from PySide6.QtCore import QByteArray, QSettings

_RECENT_LIMIT = 10


def settings_path() -> Path:
    base = os.environ.get("FLOWDESK_CONFIG_DIR") or platformdirs.user_config_dir("flowdesk")
    return Path(base) / "ide.ini"


class Session:
    def __init__(self, path: Path | None = None):
        path = path or settings_path()
        path.parent.mkdir(parents=True, exist_ok=True)
        self._q = QSettings(str(path), QSettings.Format.IniFormat)

    def sync(self) -> None:
        self._q.sync()

    # -- workspaces -----------------------------------------------------------------------
    def last_workspace(self) -> str | None:
        return self._q.value("workspace/last") or None

    def recent_workspaces(self) -> list[str]:
        return [p for p in _as_list(self._q.value("workspace/recent")) if p]

    def remember_workspace(self, path: str) -> None:
        recent = [path, *[p for p in self.recent_workspaces() if p != path]][:_RECENT_LIMIT]
        self._q.setValue("workspace/last", path)
        self._q.setValue("workspace/recent", recent)

    # -- window ---------------------------------------------------------------------------
    def window_geometry(self) -> QByteArray | None:
        return self._q.value("window/geometry")

    def window_state(self) -> QByteArray | None:
        return self._q.value("window/state")

    def save_window(self, geometry: QByteArray, state: QByteArray) -> None:
        self._q.setValue("window/geometry", geometry)
        self._q.setValue("window/state", state)

    def theme(self) -> str:
        return self._q.value("window/theme") or "light"

    def set_theme(self, name: str) -> None:
        self._q.setValue("window/theme", name)

    # -- per workspace ---------------------------------------------------------------------
    def knows_workspace(self, workspace: str) -> bool:
        """Whether the IDE has closed on this workspace before (its tabs were remembered)."""
        return self._q.contains(f"tabs/{_key(workspace)}")

    def open_tabs(self, workspace: str) -> tuple[list[str], str | None]:
        data = self._json(f"tabs/{_key(workspace)}", {})
        return list(data.get("open", [])), data.get("current")

    def save_open_tabs(self, workspace: str, names: list[str], current: str | None) -> None:
        self._q.setValue(f"tabs/{_key(workspace)}", json.dumps({"open": names, "current": current}))

    def run_inputs(self, workspace: str, flow: str) -> str:
        return self._q.value(f"inputs/{_key(workspace)}/{_key(flow)}") or "{}"

    def save_run_inputs(self, workspace: str, flow: str, text: str) -> None:
        self._q.setValue(f"inputs/{_key(workspace)}/{_key(flow)}", text)

    def _json(self, key: str, default):
        try:
            return json.loads(self._q.value(key) or "null") or default
        except ValueError:
            return default


def _key(text: str) -> str:
    # QSettings treats '/' as a group separator and INI files dislike some characters.
    return text.encode().hex()


def _as_list(value) -> list:
    if value is None:
        return []
    return value if isinstance(value, list) else [value]
