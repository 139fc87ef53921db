"""The read side of the execution database, and session housekeeping. Safe to use from any
thread and from other processes (the CLI's ``executions``/``show``/``cancel``, the IDE)."""

from __future__ import annotations

import json
import socket
import time
from typing import Any, NamedTuple

import sqlalchemy as sa

from flow_api import _wire

from ..errors import UsageError
from ..lifeline import alive as process_alive
from . import migrate
from .database import create_engine
from .schema import engine_sessions, executions, journal, locks, logs, messages, scripts, settings, status_changes
from .writer import answer_message, message_record, upsert_setting

_ACTIVE = ("queued", "running", "paused")
STOPPED_MESSAGE = "engine stopped while running"
SESSION_STALE_S = 60.0
"""Another machine's engine session not seen for this long is taken as gone (its engine
refreshes ``engine_sessions.seen_at`` every ``runtime.engine`` ``_TOUCH_S``). Well past the
30 s after which Dask workers kill the flows of an engine that stopped answering
(``cluster.supervisor.ENGINE_SILENT_S``): an engine that was only stalled must not have its
executions resumed elsewhere while its own runs of them still go on."""
_SECRET_KEY = "$flowdesk_secret"  # vcs.secrets.REFERENCE_KEY (not imported: vcs pulls in git helpers)


class PruneReport(NamedTuple):
    """What ``Store.prune`` deleted (or, with ``dry_run``, would delete)."""

    executions: int  # execution rows deleted (replays included); journals_only: those whose journal went
    roots: int  # trees (root executions), replays included
    replays: int  # of ``roots``: replay trees
    journal_entries: int
    logs: int
    messages: int
    scripts: int  # stored scripts no execution refers to any more
    bytes: int  # about how much data went (the text of the deleted rows)
    dry_run: bool = False
    journals_only: bool = False


