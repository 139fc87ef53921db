"""ScheduleRunner on a real Engine and a temp workspace, with a clock the test moves: due runs
start as stored executions named after the schedule and the due time; disabled schedules
never start; runs missed while stopped are skipped and logged, not replayed.

The runner waits on an Event; ``runner.wake()`` makes it look at the (moved) clock at once and
returns when that look is over, so nothing here waits for real time to pass."""

from __future__ import annotations

import json
import logging
import textwrap
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from engine_core import Workspace
from engine_core.schedules import Schedule, ScheduleRunner, records

VIENNA = ZoneInfo("Europe/Vienna")
WAIT_S = 60

ECHO = """
    def handler(system, this, inputs):
        this.set_output(got=inputs)
        return this.success('echoed')
"""


class Clock:
    """The runner's clock: an aware datetime the test sets."""

    def __init__(self, now: datetime):
        self.now = now

    def __call__(self) -> datetime:
        return self.now


@pytest.fixture
def ws(workspace) -> Workspace:
    workspace.write_flow("Echo", ECHO)
    return Workspace.open(workspace.root)


@pytest.fixture
def clock() -> Clock:
    return Clock(datetime(2026, 11, 29, 9, 59, 30, tzinfo=VIENNA))


@pytest.fixture
def runner(engine, clock):
    made = ScheduleRunner(engine, clock=clock)
    yield made
    made.stop()


def roots(engine) -> list[dict]:
    """The stored root executions, oldest first."""
    return sorted(engine.store.executions(limit=500, roots_only=True), key=lambda r: r["id"])


def at(clock: Clock, runner: ScheduleRunner, when: datetime) -> None:
    clock.now = when
    assert runner.wake(timeout=WAIT_S), "the schedule runner did not finish a cycle"


def skipped_lines(caplog) -> list[str]:
    return [r.getMessage() for r in caplog.records if r.name == "engine_core.schedules" and "skipped" in r.getMessage()]


def test_due_runs_start_as_named_executions_with_their_inputs(engine, ws, clock, runner):
    records.save(ws, Schedule(name="hourly", flow="Echo", cron="0 * * * *", timezone="Europe/Vienna",
                              inputs={"region": "eu", "n": 1}))
    records.save(ws, Schedule(name="ten o'clock", flow="Echo", cron="0 10 * * *", timezone="Europe/Vienna",
                              inputs={"report": "daily"}))
    # Another zone: 09:00 UTC is 10:00 in Vienna, due at the same instant.
    records.save(ws, Schedule(name="utc", flow="Echo", cron="0 9 * * *", timezone="UTC"))
    runner.start()
    at(clock, runner, datetime(2026, 11, 29, 9, 59, 59, tzinfo=VIENNA))
    assert roots(engine) == []

    at(clock, runner, datetime(2026, 11, 29, 10, 0, tzinfo=VIENNA))
    started = roots(engine)
    assert sorted((r["name"], r["flow"], json.dumps(r["inputs"], sort_keys=True)) for r in started) == [
        ("hourly @ 2026-11-29T10:00+01:00", "Echo", '{"n": 1, "region": "eu"}'),
        ("ten o'clock @ 2026-11-29T10:00+01:00", "Echo", '{"report": "daily"}'),
        ("utc @ 2026-11-29T09:00+00:00", "Echo", "{}"),
    ]
    for record in started:
        ended = engine.wait(record["id"], WAIT_S)
        assert ended["status"] == "success", ended["message"]
        assert ended["outputs"] == {"got": record["inputs"]}

    # Nothing is due again until 11:00, and then only the hourly one.
    at(clock, runner, datetime(2026, 11, 29, 10, 30, tzinfo=VIENNA))
    assert len(roots(engine)) == 3
    at(clock, runner, datetime(2026, 11, 29, 11, 0, 5, tzinfo=VIENNA))
    assert [r["name"] for r in roots(engine)[3:]] == ["hourly @ 2026-11-29T11:00+01:00"]

    state = json.loads((ws.state_dir / "schedules-state.json").read_text())
    assert state["schedules"]["hourly"]["last_run"] == "2026-11-29T11:00:00+01:00"


