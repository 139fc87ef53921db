"""Schedules: start a flow with its inputs at the times of a cron expression in a time zone.

Records are files ``schedules/<name>.json`` of the workspace (``records``); ``ScheduleRunner``
starts the due runs while an engine runs (the IDE, ``flowdesk serve``)::

    from engine_core.schedules import ScheduleRunner
    runner = ScheduleRunner(engine).start()
    ...
    runner.stop()
"""

from .records import Schedule, ScheduleError, UnknownScheduleError
from .runner import ScheduleRunner

__all__ = ["Schedule", "ScheduleError", "ScheduleRunner", "UnknownScheduleError"]