class Store:
    def __init__(self, url: str):
        self.url = url
        self.engine = create_engine(url)
        migrate.upgrade(self.engine)

    @property
    def dialect(self) -> str:
        return self.engine.dialect.name

    def close(self) -> None:
        self.engine.dispose()

    # -- executions ----------------------------------------------------------------------
    def execution(self, execution_id: int) -> dict | None:
        with self.engine.connect() as conn:
            row = conn.execute(sa.select(executions).where(executions.c.id == execution_id)).mappings().first()
        return _decode_row(row) if row else None

    def executions(self, *, limit: int = 50, roots_only: bool = False, status: str | None = None) -> list[dict]:
        query = sa.select(executions).order_by(executions.c.id.desc()).limit(limit)
        if roots_only:
            query = query.where(executions.c.parent_id.is_(None))
        if status:
            query = query.where(executions.c.status == status)
        with self.engine.connect() as conn:
            return [_decode_row(r) for r in conn.execute(query).mappings()]

    def logs(self, execution_id: int) -> list[dict]:
        with self.engine.connect() as conn:
            rows = conn.execute(sa.select(logs).where(logs.c.execution_id == execution_id).order_by(logs.c.id))
            return [_log_entry(r) for r in rows.mappings()]

    def messages(self, execution_id: int) -> list[dict]:
        with self.engine.connect() as conn:
            rows = conn.execute(sa.select(messages).where(messages.c.execution_id == execution_id).order_by(messages.c.id))
            return [_message_entry(r) for r in rows.mappings()]

    def tree(self, root_id: int) -> dict | None:
        """The execution ``root_id`` with its descendants, logs and messages, nested."""
        with self.engine.connect() as conn:
            root = conn.execute(sa.select(executions.c.root_id).where(executions.c.id == root_id)).first()
            if root is None:
                return None
            rows = conn.execute(sa.select(executions).where(executions.c.root_id == root[0]).order_by(executions.c.id)).mappings().all()
            ids = [r["id"] for r in rows]
            log_rows = conn.execute(sa.select(logs).where(logs.c.execution_id.in_(ids)).order_by(logs.c.id)).mappings().all()
            message_rows = conn.execute(sa.select(messages).where(messages.c.execution_id.in_(ids)).order_by(messages.c.id)).mappings().all()
        nodes = {r["id"]: _tree_node(r) for r in rows}
        for r in log_rows:
            nodes[r["execution_id"]]["logs"].append(_log_entry(r))
        for r in message_rows:
            nodes[r["execution_id"]]["messages"].append(_message_entry(r))
        for r in rows:
            if r["parent_id"] in nodes and r["id"] != root_id:
                nodes[r["parent_id"]]["children"].append(nodes[r["id"]])
        return nodes[root_id]

    def request_cancel(self, execution_id: int) -> str:
        """Ask whichever engine runs ``execution_id`` (and its children) to cancel it.

        Returns what happened: ``'requested'`` (its engine will cancel it), ``'cancelled'``
        (its engine is gone, so it is marked here), or ``'finished'`` (already ended)."""
        with self.engine.begin() as conn:
            row, alive = _owner(conn, execution_id)
            if row.status not in _ACTIVE:
                return "finished"
            if alive:
                conn.execute(executions.update().where(executions.c.id == execution_id).values(cancel_requested=True))
            else:
                _end_active(conn, executions.c.id == execution_id, "cancelled", "cancelled by user")
                return "cancelled"
        self._wake(row.engine_session_id)
        return "requested"

    def request_control(self, execution_id: int, action: str) -> str:
        """Ask the engine running ``execution_id`` to ``'pause'`` or ``'resume'`` it (the CLI).
        Returns ``'requested'``; raises LookupError / UsageError when that cannot be."""
        if action not in ("pause", "resume"):
            raise UsageError(f"unknown action {action!r}: use pause or resume")
        with self.engine.begin() as conn:
            row, alive = _owner(conn, execution_id)
            if row.status not in _ACTIVE:
                raise UsageError(f"execution #{execution_id} has already ended ({row.status}); nothing to {action}")
            if not alive:
                raise UsageError(f"the engine that ran execution #{execution_id} is gone; nothing can {action} it")
            conn.execute(executions.update().where(executions.c.id == execution_id).values(control_request=action))
        self._wake(row.engine_session_id)
        return "requested"

    # -- messages and forms ----------------------------------------------------------------
    def message(self, message_id: int) -> dict | None:
        """A message with its form, answer and state (see ``writer.message_record``)."""
        with self.engine.connect() as conn:
            row = conn.execute(sa.select(messages).where(messages.c.id == message_id)).mappings().first()
        return message_record(row) if row else None

    def forms(self, *, open_only: bool = True) -> list[dict]:
        """Forms, oldest first; only those still waiting for an answer with ``open_only``."""
        query = sa.select(messages).where(messages.c.form.is_not(None)).order_by(messages.c.id)
        if open_only:
            query = query.where(messages.c.state == "open")
        with self.engine.connect() as conn:
            return [message_record(r) for r in conn.execute(query).mappings()]

    def request_response(self, message_id: int, response: dict) -> dict:
        """Answer a form from another process (``flowdesk respond``): the answer is validated
        and stored here, and the engines on this database are woken to pass it on."""
        from .. import forms

        record = self.message(message_id)
        if record is None:
            raise LookupError(message_id)
        answer = forms.answer_for(message_id, record, response)
        with self.engine.begin() as conn:
            done = answer_message(conn, message_id, answer, time.time())
            paths = conn.execute(sa.select(engine_sessions.c.wake_path)).scalars().all()
        if not done:
            raise UsageError(f"the form #{message_id} was answered or closed meanwhile")
        for path in paths:
            _poke(path)
        return self.message(message_id)

    def _wake(self, session_id: int | None) -> None:
        with self.engine.connect() as conn:
            path = conn.execute(sa.select(engine_sessions.c.wake_path).where(engine_sessions.c.id == session_id)).scalar()
        _poke(path)

    # -- settings ------------------------------------------------------------------------
    def settings(self) -> dict[str, Any]:
        with self.engine.connect() as conn:
            return {r.name: _wire.decode(r.value) for r in conn.execute(sa.select(settings).order_by(settings.c.name))}

    def save_setting(self, name: str, value: Any) -> None:
        """Create or overwrite a setting (the IDE's settings editor; flows use their engine)."""
        if not name or not name.strip():
            raise UsageError("a setting needs a name")
        text = _wire.encode(value, f"value of setting {name!r}")
        with self.engine.begin() as conn:
            upsert_setting(conn, name, text)

    def delete_setting(self, name: str) -> None:
        with self.engine.begin() as conn:
            conn.execute(settings.delete().where(settings.c.name == name))

    # -- journals (durable executions) ----------------------------------------------------
    def journal(self, execution_id: int, *, references: bool = False) -> list[dict]:
        """``execution_id``'s journal by seq: one dict per flow API call with the columns of
        the ``journal`` table, ``args``/``result``/``ref`` decoded from JSON (``args`` cut at
        4 KB stays text when it no longer parses; bytes stay ``{"$b64": ...}``). A secret
        setting's value is shown as ``"<secret setting 'name'>"``, or kept as its reference
        object with ``references``."""
        with self.engine.connect() as conn:
            rows = conn.execute(sa.select(journal).where(journal.c.execution_id == execution_id)
                                .order_by(journal.c.seq)).mappings().all()
        entries = []
        for row in rows:
            entry = dict(row)
            entry["ok"] = None if entry["ok"] is None else bool(entry["ok"])
            for key in ("args", "result", "ref"):
                entry[key] = _json_or_text(entry[key])
            if not references:
                entry["args"] = _show_secrets(entry["args"])
                entry["result"] = _show_secrets(entry["result"])
            entries.append(entry)
        return entries

    def replays(self, execution_id: int) -> list[int]:
        """The executions that replay ``execution_id``, oldest first."""
        with self.engine.connect() as conn:
            return list(conn.execute(sa.select(executions.c.id).where(executions.c.replay_of == execution_id)
                                     .order_by(executions.c.id)).scalars())

    def script(self, sha: str) -> str | None:
        """The code stored under ``sha`` (``executions.script_sha``), None if there is none."""
        with self.engine.connect() as conn:
            return conn.execute(sa.select(scripts.c.text).where(scripts.c.sha == sha)).scalar()

    def prune(self, older_than_s: float, *, journals_only: bool = False, dry_run: bool = False,
              batch: int = 500, now: float | None = None) -> PruneReport:
        """Delete the trees whose root ended more than ``older_than_s`` seconds ago and of
        which no execution is still active, with the replays of them (and their logs, messages,
        status changes, journals), then the scripts nothing refers to any more. With
        ``journals_only`` only their journal entries go: the executions stay listable but can
        no longer be replayed or resumed. ``batch`` trees per transaction, so that an engine
        writing to the database meanwhile is never held up long."""
        cutoff = (time.time() if now is None else now) - older_than_s
        totals = dict(executions=0, roots=0, replays=0, journal_entries=0, logs=0, messages=0, scripts=0, bytes=0)
        after = 0
        pruned_refs: dict[str, int] = {}  # dry run: script sha -> executions of pruned trees naming it
        while True:
            with self.engine.begin() as conn:
                roots = _prunable_roots(conn, cutoff, journals_only, after, max(1, batch))
                if not roots:
                    break
                after = roots[-1][0]
                ids = [r for r, _ in roots]
                if dry_run and not journals_only:
                    for sha, n in conn.execute(sa.select(executions.c.script_sha, sa.func.count()).where(
                            executions.c.root_id.in_(ids), executions.c.script_sha.is_not(None))
                            .group_by(executions.c.script_sha)).all():
                        pruned_refs[sha] = pruned_refs.get(sha, 0) + n
                counts = _prune_batch(conn, ids, journals_only, dry_run)
            totals["roots"] += len(roots)
            totals["replays"] += sum(1 for _, replay_of in roots if replay_of is not None)
            for key, value in counts.items():
                totals[key] += value
        if not journals_only:
            with self.engine.begin() as conn:
                refs = dict(conn.execute(sa.select(executions.c.script_sha, sa.func.count()).where(
                    executions.c.script_sha.is_not(None)).group_by(executions.c.script_sha)).all())
                old = dict(conn.execute(sa.select(scripts.c.sha, sa.func.length(scripts.c.text))
                                        .where(scripts.c.created_at < cutoff)).all())
                # Unused after the prune: no execution left names it (a dry run counts what would be left).
                unused = sorted(sha for sha in old if refs.get(sha, 0) == (pruned_refs.get(sha, 0) if dry_run else 0))
                totals["scripts"] = len(unused)
                totals["bytes"] += sum(int(old[sha] or 0) for sha in unused)
                if not dry_run:
                    named = sa.select(executions.c.script_sha).where(executions.c.script_sha.is_not(None))
                    for i in range(0, len(unused), 500):  # unless an engine started one of them meanwhile
                        conn.execute(scripts.delete().where(scripts.c.sha.in_(unused[i:i + 500]),
                                                            scripts.c.sha.not_in(named)))
        return PruneReport(**totals, dry_run=dry_run, journals_only=journals_only)

    def vacuum(self) -> None:
        """Give the space of deleted rows back to the file system (SQLite ``VACUUM``; PostgreSQL's
        autovacuum reuses it on its own, so nothing is done there)."""
        if self.dialect != "sqlite":
            return
        with self.engine.connect() as conn:
            conn = conn.execution_options(isolation_level="AUTOCOMMIT")
            conn.exec_driver_sql("VACUUM")

    # -- engine sessions -----------------------------------------------------------------
    def dead_sessions(self, now: float | None = None) -> list[int]:
        """The registered engine sessions whose engine is gone: on this host, its process no
        longer alive; on another host (a shared PostgreSQL), not seen (``seen_at``, which a
        running engine refreshes every few seconds, or ``started_at`` before its first
        refresh) for :data:`SESSION_STALE_S` seconds. Hosts' clocks are assumed to agree to
        within a few seconds (NTP)."""
        host = socket.gethostname()
        stale_before = (time.time() if now is None else now) - SESSION_STALE_S
        with self.engine.connect() as conn:
            sessions = conn.execute(sa.select(engine_sessions.c.id, engine_sessions.c.pid, engine_sessions.c.host,
                                              engine_sessions.c.started_at, engine_sessions.c.seen_at)
                                    .order_by(engine_sessions.c.id)).all()
        return [s.id for s in sessions
                if (not process_alive(s.pid) if s.host == host else _unseen(s, stale_before))]

    def reap_dead_sessions(self) -> int:
        """Mark executions of engines that are no longer running as ``error`` ("engine stopped
        while running"). Returns how many executions that ended."""
        dead = self.dead_sessions()
        ended = 0
        with self.engine.begin() as conn:
            for session_id in dead:
                ended += _end_active(conn, executions.c.engine_session_id == session_id, "error", STOPPED_MESSAGE)
                conn.execute(locks.delete().where(locks.c.session_id == session_id))
                conn.execute(engine_sessions.delete().where(engine_sessions.c.id == session_id))
            # Rows without a session (a session row lost with a crash before its first commit).
            live_sessions = sa.select(engine_sessions.c.id)
            ended += _end_active(conn, sa.or_(executions.c.engine_session_id.is_(None),
                                              executions.c.engine_session_id.not_in(live_sessions)),
                                 "error", STOPPED_MESSAGE)
        return ended