def test_a_disabled_schedule_never_starts_and_enabling_it_does_not_replay(engine, ws, clock, runner):
    records.save(ws, Schedule(name="off", flow="Echo", cron="0 * * * *", timezone="Europe/Vienna", enabled=False))
    runner.start()
    at(clock, runner, datetime(2026, 11, 29, 10, 0, tzinfo=VIENNA))
    at(clock, runner, datetime(2026, 11, 29, 11, 0, tzinfo=VIENNA))
    assert roots(engine) == []

    # Enabled while the runner runs (the file changes): the runs of 10:00 and 11:00 stay missed.
    records.set_enabled(ws, "off", True)
    at(clock, runner, datetime(2026, 11, 29, 11, 30, tzinfo=VIENNA))
    assert roots(engine) == []
    at(clock, runner, datetime(2026, 11, 29, 12, 0, tzinfo=VIENNA))
    assert [r["name"] for r in roots(engine)] == ["off @ 2026-11-29T12:00+01:00"]


def test_schedule_files_are_reread_while_running(engine, ws, clock, runner, caplog):
    runner.start()
    # A schedule created while the runner runs: its first run is the next due one, not a past one.
    records.save(ws, Schedule(name="new", flow="Echo", cron="*/15 * * * *", timezone="Europe/Vienna"))
    at(clock, runner, clock.now)  # the runner's next look at the files (within a second in real time)
    assert roots(engine) == []
    at(clock, runner, datetime(2026, 11, 29, 10, 0, tzinfo=VIENNA))
    assert [r["name"] for r in roots(engine)] == ["new @ 2026-11-29T10:00+01:00"]

    # A broken file is logged and does not stop the others.
    (ws.root / "schedules" / "broken.json").write_text('{"flow": "Echo", "cron": "99 * * * *"}')
    with caplog.at_level(logging.WARNING, logger="engine_core.schedules"):
        at(clock, runner, datetime(2026, 11, 29, 10, 15, tzinfo=VIENNA))
    assert [r["name"] for r in roots(engine)][1:] == ["new @ 2026-11-29T10:15+01:00"]
    assert any("schedule 'broken': 'cron' '99 * * * *' is not a valid cron expression" in r.getMessage()
               and "does not run until that is fixed" in r.getMessage() for r in caplog.records)

    # Deleted: no more runs.
    records.delete(ws, "new")
    at(clock, runner, datetime(2026, 11, 29, 10, 30, tzinfo=VIENNA))
    assert len(roots(engine)) == 2


def test_runs_missed_while_stopped_are_skipped_and_logged(engine, ws, clock, caplog):
    records.save(ws, Schedule(name="hourly", flow="Echo", cron="0 * * * *", timezone="Europe/Vienna"))
    records.save(ws, Schedule(name="nightly", flow="Echo", cron="0 3 * * *", timezone="Europe/Vienna"))
    now = datetime(2026, 11, 29, 13, 20, tzinfo=VIENNA)
    clock.now = now
    (ws.state_dir / "schedules-state.json").write_text(json.dumps({"schedules": {
        "hourly": {"last_run": (now - timedelta(hours=3)).replace(minute=0).isoformat()},  # 10:00
        "nightly": {"last_run": datetime(2026, 11, 29, 3, 0, tzinfo=VIENNA).isoformat()},
    }}))
    runner = ScheduleRunner(engine, clock=clock)
    with caplog.at_level(logging.INFO, logger="engine_core.schedules"):
        runner.start()
        try:
            at(clock, runner, now)
            assert roots(engine) == []  # 11:00, 12:00 and 13:00 are not replayed
            assert skipped_lines(caplog) == [
                "schedule 'hourly': 3 runs were skipped while the engine was stopped (the last at "
                "2026-11-29T13:00+01:00); not replayed, the next run is at 2026-11-29T14:00+01:00"]
            at(clock, runner, datetime(2026, 11, 29, 14, 0, tzinfo=VIENNA))
            assert [r["name"] for r in roots(engine)] == ["hourly @ 2026-11-29T14:00+01:00"]
        finally:
            runner.stop()

    # Stopped at 14:00 and started again at 16:30: the runs of 15:00 and 16:00 were missed.
    caplog.clear()
    clock.now = datetime(2026, 11, 29, 16, 30, tzinfo=VIENNA)
    again = ScheduleRunner(engine, clock=clock)
    with caplog.at_level(logging.INFO, logger="engine_core.schedules"):
        again.start()
        try:
            at(clock, again, clock.now)
        finally:
            again.stop()
    assert skipped_lines(caplog) == [
        "schedule 'hourly': 2 runs were skipped while the engine was stopped (the last at "
        "2026-11-29T16:00+01:00); not replayed, the next run is at 2026-11-29T17:00+01:00"]
    assert len(roots(engine)) == 1


