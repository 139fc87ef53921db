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

The reads run often, next to busy threads (the dispatcher, an in-process Dask scheduler): they
are compiled once and run on the driver's cursor (~0.3 ms for an empty read, not the ~7 ms of
building SQLAlchemy statements each time, which under GIL contention became 100-400 ms).

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
from ..store.schema import executions, logs, messages, status_changes
from ..store.writer import _Compiled  # the writer's compiled-once statements, reused for reads

log = logging.getLogger(__name__)

CHANNEL = "flowdesk_events"
POLL_S = 0.25  # the longest another engine's change waits (plus one dispatcher round)
NOTIFY_EVERY_S = 0.05  # at most this often a NOTIFY per engine
WINDOW = 1000  # ids re-read below each watermark (sequence ids committed out of order)
_MIN_POLL_GAP_S = 0.02  # a burst of notifications makes one read, not one each

# The events this module relayed, by id(): the Notifier does not announce them (they are the
# other engine's, already announced by it). Weak: gone once published and dropped.
_RELAYED: "weakref.WeakValueDictionary[int, Any]" = weakref.WeakValueDictionary()


def relayed(event) -> bool:
    """Whether ``event`` was published by a feed (another engine's change), not made here."""
    return _RELAYED.get(id(event)) is event


class OtherEngines:
    """Publish what engine sessions other than ``session_id`` commit to the database of
    ``store`` (a :class:`~engine_core.store.Store`) through ``publish`` (a function
    taking a list of events; default ``bus.publish``). :meth:`start` / :meth:`stop`."""

    def __init__(self, store, bus: ev.EventBus, session_id: int | None, *,
                 publish: Callable[[list], Any] | None = None, poll_s: float = POLL_S, window: int = WINDOW):
        self._sa = store.engine
        self.session_id = session_id
        self._publish = publish or bus.publish
        self._poll_s = poll_s
        self._window = window
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._reader: _Reader | None = None
        self._listen = None  # PostgreSQL: a psycopg connection LISTENing on CHANNEL
        self._marks: dict[str, int] = {}  # table -> highest id published (or there at start)
        self._seen: dict[str, set[int]] = {}  # table -> ids published above mark - window
        self._known: dict[int, tuple] = {}  # active other executions: their last published state
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
        self._reader = _Reader(self._sa)
        if self._reader.postgres:
            self._listen = _raw_connection(self._sa, autocommit=True)
            self._listen.execute(f"LISTEN {CHANNEL}")
            # A new execution's outputs "{}" as PostgreSQL's md5 of them (see _statements).
            self._fresh = (hashlib.md5(b"{}").hexdigest(),) + _FRESH[1:]
        self._reader.run(self._baseline)
        return self

    def stop(self, timeout: float = 5.0) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout)
            self._thread = None
        for closing in (self._listen, self._reader):
            if closing is not None:
                try:
                    closing.close()
                except Exception:  # a server already gone: nothing left to release
                    pass
        self._listen = self._reader = None

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
            self._reader.close()
        except Exception:
            pass
        if self._stop.wait(self._poll_s):
            return
        try:
            self._reader = _Reader(self._sa)
        except Exception:
            log.warning("cannot reconnect to the database yet", exc_info=True)

    # -- reading --------------------------------------------------------------------------
    def _baseline(self, q) -> None:
        for name in _TABLES:
            top = q.scalar(f"SELECT max(id) FROM {name}") or 0
            self._marks[name] = top
            self._seen[name] = {r[0] for r in q.rows(f"{name}_ids", _low=top - self._window)}
        for row in q.rows("active", _me=self.session_id):
            self._known[row[0]] = row[2:]

    def _new_rows(self, q, name: str) -> list[tuple]:
        """Rows of table ``name`` of other sessions past its watermark not published yet (the
        window below the mark is read again: ids that committed late)."""
        mark, seen = self._marks[name], self._seen[name]
        rows = [r for r in q.rows(name, _low=mark - self._window, _me=self.session_id) if r[0] not in seen]
        if rows:
            seen.update(r[0] for r in rows)
            mark = self._marks[name] = max(mark, max(r[0] for r in rows))
            if len(seen) > 2 * self._window:
                floor = mark - self._window
                self._seen[name] = {i for i in seen if i > floor}
        return rows

    def read(self) -> list:
        """One read, in one snapshot: the new events, in commit order per execution (created
        first, an end last). The thread publishes them; :meth:`open` without it, for tests."""
        return self._reader.run(self._poll)

    def _poll(self, q) -> list:
        now = time.time()
        by_execution: dict[int, list[tuple[float | None, int, object]]] = {}

        def add(execution_id: int, at: float | None, rank: int, event) -> None:
            by_execution.setdefault(execution_id, []).append((at, rank, event))

        for i, parent, root, flow, name, kind, inputs, at, replay_of in self._new_rows(q, "executions"):
            add(i, at, _CREATED, ev.ExecutionCreated(id=i, parent_id=parent, root_id=root or i, flow=flow, name=name,
                                                     kind=kind, status="queued", inputs=_json(inputs), at=at,
                                                     replay_of=replay_of))
            self._known.setdefault(i, self._fresh)
        ended: set[int] = set()
        states: dict[int, tuple] = {}  # of executions with new status changes (ended ones too)
        for _, i, status, at, message, traceback, created_at, *state in self._new_rows(q, "status_changes"):
            states[i] = tuple(state)
            if status == "queued" and at == created_at:
                continue  # the row's creation: ExecutionCreated says it (as the engine's own events do)
            final = status in TERMINAL
            if final:
                ended.add(i)
            add(i, at, _END if final else _CHANGE,
                ev.StatusChanged(i, status, message if final else None, at, traceback if final else None))
        for _, i, level, text, fields, at in self._new_rows(q, "logs"):
            add(i, at, _CHANGE, ev.LogAppended(i, level, text, _json(fields), at))
        for message_id, i, subject, message, form, at in self._new_rows(q, "messages"):
            add(i, at, _CHANGE, ev.MessageAdded(i, subject, message, at, message_id, _json(form)))
        for row in q.rows("active", _me=self.session_id):
            states[row[0]] = row[1:]
        self._changes(q, states, ended, now, add)
        return _ordered(by_execution)

    def _changes(self, q, states: dict[int, tuple], ended: set[int], now: float, add) -> None:
        """Outputs, placement, resume, name/message of the other sessions' executions read
        (``states``: id -> (status, *state)): what changed since the last read is an event."""
        known, fresh = self._known, {}
        for i, (status, *state) in states.items():
            state = tuple(state)  # _FRESH's fields
            before = known.get(i)
            if before is None:  # one whose start we did not see (before us): nothing to say yet
                before = state
            if state[1:4] != before[1:4] and state[1]:  # attempt, host, address: placed (again)
                add(i, None, _PLACED, ev.ExecutionPlaced(i, state[2], state[3], state[1], now))
            if state[4] != before[4] and state[4] is not None:  # resumed (again)
                add(i, state[4], _CHANGE, ev.ExecutionResumed(i, max(0.0, (state[5] or 0.0) - (before[5] or 0.0)),
                                                             state[4]))
            if state[0] != before[0]:
                outputs = q.scalar_of("outputs", _id=i) if self._reader.postgres else state[0]
                add(i, None, _OUTPUTS, ev.OutputChanged(i, _json(outputs) or {}))
            active = status in ACTIVE and i not in ended
            if active and before is not self._fresh and state[6:] != before[6:]:
                add(i, now, _CHANGE, ev.ExecutionSaved(i, state[6], state[7], now))
            if active:
                fresh[i] = state
        self._known = fresh  # ended (or no longer another's) executions are forgotten