def _owner(conn, execution_id: int):
    """The execution's status row and whether the engine session running it is registered
    (and, on another machine, was seen within :data:`SESSION_STALE_S`); LookupError when
    there is no such execution."""
    row = conn.execute(sa.select(executions.c.status, executions.c.engine_session_id)
                       .where(executions.c.id == execution_id)).first()
    if row is None:
        raise LookupError(execution_id)
    session = conn.execute(sa.select(engine_sessions.c.host, engine_sessions.c.started_at, engine_sessions.c.seen_at)
                           .where(engine_sessions.c.id == row.engine_session_id)).first()
    if session is None:
        return row, False
    stale = session.host != socket.gethostname() and _unseen(session, time.time() - SESSION_STALE_S)
    return row, not stale


def _unseen(session, stale_before: float) -> bool:
    """An engine session (``seen_at``, ``started_at``) not seen since ``stale_before``: its
    last refresh, or its start before the first one."""
    return (session.seen_at or session.started_at) < stale_before


def _end_active(conn, where, status: str, message: str) -> int:
    now = time.time()
    ids = conn.execute(sa.select(executions.c.id).where(where, executions.c.status.in_(_ACTIVE))).scalars().all()
    if ids:
        conn.execute(executions.update().where(executions.c.id.in_(ids))
                     .values(status=status, message=message, ended_at=now, cancel_requested=False))
        conn.execute(status_changes.insert(), [{"execution_id": i, "status": status, "at": now} for i in ids])
    return len(ids)


