"""``.flowdesk/schedules-state.json``: when each schedule last ran, and until when a running
engine watched it. Local to this machine (``.flowdesk/`` is never committed): another machine
running the same synced schedules keeps its own.

It exists for one question asked at start: how many runs were due while no engine ran?"""

from __future__ import annotations

import json
import logging
from datetime import datetime
from pathlib import Path

from ..fileio import write_atomically

log = logging.getLogger("engine_core.schedules")

STATE_FILE = "schedules-state.json"


class ScheduleState:
    def __init__(self, path: Path):
        self.path = path
        self._data: dict[str, dict[str, str]] = self._read()

    def _read(self) -> dict[str, dict[str, str]]:
        try:
            data = json.loads(self.path.read_text(encoding="utf-8"))
            entries = data["schedules"]
            if not isinstance(entries, dict) or not all(isinstance(v, dict) for v in entries.values()):
                raise ValueError("'schedules' is not an object of objects")
            return entries
        except FileNotFoundError:
            return {}
        except (OSError, ValueError, KeyError, TypeError) as exc:
            # Losing it only loses the "runs were skipped" report; never worth stopping schedules.
            log.warning("schedules: ignoring %s (%s); it is rewritten at the next run", self.path, exc)
            return {}

    def since(self, name: str) -> datetime | None:
        """The later of the last run and the last time an engine was seen watching ``name``."""
        entry = self._data.get(name, {})
        found = []
        for key in ("last_run", "checked"):
            try:
                value = datetime.fromisoformat(entry[key])
            except (KeyError, TypeError, ValueError):
                continue
            if value.tzinfo is not None:
                found.append(value)
        return max(found) if found else None

    def record_run(self, name: str, at: datetime) -> None:
        self._data.setdefault(name, {})["last_run"] = at.isoformat()
        self._write()

    def record_checked(self, names: list[str], at: datetime) -> None:
        for name in names:
            self._data.setdefault(name, {})["checked"] = at.isoformat()
        self._write()

    def _write(self) -> None:
        try:
            write_atomically(self.path, json.dumps({"schedules": self._data}, sort_keys=True, indent=2) + "\n")
        except OSError as exc:
            log.warning("schedules: cannot write %s (%s); skipped runs may be miscounted after a restart",
                        self.path, exc)