def test_a_disabled_schedule_reports_nothing_skipped(engine, ws, clock, caplog):
    records.save(ws, Schedule(name="off", flow="Echo", cron="0 * * * *", timezone="Europe/Vienna", enabled=False))
    (ws.state_dir / "schedules-state.json").write_text(json.dumps({"schedules": {
        "off": {"last_run": datetime(2026, 11, 28, 10, 0, tzinfo=VIENNA).isoformat()}}}))
    runner = ScheduleRunner(engine, clock=clock)
    with caplog.at_level(logging.INFO, logger="engine_core.schedules"):
        runner.start()
        try:
            at(clock, runner, clock.now)
        finally:
            runner.stop()
    assert skipped_lines(caplog) == []
    assert roots(engine) == []


def test_a_schedule_whose_flow_is_deleted_stops_with_a_warning_and_the_others_go_on(engine, ws, clock, runner,
                                                                                    caplog):
    records.save(ws, Schedule(name="a", flow="Echo", cron="0 * * * *", timezone="Europe/Vienna", inputs={"x": 1}))
    records.save(ws, Schedule(name="b", flow="Calculator", cron="0 * * * *", timezone="Europe/Vienna"))
    runner.start()
    (ws.flows_dir / "Calculator.py").unlink()
    with caplog.at_level(logging.INFO, logger="engine_core.schedules"):
        at(clock, runner, datetime(2026, 11, 29, 10, 0, tzinfo=VIENNA))
    assert [r["name"] for r in roots(engine)] == ["a @ 2026-11-29T10:00+01:00"]
    assert any(r.levelno == logging.WARNING and r.getMessage().startswith(
        "schedule 'b': 'flow' names no flow: there is no 'Calculator' in") for r in caplog.records)
    # The flow comes back: the schedule runs again from its next due time.
    ws.save_flow("Calculator", textwrap.dedent(ECHO))
    at(clock, runner, datetime(2026, 11, 29, 10, 30, tzinfo=VIENNA))
    at(clock, runner, datetime(2026, 11, 29, 11, 0, tzinfo=VIENNA))
    assert sorted(r["name"] for r in roots(engine)[1:]) == ["a @ 2026-11-29T11:00+01:00",
                                                           "b @ 2026-11-29T11:00+01:00"]


def test_two_runners_on_one_workspace_start_each_due_run_once_and_the_second_takes_over(engine, ws, clock, caplog):
    """The IDE and `flowdesk serve` may both run the workspace's schedules: one starts the runs
    (it holds .flowdesk/schedules.lock), the other stands by and takes over when it stops,
    replaying nothing."""
    caplog.set_level(logging.INFO, logger="engine_core.schedules")
    records.save(ws, Schedule(name="hourly", flow="Echo", cron="0 * * * *", timezone="Europe/Vienna"))
    first = ScheduleRunner(engine, clock=clock).start()
    second = ScheduleRunner(engine, clock=clock).start()
    try:
        at(clock, first, datetime(2026, 11, 29, 9, 59, 50, tzinfo=VIENNA))
        at(clock, second, datetime(2026, 11, 29, 9, 59, 50, tzinfo=VIENNA))
        assert first.starts_runs and not second.starts_runs
        at(clock, first, datetime(2026, 11, 29, 10, 0, 1, tzinfo=VIENNA))
        at(clock, second, datetime(2026, 11, 29, 10, 0, 1, tzinfo=VIENNA))
        assert [r["name"] for r in roots(engine)] == ["hourly @ 2026-11-29T10:00+01:00"]
        assert any("stands by" in r.getMessage() for r in caplog.records)

        first.stop()  # the other one takes over from the next due run, without replaying 10:00
        at(clock, second, datetime(2026, 11, 29, 10, 30, tzinfo=VIENNA))
        assert second.starts_runs and len(roots(engine)) == 1
        at(clock, second, datetime(2026, 11, 29, 11, 0, 1, tzinfo=VIENNA))
        assert [r["name"] for r in roots(engine)] == ["hourly @ 2026-11-29T10:00+01:00",
                                                      "hourly @ 2026-11-29T11:00+01:00"]
    finally:
        first.stop()
        second.stop()