# -- reading, compiled once --------------------------------------------------------------------
_TABLES = ("executions", "status_changes", "logs", "messages")
# (outputs or their md5, attempt, host, address, resumed_at, lost_s, name, message): a new execution's.
_FRESH = ("{}", 0, None, None, None, None, None, None)
_CREATED, _PLACED, _CHANGE, _OUTPUTS, _END = range(5)  # an execution's events in this order
# Literal SQL for the fixed lists: the compiled statements bind only their own parameters.
_ACTIVE_SQL = sa.text("executions.status IN (%s)" % ", ".join(f"'{s}'" for s in sorted(ACTIVE)))


def _statements(postgres: bool) -> dict:
    e, sc, lc, mc = executions.c, status_changes.c, logs.c, messages.c
    p = sa.bindparam
    others = e.engine_session_id.is_distinct_from(p("_me", type_=sa.Integer))
    # PostgreSQL (where many machines' executions may be active) compares outputs by md5 and
    # reads the text only when it changed; SQLite (one machine, a file) reads the text.
    outputs = sa.func.md5(e.outputs) if postgres else e.outputs
    state = (e.status, outputs, e.attempt, e.worker_host, e.worker_address, e.resumed_at,
             e.lost_s, e.name, e.message)
    low = p("_low", type_=sa.Integer)
    found = {
        "executions": sa.select(e.id, e.parent_id, e.root_id, e.flow, e.name, e.kind, e.inputs, e.created_at,
                                e.replay_of).where(e.id > low, others).order_by(e.id),
        "status_changes": sa.select(sc.id, sc.execution_id, sc.status, sc.at, e.message, e.traceback, e.created_at,
                                    *state).join_from(status_changes, executions, e.id == sc.execution_id)
        .where(sc.id > low, others).order_by(sc.id),
        "logs": sa.select(lc.id, lc.execution_id, lc.level, lc.text, lc.fields, lc.at)
        .join_from(logs, executions, e.id == lc.execution_id).where(lc.id > low, others).order_by(lc.id),
        "messages": sa.select(mc.id, mc.execution_id, mc.subject, mc.message, mc.form, mc.at)
        .join_from(messages, executions, e.id == mc.execution_id).where(mc.id > low, others).order_by(mc.id),
        "active": sa.select(e.id, *state).where(others, _ACTIVE_SQL),
        "outputs": sa.select(e.outputs).where(e.id == p("_id", type_=sa.Integer)),
    }
    for name, table in zip(_TABLES, (executions, status_changes, logs, messages)):
        found[f"{name}_ids"] = sa.select(table.c.id).where(table.c.id > low)
    return found


