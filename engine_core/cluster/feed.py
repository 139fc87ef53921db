"""Other engines' events: what engines on other machines (or other processes) sharing this
database commit, published on this engine's bus as if it had done it (design §8).

An engine publishes its own events from memory, after its round commits; it knows nothing of
another engine's. :class:`OtherEngines` closes that gap by reading the database: a thread with
its own connection reads, every 0.25 s, the rows other sessions committed past a watermark per
table (executions, status_changes, logs, messages) and the changed outputs and placements of
their active executions, and publishes ExecutionCreated / StatusChanged / LogAppended /
MessageAdded / OutputChanged / ExecutionPlaced / ExecutionResumed / ExecutionSaved for them.

On PostgreSQL every engine also runs a :class:`Notifier`: after its commits it sends
``NOTIFY flowdesk_events`` (at most every 50 ms, from its own thread and connection), and the
feed ``LISTEN``s, so another engine's change shows within tens of milliseconds; the poll
bounds the lag at 0.25 s when a notification is lost (SQLite has none: polling only).

Ids from a sequence can commit out of order (PostgreSQL: a transaction that took id 100 may
commit after one that took 101), so each read goes back ``window`` ids below the watermark and
drops the ids already published (a bounded set). Each poll reads in one snapshot, so a row is
never published before a row another transaction committed earlier.

Nothing here imports ``distributed``: an IDE on a local engine follows a CLI's cluster runs."""

from __future__ import annotations

import hashlib
import json
import logging
import threading
import time
import weakref
from typing import Any, Callable

import sqlalchemy as sa

from .. import events as ev
from ..status import ACTIVE, TERMINAL
from ..store.database import normalise_url
from ..store.schema import executions, logs, messages, status_changes

log = logging.getLogger(__name__)

CHANNEL = "flowdesk_events"
POLL_S = 0.25  # the longest another engine's change waits (plus one dispatcher round)
NOTIFY_EVERY_S = 0.05  # at most this often a NOTIFY per engine
WINDOW = 1000  # ids re-read below each watermark (sequence ids committed out of order)
_MIN_POLL_GAP_S = 0.02  # a burst of notifications makes one read, not one each
_CHUNK = 500

# The events this module relayed, by id(): the Notifier does not announce them (they are the
# other engine's, already announced by it). Weak: gone once published and dropped.
_RELAYED: "weakref.WeakValueDictionary[int, Any]" = weakref.WeakValueDictionary()


def relayed(event) -> bool:
    """Whether ``event`` was published by a feed (another engine's change), not made here."""
    return _RELAYED.get(id(event)) is event


