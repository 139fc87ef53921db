"""`flowdesk serve` runs the workspace's schedules beside its webhooks: the runner it starts
is D5's ScheduleRunner on the same engine, stopped before the engine closes."""

from __future__ import annotations


def test_serve_starts_and_stops_the_schedule_runner(engine):
    from engine_core import serve

    runner = serve._start_schedules(engine)
    assert runner is not None and runner.engine is engine and runner.running
    runner.stop()
    assert not runner.running
