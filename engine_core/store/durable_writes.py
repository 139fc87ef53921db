"""The dispatcher's writes for durable executions (issue 13): the journal of each execution's
flow API calls, taking over what a gone engine left (claim, adopt locks, end or mark resumed)
and the scripts executions ran. A mixin of :class:`~engine_core.store.writer.Writer`, which
owns the connection, the transaction and the hot-statement runners (``_raw``, ``_raw_many``,
``_exec``) these methods use; kept apart so each module reads alone."""

from __future__ import annotations

import time

import sqlalchemy as sa

from .schema import engine_sessions, executions, journal, locks, logs, status_changes

_p = sa.bindparam
_ID = executions.c.id == _p("_id")

# The journal (durable executions): rows are dicts keyed by these column names.
JOURNAL_COLUMNS = ("execution_id", "seq", "op", "target", "args_hash", "args", "line", "state", "ok", "result",
                   "ref", "called_at", "answered_at")
_JOURNAL_OPTIONAL = {"args": None, "line": None, "state": "pending", "ok": None, "result": None, "ref": None,
                     "answered_at": None}
_JOURNAL_WIDTH = len(JOURNAL_COLUMNS)
_INSERT_JOURNAL = journal.insert().values({c: _p(c) for c in JOURNAL_COLUMNS})
_ANSWER_JOURNAL = journal.update().where(journal.c.execution_id == _p("_eid"), journal.c.seq == _p("_seq")).values(
    state=sa.text("'done'"), ok=_p("_ok"), result=_p("_result"), answered_at=_p("_at"))
# journal_answer's row keys, by the statement's parameter names.
_ANSWER_KEYS = {"_eid": "execution_id", "_seq": "seq", "_ok": "ok", "_result": "result", "_at": "answered_at"}
_ZERO = sa.literal_column("0.0", sa.Float)  # not a bind parameter: the raw statements bind only theirs
_MARK_RESUMED = executions.update().where(_ID).values(
    resumed_at=_p("_at"), lost_s=sa.func.coalesce(executions.c.lost_s, _ZERO) + _p("_lost", type_=sa.Float))
_MARK_RESUMED_MESSAGE = executions.update().where(_ID).values(
    resumed_at=_p("_at"), lost_s=sa.func.coalesce(executions.c.lost_s, _ZERO) + _p("_lost", type_=sa.Float),
    message=_p("_message"))
_SAVE_EXECUTION = {
    (True, False): executions.update().where(_ID).values(name=_p("_name")),
    (False, True): executions.update().where(_ID).values(message=_p("_message")),
    (True, True): executions.update().where(_ID).values(name=_p("_name"), message=_p("_message")),
}
_ENTRY_COLUMNS = JOURNAL_COLUMNS[1:]  # journal_keys.Entry's fields, in its order
_ACTIVE = ("queued", "running", "paused")
SUSPENDED_LOCK_SESSION = -1
"""``locks.session_id`` of a lock whose holder was suspended by a clean shutdown: no session
is alive with that id, so the next engine adopts it with the execution."""
_CHUNK = 500  # ids per IN (...) list


def _chunks(ids) -> list[list[int]]:
    ids = list(ids)
    return [ids[i:i + _CHUNK] for i in range(0, len(ids), _CHUNK)]


