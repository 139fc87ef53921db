"""``ScheduleRunner``: starts the runs that are due while an engine runs (the IDE, ``flowdesk
serve``). A client of ``Engine`` like the CLI: it only calls ``engine.submit`` when something is
due (style.md pattern 5); the dispatcher knows nothing of schedules.

Runs missed while no runner was running are skipped, not replayed: on ``start`` each
schedule's next run is computed from now, and one log line per schedule says how many were
skipped. A run started a few minutes late after a restart would surprise more than a
missing one: a nightly report at 09:15 or three hourly syncs at once.

One runner per workspace starts runs: the IDE and ``flowdesk serve`` may both have the
workspace open, and each due run must start once. The runner that holds an exclusive lock on
``.flowdesk/schedules.lock`` starts them; another stands by (its cursors still move, so it
replays nothing) and takes over when the lock comes free (the other one stopped or died: the
operating system releases a dead process's lock).

Time comes from ``clock`` (a callable returning an aware datetime) so that tests can move it;
the thread waits on an Event that ``wake()`` sets, so a test never waits for real time."""

from __future__ import annotations

import logging
import threading

try:
    import fcntl
except ImportError:  # Windows: no flock; each runner starts runs (one engine per workspace there)
    fcntl = None
from datetime import datetime, timedelta, timezone
from typing import Callable

from ..errors import FlowdeskError
from . import records, times
from .records import Schedule
from .state import STATE_FILE, ScheduleState

log = logging.getLogger("engine_core.schedules")

_COUNT_LIMIT = 10_000  # a per-minute schedule stopped for a week: say "over 10000", do not count on
# How often a running runner notes "watched until now" in the state file, so that after a crash
# (no stop()) the skipped runs are counted from then rather than from the last run.
_CHECKPOINT = timedelta(minutes=5)


def _utc_now() -> datetime:
    return datetime.now(timezone.utc)


def run_name(schedule: Schedule, due: datetime) -> str:
    """The execution's name: the schedule and the due time in its zone."""
    return f"{schedule.name} @ {due.isoformat(timespec='minutes')}"