class OtherEngines:
    """Publish what engine sessions other than ``session_id`` commit to the database of
    ``store`` (a :class:`~engine_core.store.Store`; or its URL) through ``publish`` (a function
    taking a list of events; default ``bus.publish``). :meth:`start` / :meth:`stop`."""

    def __init__(self, store, bus: ev.EventBus, session_id: int | None, *,
                 publish: Callable[[list], Any] | None = None, poll_s: float = POLL_S, window: int = WINDOW):
        self.url = store if isinstance(store, str) else store.url
        self.session_id = session_id
        self._publish = publish or bus.publish
        self._poll_s = poll_s
        self._window = window
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._engine: sa.Engine | None = None
        self._conn: sa.Connection | None = None
        self._listen = None  # PostgreSQL: a psycopg connection LISTENing on CHANNEL
        self._marks: dict[str, int] = {}  # table -> highest id published (or there at start)
        self._seen: dict[str, set[int]] = {}  # table -> ids published above mark - window
        self._known: dict[int, tuple] = {}  # active other executions: their last published state
        self._digests = False
        self._fresh = _FRESH

    # -- lifecycle ------------------------------------------------------------------------
    def start(self) -> "OtherEngines":
        """Take the watermarks (what is there now is not published) and start following."""
        self.open()
        self._thread = threading.Thread(target=self._run, name="flowdesk-other-engines", daemon=True)
        self._thread.start()
        return self

    def open(self) -> "OtherEngines":
        """Connect and take the watermarks, without the thread (then :meth:`read` by hand)."""
        self._engine = _reader_engine(self.url)
        self._conn = self._engine.connect()
        if self._engine.dialect.name == "postgresql":
            self._listen = _raw_connection(self._engine, autocommit=True)
            self._listen.execute(f"LISTEN {CHANNEL}")
        self._digests = self._engine.dialect.name == "postgresql"
        # A new execution's state: outputs "{}" (as its digest on PostgreSQL), never placed.
        self._fresh = (hashlib.md5(b"{}").hexdigest() if self._digests else "{}",) + _FRESH[1:]
        with self._conn.begin():
            self._baseline()
        return self

    def stop(self, timeout: float = 5.0) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout)
            self._thread = None
        for closing in (self._listen, self._conn):
            if closing is not None:
                try:
                    closing.close()
                except Exception:  # a server already gone: nothing left to release
                    pass
        self._listen = self._conn = None
        if self._engine is not None:
            self._engine.dispose()
            self._engine = None

    # -- the thread -----------------------------------------------------------------------
    def _run(self) -> None:
        last = 0.0
        while not self._stop.is_set():
            self._wait(max(0.0, last + self._poll_s - time.monotonic()))
            if self._stop.is_set():
                break
            gap = last + _MIN_POLL_GAP_S - time.monotonic()
            if gap > 0:
                time.sleep(gap)
            last = time.monotonic()
            # A read that fails half-way must not count what it saw: the next one reads it again.
            saved = dict(self._marks), {k: set(v) for k, v in self._seen.items()}, dict(self._known)
            try:
                events = self.read()
            except Exception:  # the database went away for a moment: try again next time
                log.warning("reading other engines' changes failed; retrying", exc_info=True)
                self._marks, self._seen, self._known = saved
                self._reconnect()
                continue
            if events:
                for event in events:
                    _RELAYED[id(event)] = event
                self._publish(events)

    def _wait(self, timeout: float) -> None:
        """Sleep ``timeout`` s, or less when another engine NOTIFYs (PostgreSQL)."""
        if self._listen is None:
            self._stop.wait(timeout)
            return
        own, deadline = str(self.session_id), time.monotonic() + timeout
        try:
            while (remaining := deadline - time.monotonic()) > 0 and not self._stop.is_set():
                # Our own Notifier's notices (our commits) are not a reason to read early.
                if any(n.payload != own for n in self._listen.notifies(timeout=remaining, stop_after=1)):
                    return
        except Exception:
            log.warning("listening for other engines failed; polling only", exc_info=True)
            self._listen = None
            self._stop.wait(timeout)

    def _reconnect(self) -> None:
        try:
            self._conn.close()
        except Exception:
            pass
        if self._stop.wait(self._poll_s):
            return
        try:
            self._conn = self._engine.connect()
        except Exception:
            log.warning("cannot reconnect to the database yet", exc_info=True)

    # -- reading --------------------------------------------------------------------------
    def _baseline(self) -> None:
        conn = self._conn
        for name, table in _TABLES.items():
            top = conn.execute(sa.select(sa.func.max(table.c.id))).scalar() or 0
            self._marks[name] = top
            self._seen[name] = set(conn.execute(sa.select(table.c.id).where(table.c.id > top - self._window)).scalars())
        others = executions.c.engine_session_id.is_distinct_from(self.session_id)
        for row in conn.execute(_state_query(self._digests).where(others, executions.c.status.in_(list(ACTIVE)))).all():
            self._known[row.id] = _state(row)

    def _new_rows(self, name: str, query) -> list:
        """Rows of table ``name`` past its watermark not published yet (``query`` selects
        ``id`` first, filtered to other sessions; the window below the mark is added here)."""
        table = _TABLES[name]
        mark, seen = self._marks[name], self._seen[name]
        rows = [r for r in self._conn.execute(query.where(table.c.id > mark - self._window).order_by(table.c.id))
                if r[0] not in seen]
        if rows:
            seen.update(r[0] for r in rows)
            mark = self._marks[name] = max(mark, rows[-1][0])
            floor = mark - self._window
            if len(seen) > 2 * self._window:
                self._seen[name] = {i for i in seen if i > floor}
        return rows

    def read(self) -> list:
        """One read, in one snapshot: the new events, in commit order per execution (created
        first, an end last). The thread publishes them; :meth:`open` without it, for tests."""
        with self._conn.begin():
            return self.poll()

    def poll(self) -> list:
        """:meth:`read` in the caller's transaction."""
        me = self.session_id
        e = executions.c
        others = e.engine_session_id.is_distinct_from(me)
        now = time.time()
        by_execution: dict[int, list[tuple[float, int, object]]] = {}

        def add(execution_id: int, at: float, rank: int, event) -> None:
            by_execution.setdefault(execution_id, []).append((at, rank, event))

        created = self._new_rows("executions", sa.select(
            e.id, e.parent_id, e.root_id, e.flow, e.name, e.kind, e.inputs, e.created_at, e.replay_of).where(others))
        for r in created:
            add(r.id, r.created_at, _CREATED, ev.ExecutionCreated(
                id=r.id, parent_id=r.parent_id, root_id=r.root_id or r.id, flow=r.flow, name=r.name, kind=r.kind,
                status="queued", inputs=_json(r.inputs), at=r.created_at, replay_of=r.replay_of))
            self._known.setdefault(r.id, self._fresh)
        sc = status_changes.c
        changes = self._new_rows("status_changes", sa.select(
            sc.id, sc.execution_id, sc.status, sc.at, e.message, e.traceback, e.created_at)
            .join_from(status_changes, executions, e.id == sc.execution_id).where(others))
        ended: set[int] = set()
        for r in changes:
            if r.status == "queued" and r.at == r.created_at:
                continue  # the row's creation: ExecutionCreated says it (as the engine's own events do)
            final = r.status in TERMINAL
            if final:
                ended.add(r.execution_id)
            add(r.execution_id, r.at, _END if final else _CHANGE, ev.StatusChanged(
                r.execution_id, r.status, r.message if final else None, r.at, r.traceback if final else None))
        lc = logs.c
        for r in self._new_rows("logs", sa.select(lc.id, lc.execution_id, lc.level, lc.text, lc.fields, lc.at)
                                .join_from(logs, executions, e.id == lc.execution_id).where(others)):
            add(r.execution_id, r.at, _CHANGE, ev.LogAppended(r.execution_id, r.level, r.text, _json(r.fields), r.at))
        mc = messages.c
        for r in self._new_rows("messages", sa.select(mc.id, mc.execution_id, mc.subject, mc.message, mc.form, mc.at)
                                .join_from(messages, executions, e.id == mc.execution_id).where(others)):
            add(r.execution_id, r.at, _CHANGE, ev.MessageAdded(r.execution_id, r.subject, r.message, r.at, r.id,
                                                         _json(r.form)))
        self._states(others, set(by_execution), ended, now, add)
        return _ordered(by_execution)

    def _states(self, others, touched: set[int], ended: set[int], now: float, add) -> None:
        """Outputs, placement, resume and name of the other sessions' active executions (and
        of those with new rows): what changed since the last read becomes an event."""
        conn, e = self._conn, executions.c
        rows = list(conn.execute(_state_query(self._digests).where(others, e.status.in_(list(ACTIVE)))).all())
        returned = {r.id for r in rows}
        rest = sorted(touched - returned)
        for i in range(0, len(rest), _CHUNK):
            rows.extend(conn.execute(_state_query(self._digests).where(others, e.id.in_(rest[i:i + _CHUNK]))).all())
        known, fresh = self._known, {}
        for row in rows:
            state = _state(row)
            before = known.get(row.id)
            if before is None:  # one we did not see start (before us, or below the window)
                before = state if row.id not in touched else self._fresh
            if state[1:4] != before[1:4] and state[1]:  # attempt, host, address: placed (again)
                add(row.id, None, _PLACED, ev.ExecutionPlaced(row.id, state[2], state[3], state[1], now))
            if state[4] != before[4] and state[4] is not None:  # resumed (again)
                lost = max(0.0, (state[5] or 0.0) - (before[5] or 0.0))
                add(row.id, state[4], _CHANGE, ev.ExecutionResumed(row.id, lost, state[4]))
            if state[0] != before[0]:
                outputs = _full_outputs(conn, row.id) if self._digests else row.outputs
                add(row.id, None, _OUTPUTS, ev.OutputChanged(row.id, _json(outputs) or {}))
            if row.status in ACTIVE and row.id not in ended and before is not self._fresh and state[6:] != before[6:]:
                add(row.id, now, _CHANGE, ev.ExecutionSaved(row.id, row.name, row.message, now))
            if row.status in ACTIVE:
                fresh[row.id] = state
        self._known = fresh  # ended (or no longer another's) executions are forgotten


