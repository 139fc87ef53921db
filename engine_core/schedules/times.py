"""When a cron expression is due, in a time zone, across daylight-saving changes.

croniter walks wall-clock times (naive datetimes); this module turns each into the real
instant(s) it names in the schedule's zone. The two DST cases, as classic cron handles them:

- a wall time the spring change skips (02:30 in Vienna on the last Sunday of March) is run
  at the same wall time after the change (03:30); one that also exists then is run once;
- a wall time the autumn change repeats (02:30 on the last Sunday of October) is run once,
  at its first occurrence, for a job at fixed hours ("30 2 * * *"); a job whose minute or
  hour field is a wildcard ("*/15 * * * *", "0 * * * *") runs at both occurrences, so it keeps
  running every 15 minutes or every hour in real time.
"""

from __future__ import annotations

import difflib
import heapq
import os
from datetime import datetime, timedelta, timezone
from functools import lru_cache
from pathlib import Path
from typing import Iterator
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError, available_timezones

from croniter import croniter

# Offsets of one zone differ by at most this much across a transition (DST is 1 h; a few
# historical changes were 2 h). Used to know when no later wall time can give an earlier instant.
_MAX_SHIFT = timedelta(hours=3)


class ZoneError(ValueError):
    """Not a known IANA time zone name; the message suggests close names."""


class CronError(ValueError):
    """Not a usable 5-field cron expression; the message says why."""


def local_zone_name() -> str:
    """The machine's IANA zone: $TZ, /etc/timezone, the /etc/localtime link; else 'UTC'."""
    candidates = [os.environ.get("TZ", "").lstrip(":")]
    try:
        candidates.append(Path("/etc/timezone").read_text(encoding="utf-8").strip())
    except OSError:
        pass
    try:
        target = os.path.realpath("/etc/localtime")
        if "/zoneinfo/" in target:
            candidates.append(target.split("/zoneinfo/", 1)[1])
    except OSError:
        pass
    for name in candidates:
        if name:
            try:
                zone(name)
                return name
            except ZoneError:
                continue
    return "UTC"


@lru_cache(maxsize=64)
def zone(name: str) -> ZoneInfo:
    if not isinstance(name, str) or not name or name.startswith("/") or ".." in name:
        raise ZoneError(f"{name!r} is not an IANA time zone name; write e.g. 'Europe/Vienna' or 'UTC'")
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError, OSError):
        close = difflib.get_close_matches(name, sorted(available_timezones()), n=3)
        hint = f"did you mean {', '.join(repr(c) for c in close)}?" if close else "write e.g. 'Europe/Vienna' or 'UTC'"
        raise ZoneError(f"{name!r} is not a known IANA time zone; {hint}") from None


def check_cron(expression: str) -> None:
    """Raise CronError unless ``expression`` is a 5-field cron expression that matches some time."""
    if not isinstance(expression, str) or len(expression.split()) != 5:
        raise CronError(f"{expression!r} is not a 5-field cron expression (minute hour day-of-month month "
                        "day-of-week), e.g. '0 * * * *' for hourly or '30 6 * * 1-5' for 06:30 on weekdays")
    try:
        croniter(expression, datetime(2000, 1, 1)).get_next(datetime)
    except Exception as exc:  # croniter's own errors say which field is wrong
        reason = str(exc).replace(f"[{expression}] ", "").replace("is not acceptable, ", "") or type(exc).__name__
        raise CronError(f"{expression!r} is not a valid cron expression ({reason}); the fields are minute "
                        "hour day-of-month month day-of-week, e.g. '0 * * * *' for hourly") from None


def _follows_real_time(expression: str) -> bool:
    minute, hour = expression.split()[:2]
    return minute.startswith("*") or hour.startswith("*")


def _instants(wall: datetime, tz: ZoneInfo, both_folds: bool) -> list[datetime]:
    """The instants (UTC) that wall time ``wall`` names in ``tz``."""
    first = wall.replace(tzinfo=tz, fold=0)
    second = wall.replace(tzinfo=tz, fold=1)
    a, b = first.astimezone(timezone.utc), second.astimezone(timezone.utc)
    if a == b:
        return [a]
    if first.utcoffset() > second.utcoffset():  # repeated wall time (autumn): fold 0 is the earlier
        return [a, b] if both_folds else [a]
    # Skipped wall time (spring): fold 0 uses the offset before the change, i.e. the same wall
    # time after the clocks jumped.
    return [a]


def _steady(tz: ZoneInfo, instant: datetime) -> bool:
    """No offset change within _MAX_SHIFT of ``instant``: wall times map to instants in order there."""
    offset = instant.astimezone(tz).utcoffset()
    return (instant - _MAX_SHIFT).astimezone(tz).utcoffset() == offset == (instant + _MAX_SHIFT).astimezone(tz).utcoffset()


def runs_after(expression: str, zone_name: str, after: datetime) -> Iterator[datetime]:
    """The due instants strictly after ``after`` (aware), ascending, without duplicates, as
    aware datetimes in the schedule's zone. Endless; take what you need."""
    tz = zone(zone_name)
    both = _follows_real_time(expression)
    after = after.astimezone(timezone.utc)
    # Near a change, start a little before: a repeated hour can give an instant after `after`
    # whose wall time is before `after`'s.
    start = (after if _steady(tz, after) else after - _MAX_SHIFT).astimezone(tz).replace(tzinfo=None)
    walls = croniter(expression, start)
    pending: list[datetime] = []
    last: datetime | None = None
    while True:
        wall = walls.get_next(datetime)
        instants = _instants(wall, tz, both)
        for instant in instants:
            if instant > after:
                heapq.heappush(pending, instant)
        # Later wall times cannot give an instant earlier than this bound: the earliest one is
        # final unless a change is near (this keeps a per-minute cron at one step per run).
        bound = min(instants) if _steady(tz, min(instants)) else min(instants) - _MAX_SHIFT
        while pending and pending[0] <= bound:
            instant = heapq.heappop(pending)
            if instant != last:
                last = instant
                yield instant.astimezone(tz)


def runs_between(expression: str, zone_name: str, after: datetime, until: datetime) -> list[datetime]:
    """The due instants in (after, until]."""
    found = []
    for instant in runs_after(expression, zone_name, after):
        if instant > until:
            break
        found.append(instant)
    return found


def next_runs(expression: str, zone_name: str, n: int = 3, now: datetime | None = None) -> list[datetime]:
    now = now or datetime.now(timezone.utc)
    if now.tzinfo is None:
        raise ValueError("now must be an aware datetime (with a time zone)")
    found: list[datetime] = []
    if n <= 0:
        return found
    for instant in runs_after(expression, zone_name, now):
        found.append(instant)
        if len(found) == n:
            break
    return found