def _prunable_roots(conn, cutoff: float, journals_only: bool, after: int, limit: int) -> list[tuple[int, int | None]]:
    """Up to ``limit`` (root id, replay_of) of trees to prune, by id after ``after``: the root
    ended before ``cutoff`` and nothing in the tree is active; or a replay tree (nothing
    active) of an execution in such a tree, or of one already pruned, whatever its age. With
    ``journals_only``, only trees that still have journal entries."""
    e, d, o, x = (executions.alias(n) for n in ("e", "d", "o", "x"))
    terminal = sa.and_(e.c.parent_id.is_(None), e.c.status.not_in(_ACTIVE),
                       ~sa.exists().where(d.c.root_id == e.c.id, d.c.status.in_(_ACTIVE)))
    old_roots = sa.select(o.c.id).where(o.c.parent_id.is_(None), o.c.ended_at < cutoff, o.c.status.not_in(_ACTIVE),
                                        ~sa.exists().where(d.c.root_id == o.c.id, d.c.status.in_(_ACTIVE)))
    replay = sa.and_(e.c.replay_of.is_not(None), sa.or_(
        e.c.replay_of.in_(sa.select(x.c.id).where(x.c.root_id.in_(old_roots))),
        ~sa.exists().where(x.c.id == e.c.replay_of)))
    query = sa.select(e.c.id, e.c.replay_of).where(terminal, e.c.id > after, sa.or_(e.c.ended_at < cutoff, replay))
    if journals_only:
        j = executions.alias("j")
        query = query.where(sa.exists().where(journal.c.execution_id == j.c.id, j.c.root_id == e.c.id))
    return [(r[0], r[1]) for r in conn.execute(query.order_by(e.c.id).limit(limit)).all()]


