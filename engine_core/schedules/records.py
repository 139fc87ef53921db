"""Schedule records: ``schedules/<name>.json`` in the workspace, synced by Git like the flows.

A file holds ``flow``, ``inputs`` (a JSON object), ``cron`` (5 fields), ``timezone`` (an IANA
name) and ``enabled``; the file's stem is the schedule's name. Keys are sorted and indented so
that a Git diff shows exactly what changed. A file without ``timezone`` runs in the machine's
local zone; ``save`` always writes the zone, so a schedule runs at the same times on every
machine that pulls it.

Every error names the schedule and the field, and says what to write instead."""

from __future__ import annotations

import json
from dataclasses import dataclass, field, replace
from datetime import datetime
from pathlib import Path
from typing import Any

from ..errors import FlowdeskError
from ..workspace import Workspace
from . import times

SCHEDULES_DIR = "schedules"
FIELDS = ("cron", "enabled", "flow", "inputs", "timezone")
_FORBIDDEN_IN_NAMES = set('/\\\0')


class ScheduleError(FlowdeskError):
    """A schedule file is malformed or names something that does not exist."""


class UnknownScheduleError(ScheduleError):
    """No schedule of that name."""


@dataclass(frozen=True)
class Schedule:
    name: str
    flow: str
    cron: str
    timezone: str = field(default_factory=times.local_zone_name)
    inputs: dict[str, Any] = field(default_factory=dict)
    enabled: bool = True

    def to_json(self) -> str:
        data = {"cron": self.cron, "enabled": self.enabled, "flow": self.flow, "inputs": self.inputs,
                "timezone": self.timezone}
        return json.dumps(data, sort_keys=True, indent=2, ensure_ascii=False) + "\n"


def schedules_dir(workspace: Workspace) -> Path:
    return workspace.root / SCHEDULES_DIR


def schedule_path(workspace: Workspace, name: str) -> Path:
    if (not isinstance(name, str) or not name or name.strip() != name or set(name) & _FORBIDDEN_IN_NAMES
            or name.startswith(".")):
        raise ScheduleError(f"{name!r} is not a valid schedule name (no slashes, no leading dot or spaces)")
    return schedules_dir(workspace) / f"{name}.json"


def validate(schedule: Schedule, workspace: Workspace | None = None) -> Schedule:
    """Return ``schedule`` if it can run; else raise ScheduleError naming it and the field.
    With ``workspace``, its flow must exist there."""
    where = f"schedule {schedule.name!r}"
    if not isinstance(schedule.flow, str) or not schedule.flow:
        raise ScheduleError(f"{where}: 'flow' must be the name of a flow, e.g. \"flow\": \"Main Process\"")
    if workspace is not None and not workspace.has_flow(schedule.flow):
        known = ", ".join(repr(n) for n in workspace.flow_names()) or "none"
        raise ScheduleError(f"{where}: 'flow' names no flow: there is no {schedule.flow!r} in "
                            f"{workspace.flows_dir} (flows there: {known}); create it or point the schedule "
                            "at another flow")
    if not isinstance(schedule.inputs, dict):
        raise ScheduleError(f"{where}: 'inputs' must be a JSON object like {{\"region\": \"eu\"}}, "
                            f"not {type(schedule.inputs).__name__}")
    try:
        json.dumps(schedule.inputs)
    except (TypeError, ValueError) as exc:
        raise ScheduleError(f"{where}: 'inputs' must hold only JSON values ({exc})") from None
    try:
        times.check_cron(schedule.cron)
    except times.CronError as exc:
        raise ScheduleError(f"{where}: 'cron' {exc}") from None
    try:
        if not isinstance(schedule.timezone, str):
            raise times.ZoneError(f"must be an IANA time zone name like 'Europe/Vienna', not {schedule.timezone!r}")
        times.zone(schedule.timezone)
    except times.ZoneError as exc:
        raise ScheduleError(f"{where}: 'timezone' {exc}") from None
    if not isinstance(schedule.enabled, bool):
        raise ScheduleError(f"{where}: 'enabled' must be true or false, not {schedule.enabled!r}")
    return schedule