class _Reader:
    """The feed's own connection (DB-API, outside SQLAlchemy's pool) and its statements,
    compiled once for its dialect. :meth:`run` calls ``fn(self)`` in one read-only snapshot:
    PostgreSQL REPEATABLE READ; SQLite an explicit BEGIN (its driver otherwise begins only
    before a write, and each SELECT would see a different moment)."""

    def __init__(self, engine: sa.Engine):
        self.postgres = engine.dialect.name == "postgresql"
        self._compiled = {name: _Compiled(statement, engine.dialect)
                          for name, statement in _statements(self.postgres).items()}
        self._conn = _raw_connection(engine, autocommit=not self.postgres)
        if self.postgres:
            import psycopg

            self._conn.isolation_level = psycopg.IsolationLevel.REPEATABLE_READ
            self._conn.read_only = True
        else:
            self._conn.isolation_level = None  # autocommit: BEGIN is said in run()
            self._conn.execute("PRAGMA busy_timeout=10000")
        self._cursor = self._conn.cursor()

    def run(self, fn):
        if not self.postgres:
            self._cursor.execute("BEGIN")
        try:
            return fn(self)
        finally:
            if self.postgres:
                self._conn.rollback()  # read-only: nothing to keep; ends the snapshot
            else:
                self._cursor.execute("ROLLBACK")

    def rows(self, name: str, **params) -> list[tuple]:
        compiled = self._compiled[name]
        self._cursor.execute(compiled.sql, compiled.parameters(params))
        return self._cursor.fetchall()

    def scalar(self, sql: str):
        self._cursor.execute(sql)
        row = self._cursor.fetchone()
        return row[0] if row else None

    def scalar_of(self, name: str, **params):
        rows = self.rows(name, **params)
        return rows[0][0] if rows else None

    def close(self) -> None:
        self._conn.close()


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


def _raw_connection(engine: sa.Engine, *, autocommit: bool = False):
    """A new DB-API connection to ``engine``'s database, outside its pool; on PostgreSQL in
    autocommit mode or not (SQLite: see _Reader)."""
    cargs, cparams = engine.dialect.create_connect_args(engine.url)
    if engine.dialect.name == "sqlite":
        cparams = {**cparams, "check_same_thread": False}  # opened here, used on the feed's thread
    connection = engine.dialect.connect(*cargs, **cparams)
    if engine.dialect.name == "postgresql":
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