def _prune_batch(conn, roots: list[int], journals_only: bool, dry_run: bool) -> dict[str, int]:
    ids = sa.select(executions.c.id).where(executions.c.root_id.in_(roots)).scalar_subquery()
    length = sa.func.length
    tables = [(journal, (journal.c.args, journal.c.result, journal.c.ref), "journal_entries")]
    if not journals_only:
        tables += [(logs, (logs.c.text, logs.c.fields), "logs"),
                   (messages, (messages.c.subject, messages.c.message, messages.c.form, messages.c.response),
                    "messages"),
                   (status_changes, (), None)]
    counts = dict(executions=0, journal_entries=0, logs=0, messages=0, bytes=0)
    if journals_only:  # the executions whose journals go (they stay themselves)
        counts["executions"] = conn.execute(sa.select(sa.func.count(sa.distinct(journal.c.execution_id)))
                                            .where(journal.c.execution_id.in_(ids))).scalar()
    for table, texts, key in tables:
        size = sum((sa.func.coalesce(length(c), 0) for c in texts), sa.literal(0))
        found = conn.execute(sa.select(sa.func.count(), sa.func.coalesce(sa.func.sum(size), 0))
                             .where(table.c.execution_id.in_(ids))).one()
        if key:
            counts[key] = found[0]
        counts["bytes"] += int(found[1] or 0)
        if not dry_run and found[0]:
            conn.execute(table.delete().where(table.c.execution_id.in_(ids)))
    if not journals_only:
        c = executions.c
        size = sum((sa.func.coalesce(length(x), 0) for x in (c.inputs, c.outputs, c.message, c.traceback)),
                   sa.literal(0))
        found = conn.execute(sa.select(sa.func.count(), sa.func.coalesce(sa.func.sum(size), 0))
                             .where(c.root_id.in_(roots))).one()
        counts["executions"], counts["bytes"] = found[0], counts["bytes"] + int(found[1] or 0)
        if not dry_run:
            # Children first: their parent_id points into the same rows (SQLite checks that).
            conn.execute(executions.delete().where(c.root_id.in_(roots), c.parent_id.is_not(None)))
            conn.execute(executions.delete().where(c.root_id.in_(roots)))
    return counts