def from_dict(name: str, data: Any, workspace: Workspace | None = None) -> Schedule:
    where = f"schedule {name!r}"
    if not isinstance(data, dict):
        raise ScheduleError(f"{where}: the file must hold a JSON object with the fields {', '.join(FIELDS)}")
    unknown = sorted(set(data) - set(FIELDS))
    if unknown:
        raise ScheduleError(f"{where}: unknown field {', '.join(repr(k) for k in unknown)}; "
                            f"the fields are {', '.join(FIELDS)}")
    for required in ("flow", "cron"):
        if required not in data:
            raise ScheduleError(f"{where}: '{required}' is missing")
    schedule = Schedule(name=name, flow=data["flow"], cron=data["cron"],
                        timezone=data.get("timezone") or times.local_zone_name(),
                        inputs=data.get("inputs", {}), enabled=data.get("enabled", True))
    return validate(schedule, workspace)


def load(workspace: Workspace, name: str) -> Schedule:
    """Schedule ``name``; UnknownScheduleError names the ones there are."""
    path = schedule_path(workspace, name)
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        known = ", ".join(repr(n) for n in names(workspace)) or "none"
        raise UnknownScheduleError(f"there is no schedule {name!r} ({path}); schedules there: {known}") from None
    except UnicodeDecodeError as exc:
        raise ScheduleError(f"schedule {name!r}: {path} is not UTF-8 text ({exc.reason})") from None
    try:
        data = json.loads(text)
    except json.JSONDecodeError as exc:
        raise ScheduleError(f"schedule {name!r}: {path} is not valid JSON ({exc.msg} at line {exc.lineno}, "
                            f"column {exc.colno}); fix or delete it") from None
    return from_dict(name, data, workspace)


def names(workspace: Workspace) -> list[str]:
    folder = schedules_dir(workspace)
    if not folder.is_dir():
        return []
    return sorted(p.stem for p in folder.glob("*.json") if p.is_file() and not p.name.startswith("."))


def scan(workspace: Workspace) -> tuple[list[Schedule], list[str]]:
    """Every schedule that can run, and a message for each file that cannot: one bad file
    must not stop the others."""
    found, problems = [], []
    for name in names(workspace):
        try:
            found.append(load(workspace, name))
        except ScheduleError as exc:
            problems.append(str(exc))
    return found, problems


def list_schedules(workspace: Workspace) -> list[Schedule]:
    """The valid schedules, by name (see ``scan`` for the invalid ones)."""
    return scan(workspace)[0]


def save(workspace: Workspace, schedule: Schedule) -> Path:
    """Validate and write ``schedule`` (creating or replacing its file)."""
    from ..fileio import write_atomically

    validate(schedule, workspace)
    path = schedule_path(workspace, schedule.name)
    write_atomically(path, schedule.to_json())
    return path


def create(workspace: Workspace, schedule: Schedule) -> Path:
    """``save``, refusing to replace an existing schedule."""
    path = schedule_path(workspace, schedule.name)
    if path.exists():
        raise ScheduleError(f"a schedule {schedule.name!r} already exists ({path}); choose another name "
                            "or delete it first")
    return save(workspace, schedule)


def set_enabled(workspace: Workspace, name: str, enabled: bool) -> Schedule:
    schedule = replace(load(workspace, name), enabled=enabled)
    save(workspace, schedule)
    return schedule


def delete(workspace: Workspace, name: str) -> None:
    path = schedule_path(workspace, name)
    try:
        path.unlink()
    except FileNotFoundError:
        known = ", ".join(repr(n) for n in names(workspace)) or "none"
        raise UnknownScheduleError(f"there is no schedule {name!r} to delete; schedules there: {known}") from None


def next_runs(schedule: Schedule, n: int = 3, now: datetime | None = None) -> list[datetime]:
    """The next ``n`` times ``schedule`` is due after ``now`` (aware; default: now), as aware
    datetimes in the schedule's zone, correct across daylight-saving changes."""
    return times.next_runs(schedule.cron, schedule.timezone, n, now)