class ScheduleRunner:
    """Starts due runs of the workspace's schedules through ``engine.submit``.

    ``poll_s`` bounds each wait: schedule files are re-read (when their mtimes changed) at
    least that often."""

    def __init__(self, engine, clock: Callable[[], datetime] | None = None, *, poll_s: float = 1.0):
        self.engine = engine
        self.workspace = engine.workspace
        self._clock = clock or _utc_now
        self._poll_s = poll_s
        self._wakeup = threading.Event()
        self._cond = threading.Condition()
        self._begun = self._done = 0  # cycles, for wake(wait=True)
        self._thread: threading.Thread | None = None
        self._stopping = False
        self._schedules: dict[str, Schedule] = {}
        self._cursor: dict[str, datetime] = {}  # runs after this instant are still to come
        self._signature: tuple | None = None
        self._state: ScheduleState | None = None
        self._checkpoint: datetime | None = None
        self._lock_file = None  # open while this runner is the one that starts runs
        self._standing_by = False

    # -- lifecycle ------------------------------------------------------------------------
    def start(self) -> "ScheduleRunner":
        """Read the schedules, log what was skipped while stopped, start the thread."""
        if self._thread is not None:
            return self
        self._stopping = False
        now = self._now()
        self._state = ScheduleState(self.workspace.state_dir / STATE_FILE)
        self._cursor.clear()
        self._signature = None
        self._checkpoint = now  # the first checkpoint a while after start, not at once
        self._reload(now)
        self._report_skipped(now)
        self._thread = threading.Thread(target=self._loop, name="flowdesk-schedules", daemon=True)
        self._thread.start()
        return self

    def stop(self, timeout: float = 30.0) -> None:
        """Stop starting runs (runs already started go on in the engine)."""
        thread = self._thread
        if thread is None:
            return
        self._stopping = True
        self._wakeup.set()
        thread.join(timeout)
        self._thread = None
        if self._lock_file is not None:
            self._lock_file.close()  # releases the lock: another runner takes over
            self._lock_file = None
        with self._cond:
            self._cond.notify_all()
        if self._state is not None and self._cursor:
            # The next start counts skipped runs from here, not from the last run: time a
            # schedule sat disabled, or simply had nothing due, was not missed.
            self._state.record_checked(sorted(self._cursor), max(self._cursor.values()))

    @property
    def running(self) -> bool:
        return self._thread is not None and self._thread.is_alive()

    def wake(self, wait: bool = True, timeout: float = 60.0) -> bool:
        """Look at the clock and the schedule files now (a test clock calls this after moving).
        With ``wait``, return once a whole cycle begun after this call has ended; False if the
        runner is not running or ``timeout`` passed."""
        with self._cond:
            if not self.running:
                return False
            target = self._begun + 1
            self._wakeup.set()
            if not wait:
                return True
            return self._cond.wait_for(lambda: self._done >= target or not self.running, timeout) and \
                self._done >= target

    # -- the thread -----------------------------------------------------------------------
    def _loop(self) -> None:
        while True:
            self._wakeup.wait(self._timeout())
            self._wakeup.clear()  # before the cycle reads the clock: a wake() now is not lost
            if self._stopping:
                return
            with self._cond:
                self._begun += 1
            try:
                self._cycle()
            except Exception as exc:  # a bug here must not end all schedules
                log.error("schedules: unexpected error, going on: %s", exc, exc_info=log.isEnabledFor(logging.DEBUG))
            finally:
                with self._cond:
                    self._done += 1
                    self._cond.notify_all()

    def _timeout(self) -> float:
        try:
            now = self._now()
            upcoming = [next(times.runs_after(s.cron, s.timezone, self._cursor.get(s.name, now)), None)
                        for s in self._schedules.values() if s.enabled]
            due = min((t for t in upcoming if t is not None), default=None)
        except Exception:  # the cycle logs it; here only the wait's length is at stake
            return self._poll_s
        if due is None:
            return self._poll_s
        return max(0.0, min(self._poll_s, (due - now).total_seconds()))

    @property
    def starts_runs(self) -> bool:
        """Whether this runner is the workspace's one that starts runs (see the module's doc)."""
        return self._lock_file is not None or fcntl is None

    def _take_lead(self) -> bool:
        if self.starts_runs:
            return True
        path = self.workspace.state_dir / "schedules.lock"
        path.parent.mkdir(parents=True, exist_ok=True)
        lock_file = open(path, "a+")
        try:
            fcntl.flock(lock_file, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError:
            lock_file.close()
            if not self._standing_by:
                self._standing_by = True
                log.info("schedules: another engine (flowdesk serve or an IDE) starts this workspace's runs; "
                         "this one stands by")
            return False
        self._lock_file = lock_file
        if self._standing_by:
            self._standing_by = False
            log.info("schedules: this engine now starts the workspace's scheduled runs")
        return True

    def _cycle(self) -> None:
        now = self._now()
        self._reload(now)
        lead = self._take_lead()
        for name in sorted(self._schedules):
            schedule = self._schedules[name]
            cursor = self._cursor.get(name, now)
            if lead and schedule.enabled and now > cursor:
                due = _count_and_last(schedule, cursor, now)
                if due is not None:
                    count, last = due
                    if count > 1:
                        # The clock jumped (a suspended laptop): the latest run starts, not the backlog.
                        log.warning("schedule %r: %s runs were due at once (the clock jumped from %s to %s); "
                                    "starting only the latest, skipping %s", name, _many(count),
                                    _local(schedule, cursor), _local(schedule, now), _many(count - 1))
                    self._start_run(schedule, last)
            self._cursor[name] = max(cursor, now)
        if self._cursor and (self._checkpoint is None or now - self._checkpoint >= _CHECKPOINT):
            self._checkpoint = now
            self._state.record_checked(sorted(self._cursor), now)

    def _start_run(self, schedule: Schedule, due: datetime) -> None:
        name = run_name(schedule, due)
        try:
            execution_id = self.engine.submit(schedule.flow, dict(schedule.inputs), name=name)
        except Exception as exc:  # noqa: BLE001 - one schedule's failure must not stop the others
            # FlowdeskError: the flow went away since the files were read; anything else: the
            # engine is closing. Either way the message is the whole story.
            kind = "" if isinstance(exc, FlowdeskError) else f"{type(exc).__name__}: "
            log.error("schedule %r: could not start flow %r due at %s: %s%s", schedule.name, schedule.flow,
                      due.isoformat(timespec="minutes"), kind, exc)
            return
        log.info("schedule %r: started execution #%d %r", schedule.name, execution_id, name)
        self._state.record_run(schedule.name, due)

    # -- schedule files -------------------------------------------------------------------
    def _files_signature(self) -> tuple:
        # The flows folder is part of it: a schedule refused for a missing flow becomes valid
        # when the flow is created (a directory's mtime changes when a file is added or removed).
        stamps = []
        folder = records.schedules_dir(self.workspace)
        for path in sorted(folder.glob("*.json")) if folder.is_dir() else []:
            try:
                stat = path.stat()
            except OSError:
                continue
            stamps.append((path.name, stat.st_mtime_ns, stat.st_size))
        try:
            flows = self.workspace.flows_dir.stat().st_mtime_ns
        except OSError:
            flows = None
        return (flows, tuple(stamps))

    def _reload(self, now: datetime) -> None:
        signature = self._files_signature()
        if signature == self._signature:
            return
        self._signature = signature
        schedules, problems = records.scan(self.workspace)
        for problem in problems:
            log.warning("%s; this schedule does not run until that is fixed", problem)
        self._schedules = {s.name: s for s in schedules}
        # A new schedule's runs count from now: creating one is not a reason to run the past.
        self._cursor = {name: self._cursor.get(name, now) for name in self._schedules}

    def _report_skipped(self, now: datetime) -> None:
        for name, schedule in sorted(self._schedules.items()):
            since = self._state.since(name)
            if not schedule.enabled or since is None or since >= now:
                continue
            due = _count_and_last(schedule, since, now)
            if due is None:
                continue
            count, last = due
            following = next(times.runs_after(schedule.cron, schedule.timezone, now), None)
            log.warning("schedule %r: %s skipped while the engine was stopped (the last at %s); not replayed, "
                        "the next run is at %s", name, _runs(count), _local(schedule, last),
                        _local(schedule, following) if following else "never")

    def _now(self) -> datetime:
        now = self._clock()
        if now.tzinfo is None:
            raise ValueError("the schedule runner's clock must return an aware datetime")
        return now.astimezone(timezone.utc)


def _count_and_last(schedule: Schedule, after: datetime, until: datetime) -> tuple[int, datetime] | None:
    """How many runs are due in (after, until] (up to _COUNT_LIMIT + 1) and the latest one."""
    count, last = 0, None
    for instant in times.runs_after(schedule.cron, schedule.timezone, after):
        if instant > until:
            break
        count, last = count + 1, instant
        if count > _COUNT_LIMIT:
            # Do not enumerate a long backlog: the latest due run is the last one before `until`.
            last = _last_before(schedule, until, last)
            break
    return (count, last) if last is not None else None


def _last_before(schedule: Schedule, until: datetime, floor: datetime) -> datetime:
    window = timedelta(days=1)
    while True:
        start = max(floor, until - window)
        found = times.runs_between(schedule.cron, schedule.timezone, start, until)
        if found:
            return found[-1]
        if start == floor:
            return floor
        window *= 2


def _many(count: int) -> str:
    return f"over {_COUNT_LIMIT}" if count > _COUNT_LIMIT else str(count)


def _runs(count: int) -> str:
    return "1 run was" if count == 1 else f"{_many(count)} runs were"


def _local(schedule: Schedule, instant: datetime) -> str:
    return instant.astimezone(times.zone(schedule.timezone)).isoformat(timespec="minutes")