def _json_or_text(text: str | None):
    if text is None:
        return None
    try:
        return json.loads(text)
    except ValueError:
        return text


def _show_secrets(value):
    """Secret references (``{"$flowdesk_secret": {"key": "<workspace>/<setting>", ...}}``)
    as ``"<secret setting 'setting'>"``."""
    if isinstance(value, dict):
        if _SECRET_KEY in value and len(value) == 1 and isinstance(value[_SECRET_KEY], dict):
            ref = value[_SECRET_KEY]
            name = ref.get("setting") or str(ref.get("key", "?")).split("/", 1)[-1]
            return f"<secret setting {name!r}>"
        return {k: _show_secrets(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_show_secrets(v) for v in value]
    return value


def _decode_row(row) -> dict:
    data = dict(row)
    data["inputs"] = _wire.decode(data["inputs"])
    data["outputs"] = _wire.decode(data["outputs"])
    return data


def _tree_node(row) -> dict:
    return {
        "id": row["id"],
        "flow": row["flow"],
        "name": row["name"],
        "kind": row["kind"],
        "status": row["status"],
        "inputs": _plain_json(row["inputs"]),
        "outputs": _plain_json(row["outputs"]),
        "message": row["message"],
        "started_at": row["started_at"],
        "ended_at": row["ended_at"],
        "durable": bool(row["durable"]),
        "replay_of": row["replay_of"],
        "resumed_at": row["resumed_at"],
        "lost_s": row["lost_s"],
        "attempt": row["attempt"],
        "worker_host": row["worker_host"],
        "worker_address": row["worker_address"],
        "logs": [],
        "messages": [],
        "children": [],
    }


def _plain_json(text: str):
    # Resource markers stay as they are: the JSON tree is data, not live objects.
    return json.loads(text) if text else None


def _log_entry(row) -> dict:
    return {"at": row["at"], "level": row["level"], "text": row["text"],
            "fields": json.loads(row["fields"]) if row["fields"] else None}


def _message_entry(row) -> dict:
    entry = {"at": row["at"], "subject": row["subject"], "message": row["message"]}
    if row["form"] is not None:
        record = message_record(row)
        entry.update(id=record["id"], form=record["form"], response=record["response"], state=record["state"])
    return entry


def _poke(path: str | None) -> None:
    from ..wake import poke

    poke(path)
