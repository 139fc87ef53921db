"""Schedule records (schedules/<name>.json): the file a user and Git see, the validation
messages a user reads, and the run times across daylight-saving changes."""

from __future__ import annotations

import json
from datetime import datetime, timedelta, timezone
from zoneinfo import ZoneInfo

import pytest

from engine_core import Workspace
from engine_core.schedules import Schedule, ScheduleError, UnknownScheduleError, records

VIENNA = ZoneInfo("Europe/Vienna")


@pytest.fixture
def ws(workspace) -> Workspace:
    return Workspace.open(workspace.root)


def write(ws: Workspace, name: str, data) -> None:
    folder = ws.root / "schedules"
    folder.mkdir(exist_ok=True)
    text = data if isinstance(data, str) else json.dumps(data)
    (folder / f"{name}.json").write_text(text, encoding="utf-8")


def times_of(runs) -> list[str]:
    return [t.isoformat(timespec="minutes") for t in runs]


def test_save_writes_sorted_indented_json_and_load_reads_it_back(ws):
    schedule = Schedule(name="nightly report", flow="Calculator", cron="30 2 * * *", timezone="Europe/Vienna",
                        inputs={"region": "eu", "limit": 5})
    path = records.save(ws, schedule)
    assert path == ws.root / "schedules" / "nightly report.json"
    assert path.read_text(encoding="utf-8") == (
        '{\n  "cron": "30 2 * * *",\n  "enabled": true,\n  "flow": "Calculator",\n'
        '  "inputs": {\n    "limit": 5,\n    "region": "eu"\n  },\n  "timezone": "Europe/Vienna"\n}\n')
    assert records.load(ws, "nightly report") == schedule
    assert records.set_enabled(ws, "nightly report", False).enabled is False
    assert json.loads(path.read_text())["enabled"] is False
    assert [s.name for s in records.list_schedules(ws)] == ["nightly report"]
    with pytest.raises(ScheduleError, match="a schedule 'nightly report' already exists"):
        records.create(ws, schedule)
    records.delete(ws, "nightly report")
    assert records.list_schedules(ws) == []
    with pytest.raises(UnknownScheduleError, match="there is no schedule 'nightly report' to delete"):
        records.delete(ws, "nightly report")


@pytest.mark.parametrize("data, message", [
    ({"flow": "Calculator", "cron": "0 * * *"},
     "schedule 'bad': 'cron' '0 * * *' is not a 5-field cron expression (minute hour day-of-month month day-of-week)"),
    ({"flow": "Calculator", "cron": "61 * * * *"},
     "schedule 'bad': 'cron' '61 * * * *' is not a valid cron expression (out of range)"),
    ({"flow": "Calculator", "cron": "0 0 30 2 *"}, "schedule 'bad': 'cron' '0 0 30 2 *' is not a valid cron expression"),
    ({"flow": "Calculator", "cron": "0 * * * *", "timezone": "Europe/Viena"},
     "schedule 'bad': 'timezone' 'Europe/Viena' is not a known IANA time zone; did you mean 'Europe/Vienna'"),
    ({"flow": "Calculator", "cron": "0 * * * *", "timezone": 1},
     "schedule 'bad': 'timezone' must be an IANA time zone name like 'Europe/Vienna', not 1"),
    ({"flow": "No Such Flow", "cron": "0 * * * *"},
     "schedule 'bad': 'flow' names no flow: there is no 'No Such Flow' in"),
    ({"flow": "Calculator", "cron": "0 * * * *", "inputs": [1, 2]},
     "schedule 'bad': 'inputs' must be a JSON object like {\"region\": \"eu\"}, not list"),
    ({"flow": "Calculator", "cron": "0 * * * *", "enabled": "yes"},
     "schedule 'bad': 'enabled' must be true or false, not 'yes'"),
    ({"flow": "Calculator", "crn": "0 * * * *"}, "schedule 'bad': unknown field 'crn'; the fields are cron, enabled"),
    ({"flow": "Calculator"}, "schedule 'bad': 'cron' is missing"),
    ([], "schedule 'bad': the file must hold a JSON object"),
    ('{"flow": "Calculator",', "schedule 'bad': "),
])
def test_a_bad_file_is_refused_with_a_message_naming_schedule_and_field(ws, data, message):
    write(ws, "bad", data)
    write(ws, "good", {"flow": "Calculator", "cron": "0 * * * *", "timezone": "UTC"})
    with pytest.raises(ScheduleError) as caught:
        records.load(ws, "bad")
    assert str(caught.value).startswith(message), str(caught.value)
    # One bad file does not hide the others.
    schedules, problems = records.scan(ws)
    assert [s.name for s in schedules] == ["good"]
    assert problems == [str(caught.value)]


def test_unknown_flow_lists_the_flows_and_bad_json_says_where(ws):
    write(ws, "typo", {"flow": "Calculater", "cron": "0 * * * *"})
    with pytest.raises(ScheduleError, match=r"flows there: 'Calculator', 'Create Child'"):
        records.load(ws, "typo")
    write(ws, "broken", '{"flow": "Calculator",\n "cron": }')
    with pytest.raises(ScheduleError, match=r"schedule 'broken': .*broken.json is not valid JSON \(Expecting value "
                                            r"at line 2, column 10\); fix or delete it"):
        records.load(ws, "broken")
    with pytest.raises(UnknownScheduleError, match="there is no schedule 'missing' .*schedules there: 'broken', 'typo'"):
        records.load(ws, "missing")