# -- helpers ---------------------------------------------------------------------------------
_TABLES = {"executions": executions, "status_changes": status_changes, "logs": logs, "messages": messages}
# (outputs or their digest, attempt, host, address, resumed_at, lost_s, name, message): a new execution's.
_FRESH = ("{}", 0, None, None, None, None, None, None)
_CREATED, _PLACED, _CHANGE, _OUTPUTS, _END = range(5)  # an execution's events in this order


def _state_query(digests: bool):
    e = executions.c
    # With ``digests`` (PostgreSQL, where executions of many machines may be active) outputs
    # are compared by md5 and the text read only when it changed; SQLite reads the text.
    outputs = sa.func.md5(e.outputs).label("outputs") if digests else e.outputs
    return sa.select(e.id, e.status, outputs, e.attempt, e.worker_host, e.worker_address, e.resumed_at,
                     e.lost_s, e.name, e.message)


def _state(row) -> tuple:
    return (row.outputs, row.attempt or 0, row.worker_host, row.worker_address, row.resumed_at, row.lost_s,
            row.name, row.message)


def _full_outputs(conn, execution_id: int) -> str | None:
    return conn.execute(sa.select(executions.c.outputs).where(executions.c.id == execution_id)).scalar()


def _ordered(by_execution: dict[int, list[tuple[float | None, int, object]]]) -> list:
    """One list: per execution its events by rank (created, placed, changes by time, outputs,
    end: the end last and creation first whatever the clocks say); across executions by time,
    each event no earlier than its execution's previous one (an event without a time of its
    own, ``None``, takes the previous one's)."""
    keyed = []
    for execution_id, items in by_execution.items():
        items.sort(key=lambda item: (item[1], item[0] or 0.0))
        floor = float("-inf")
        for index, (at, _rank, event) in enumerate(items):
            if at is not None:
                floor = max(floor, at)
            keyed.append((floor, execution_id, index, event))
    keyed.sort(key=lambda k: k[:3])
    return [k[3] for k in keyed]