class DurableWrites:
    """Journal and takeover writes; mixed into Writer (see the module docstring)."""

    def journal_insert(self, rows: list[dict]) -> None:
        """New journal rows (dicts keyed by :data:`JOURNAL_COLUMNS`; ``execution_id``, ``seq``,
        ``op``, ``target``, ``args_hash`` and ``called_at`` required, the others default to a
        pending call), in one ``executemany``. A call answered in the round that asked it comes
        as one ``'done'`` row."""
        if rows:
            # Rows with every column (the engine's Journal makes them so) go as they are.
            self._raw_many(_INSERT_JOURNAL, [row if len(row) == _JOURNAL_WIDTH else {**_JOURNAL_OPTIONAL, **row}
                                             for row in rows])

    def journal_answer(self, rows: list[dict]) -> None:
        """Answer pending calls, one ``executemany``: each row has ``execution_id``, ``seq``,
        ``ok`` (a value: True, an error: False), ``result`` (text) and ``answered_at``."""
        if rows:
            self._raw_many(_ANSWER_JOURNAL, rows, _ANSWER_KEYS)

    def journal_entries(self, execution_ids) -> dict[int, list]:
        """The journals of ``execution_ids`` as ``journal_keys.Entry`` tuples ordered by seq
        (results as stored: secret references unresolved); ids without entries map to []."""
        from ..journal_keys import Entry

        entries: dict[int, list] = {i: [] for i in execution_ids}
        for chunk in _chunks(entries):
            rows = self._conn.execute(sa.select(*[journal.c[c] for c in JOURNAL_COLUMNS])
                                      .where(journal.c.execution_id.in_(chunk))
                                      .order_by(journal.c.execution_id, journal.c.seq)).all()
            for row in rows:
                entries[row[0]].append(Entry(*row[1:]))
        return entries

    def notes_after(self, last_seqs: dict[int, int]) -> dict[int, int]:
        """Per execution, how many log lines it stored after its journaled call
        ``last_seqs[id]`` (``after_seq`` equal to it; 0 also matches lines from before any
        call): a resumed execution skips as many."""
        counts = {i: 0 for i in last_seqs}
        for chunk in _chunks(last_seqs):
            rows = self._conn.execute(sa.select(logs.c.execution_id, logs.c.after_seq, sa.func.count())
                                      .where(logs.c.execution_id.in_(chunk))
                                      .group_by(logs.c.execution_id, logs.c.after_seq)).all()
            for execution_id, after_seq, n in rows:
                if (after_seq or 0) == (last_seqs[execution_id] or 0):
                    counts[execution_id] += n
        return counts

    def journal_delete(self, execution_id: int, from_seq: int = 1) -> int:
        """Delete ``execution_id``'s entries from ``from_seq`` on; how many went."""
        return self._exec(journal.delete().where(journal.c.execution_id == execution_id,
                                                 journal.c.seq >= from_seq)).rowcount

    def claim_orphans(self, new_session: int, dead_sessions) -> list[dict]:
        """Take over the active executions (queued/running/paused) of the engine sessions
        ``dead_sessions`` (see ``Store.dead_sessions``) and of no registered session (suspended
        by a clean shutdown, or a session row lost with a crash): their ``engine_session_id``
        becomes ``new_session``. The dead sessions' rows are removed, and their locks whose
        execution is no longer active. Returns the claimed rows (all columns, as stored).

        Each update is conditional on the row still naming the old session, so two engines
        starting at once on one database claim disjoint sets (PostgreSQL re-checks the
        condition on a row the other engine updated first; SQLite serialises the writes)."""
        orphan_of = set(dead_sessions)
        live = sa.select(engine_sessions.c.id)
        unregistered = self._conn.execute(sa.select(executions.c.engine_session_id).distinct().where(
            executions.c.status.in_(_ACTIVE), executions.c.engine_session_id.is_not(None),
            executions.c.engine_session_id.not_in(live))).scalars().all()
        orphan_of.update(unregistered)
        orphan_of.discard(new_session)
        claimed: list[dict] = []
        conditions = [executions.c.engine_session_id == s for s in sorted(orphan_of)]
        conditions.append(executions.c.engine_session_id.is_(None))
        for condition in conditions:
            rows = self._exec(executions.update().where(condition, executions.c.status.in_(_ACTIVE))
                              .values(engine_session_id=new_session).returning(*executions.c)).mappings().all()
            claimed.extend(dict(r) for r in rows)
        for session in sorted(dead_sessions):
            self._exec(locks.delete().where(locks.c.session_id == session, locks.c.execution_id.not_in(
                sa.select(executions.c.id).where(executions.c.status.in_(_ACTIVE)))))
            self._exec(engine_sessions.delete().where(engine_sessions.c.id == session))
        claimed.sort(key=lambda r: r["id"])
        return claimed

    def adopt_locks(self, new_session: int, execution_ids) -> list[tuple[str, int]]:
        """Locks held by ``execution_ids`` (claimed orphans) whose session is gone (or was
        suspended) now belong to ``new_session``; returns the adopted ``(name, execution_id)``."""
        adopted: list[tuple[str, int]] = []
        live = sa.select(engine_sessions.c.id)
        for chunk in _chunks(execution_ids):
            rows = self._exec(locks.update().where(locks.c.execution_id.in_(chunk), locks.c.session_id.not_in(live))
                              .values(session_id=new_session).returning(locks.c.name, locks.c.execution_id)).all()
            adopted.extend((r[0], r[1]) for r in rows)
        return sorted(adopted)

    def end_orphans(self, execution_ids, status: str, message: str, at: float | None = None) -> list[int]:
        """End the still active ones of ``execution_ids`` with ``status``/``message`` (an
        orphan that is not resumed), releasing their locks; returns the ids ended."""
        at = time.time() if at is None else at
        ended: list[int] = []
        for chunk in _chunks(execution_ids):
            ids = self._conn.execute(sa.select(executions.c.id).where(
                executions.c.id.in_(chunk), executions.c.status.in_(_ACTIVE))).scalars().all()
            if not ids:
                continue
            self._exec(executions.update().where(executions.c.id.in_(ids)).values(
                status=status, message=message, ended_at=at, cancel_requested=False))
            self._exec(status_changes.insert(), [{"execution_id": i, "status": status, "at": at} for i in ids])
            self._exec(locks.delete().where(locks.c.execution_id.in_(ids)))
            ended.extend(ids)
        return ended

    def mark_resumed(self, execution_id: int, at: float, lost_s: float) -> None:
        """A resumed execution: when, and the time lost added to that of earlier resumes."""
        self._raw(_MARK_RESUMED, {"_id": execution_id, "_at": at, "_lost": lost_s})

    def mark_resumed_many(self, rows: list[tuple[int, float, float, str | None]]) -> None:
        """:meth:`mark_resumed` of many executions, with their new message (None: unchanged)
        too, in one ``executemany`` per statement: rows are ``(id, at, lost_s, message)``."""
        plain = [{"_id": i, "_at": at, "_lost": lost} for i, at, lost, message in rows if message is None]
        told = [{"_id": i, "_at": at, "_lost": lost, "_message": message}
                for i, at, lost, message in rows if message is not None]
        if plain:
            self._raw_many(_MARK_RESUMED, plain)
        if told:
            self._raw_many(_MARK_RESUMED_MESSAGE, told)

    def script_put(self, sha: str, text: str) -> None:
        """Store a script (the code an execution runs) unless it is there already; cached by
        sha, so only the first execution of a script per engine costs a statement."""
        if sha in self._scripts_known or sha in self._scripts_new:
            return
        self._raw(self._script_insert, {"sha": sha, "text": text, "created_at": time.time()})
        self._scripts_new.add(sha)