def test_a_file_without_timezone_runs_in_the_machines_zone(ws, monkeypatch):
    monkeypatch.setenv("TZ", "America/New_York")
    write(ws, "local", {"flow": "Calculator", "cron": "0 9 * * *"})
    schedule = records.load(ws, "local")
    assert schedule.timezone == "America/New_York"
    assert times_of(records.next_runs(schedule, 2, now=datetime(2026, 7, 1, tzinfo=timezone.utc))) == [
        "2026-07-01T09:00-04:00", "2026-07-02T09:00-04:00"]


def schedule(cron: str) -> Schedule:
    return Schedule(name="s", flow="Calculator", cron=cron, timezone="Europe/Vienna")


def test_next_runs_across_the_spring_change_in_vienna():
    # 2026-03-29: at 02:00 CET the clocks jump to 03:00 CEST.
    before = datetime(2026, 3, 29, 0, 30, tzinfo=VIENNA)
    # Hourly keeps one run per real hour: 02:00 does not exist and is not doubled at 03:00.
    assert times_of(records.next_runs(schedule("0 * * * *"), 4, now=before)) == [
        "2026-03-29T01:00+01:00", "2026-03-29T03:00+02:00", "2026-03-29T04:00+02:00", "2026-03-29T05:00+02:00"]
    # A daily run at a skipped wall time runs once that day, just after the change.
    assert times_of(records.next_runs(schedule("30 2 * * *"), 3, now=before)) == [
        "2026-03-29T03:30+02:00", "2026-03-30T02:30+02:00", "2026-03-31T02:30+02:00"]
    # Daily at 09:00 stays at 09:00 local; in UTC it moves by an hour.
    runs = records.next_runs(schedule("0 9 * * *"), 2, now=datetime(2026, 3, 28, 12, tzinfo=VIENNA))
    assert times_of(runs) == ["2026-03-29T09:00+02:00", "2026-03-30T09:00+02:00"]
    assert [r.astimezone(timezone.utc).hour for r in runs] == [7, 7]


def test_next_runs_across_the_autumn_change_in_vienna():
    # 2026-10-25: at 03:00 CEST the clocks go back to 02:00 CET; 02:00-02:59 happens twice.
    before = datetime(2026, 10, 25, 0, 30, tzinfo=VIENNA)
    # Hourly runs every real hour, both 02:00s included.
    assert times_of(records.next_runs(schedule("0 * * * *"), 4, now=before)) == [
        "2026-10-25T01:00+02:00", "2026-10-25T02:00+02:00", "2026-10-25T02:00+01:00", "2026-10-25T03:00+01:00"]
    # A daily run at a repeated wall time runs once.
    assert times_of(records.next_runs(schedule("30 2 * * *"), 3, now=before)) == [
        "2026-10-25T02:30+02:00", "2026-10-26T02:30+01:00", "2026-10-27T02:30+01:00"]
    # Asked during the repeated hour's second pass, the first pass is over.
    second_pass = datetime(2026, 10, 25, 2, 10, fold=1, tzinfo=VIENNA)
    assert times_of(records.next_runs(schedule("*/30 * * * *"), 3, now=second_pass)) == [
        "2026-10-25T02:30+01:00", "2026-10-25T03:00+01:00", "2026-10-25T03:30+01:00"]
    first_pass = datetime(2026, 10, 25, 2, 10, fold=0, tzinfo=VIENNA)
    assert times_of(records.next_runs(schedule("*/30 * * * *"), 3, now=first_pass)) == [
        "2026-10-25T02:30+02:00", "2026-10-25T02:00+01:00", "2026-10-25T02:30+01:00"]


def test_next_runs_are_strictly_after_now_and_in_the_schedules_zone():
    now = datetime(2026, 11, 29, 9, 0, tzinfo=timezone.utc)  # 10:00 in Vienna
    runs = records.next_runs(schedule("0 * * * *"), 3, now=now)
    assert times_of(runs) == ["2026-11-29T11:00+01:00", "2026-11-29T12:00+01:00", "2026-11-29T13:00+01:00"]
    assert all(r.tzinfo.key == "Europe/Vienna" for r in runs)


def gaps(runs) -> set[timedelta]:
    # In UTC: Python subtracts two datetimes of the same zone by their wall times.
    real = [r.astimezone(timezone.utc) for r in runs]
    return {b - a for a, b in zip(real, real[1:])}


def test_over_a_year_hourly_is_every_real_hour_and_daily_is_once_a_day():
    start = datetime(2026, 1, 1, tzinfo=VIENNA)
    hourly = records.next_runs(schedule("0 * * * *"), 365 * 24, now=start - timedelta(minutes=1))
    assert gaps(hourly) == {timedelta(hours=1)}
    assert hourly[-1] == datetime(2026, 12, 31, 23, 0, tzinfo=VIENNA)
    quarter = records.next_runs(schedule("*/15 * * * *"), 4 * 24 * 10, now=datetime(2026, 10, 20, tzinfo=VIENNA))
    assert gaps(quarter) == {timedelta(minutes=15)}
    daily = records.next_runs(schedule("30 2 * * *"), 365, now=start)
    assert len({d.date() for d in daily}) == 365 and daily[-1].date().isoformat() == "2026-12-31"