def _json(text):
    if text is None or text == "":
        return None
    try:
        return json.loads(text)
    except ValueError:
        return text


def _reader_engine(url: str) -> sa.Engine:
    """An engine of one connection whose transactions read one snapshot: PostgreSQL REPEATABLE
    READ; SQLite a real BEGIN (pysqlite otherwise begins only before a write, and each SELECT
    would see a different moment)."""
    parsed = normalise_url(url)
    if parsed.get_backend_name() == "sqlite":
        engine = sa.create_engine(parsed, pool_size=1)

        @sa.event.listens_for(engine, "connect")
        def _connect(dbapi_connection, _record):
            dbapi_connection.isolation_level = None  # we say BEGIN ourselves
            cursor = dbapi_connection.cursor()
            cursor.execute("PRAGMA busy_timeout=10000")
            cursor.close()

        @sa.event.listens_for(engine, "begin")
        def _begin(conn):
            conn.exec_driver_sql("BEGIN")

        return engine
    return sa.create_engine(parsed, pool_size=1, isolation_level="REPEATABLE READ").execution_options(
        postgresql_readonly=True)


def _raw_connection(engine: sa.Engine, *, autocommit: bool):
    """A new DB-API (psycopg) connection to ``engine``'s database, outside its pool."""
    cargs, cparams = engine.dialect.create_connect_args(engine.url)
    connection = engine.dialect.connect(*cargs, **cparams)
    connection.autocommit = autocommit
    return connection


def start_for(d, store, bus: ev.EventBus, follow_others: bool) -> tuple["OtherEngines | None", "Notifier | None"]:
    """An engine's companions, started: on PostgreSQL a :class:`Notifier`; with
    ``follow_others`` an :class:`OtherEngines` publishing through dispatcher ``d`` (after one of
    its rounds, like its own events). Either fails alone, with a warning: runs go on, other
    engines' changes then show on a refresh only."""
    feed = notifier = None
    try:
        if store.dialect == "postgresql":
            notifier = Notifier(store, bus, d.session_id).start()
        if follow_others:
            feed = OtherEngines(store, bus, d.session_id, publish=lambda events: d.post(_emit_all, d, events)).start()
    except Exception:
        log.warning("cannot follow other engines on this database", exc_info=True)
    return feed, notifier


def _emit_all(d, events: list) -> None:
    for event in events:
        d.emit(event)


class Notifier:
    """PostgreSQL: tell other engines (their :class:`OtherEngines`) that this one committed.
    A bus subscriber only sets a flag; a thread with its own autocommit connection sends one
    ``pg_notify`` for everything flagged, at most every :data:`NOTIFY_EVERY_S`. Nothing is
    added to the dispatcher's rounds."""

    def __init__(self, store, bus: ev.EventBus, session_id: int | None, *, every_s: float = NOTIFY_EVERY_S):
        self._engine = store.engine
        self._bus = bus
        self.payload = str(session_id)
        self._every = every_s
        self._pending = threading.Event()
        self._stop = False
        self._thread: threading.Thread | None = None
        self._unsubscribe = None
        self._conn = None

    def start(self) -> "Notifier":
        self._conn = _raw_connection(self._engine, autocommit=True)
        self._unsubscribe = self._bus.subscribe(self._on_event)
        self._thread = threading.Thread(target=self._run, name="flowdesk-notify", daemon=True)
        self._thread.start()
        return self

    def stop(self, timeout: float = 5.0) -> None:
        """Send what is still flagged, then stop."""
        if self._unsubscribe is not None:
            self._unsubscribe()
        self._stop = True
        self._pending.set()
        if self._thread is not None:
            self._thread.join(timeout)
            self._thread = None
        if self._conn is not None:
            try:
                self._conn.close()
            except Exception:
                pass
            self._conn = None

    def _on_event(self, event) -> None:
        if not self._pending.is_set() and not relayed(event):
            self._pending.set()

    def _run(self) -> None:
        while True:
            self._pending.wait()
            self._pending.clear()
            try:
                self._conn.execute("SELECT pg_notify(%s, %s)", (CHANNEL, self.payload))
            except Exception:  # the others fall back to their poll
                log.warning("NOTIFY %s failed", CHANNEL, exc_info=True)
            if self._stop:
                return
            time.sleep(self._every)
