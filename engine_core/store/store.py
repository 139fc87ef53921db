"""The read side of the execution database, and session housekeeping. Safe to use from any
thread and from other processes (the CLI's ``executions``/``show``/``cancel``, the IDE)."""

from __future__ import annotations

import json
import socket
import time
from typing import Any

import sqlalchemy as sa

from flow_api import _wire

from ..errors import UsageError
from ..lifeline import alive as process_alive
from . import migrate
from .database import create_engine
from .schema import engine_sessions, executions, locks, logs, messages, settings, status_changes
from .writer import answer_message, message_record, upsert_setting

_ACTIVE = ("queued", "running", "paused")
STOPPED_MESSAGE = "engine stopped while running"


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

    # -- engine sessions -----------------------------------------------------------------
    def reap_dead_sessions(self) -> int:
        """Mark executions of engines that are no longer running as ``error`` ("engine stopped
        while running"). Returns how many executions that ended."""
        host = socket.gethostname()
        ended = 0
        with self.engine.begin() as conn:
            for session in conn.execute(sa.select(engine_sessions)).all():
                if session.host == host and process_alive(session.pid):
                    continue
                if session.host != host:
                    continue  # another machine's engine (shared PostgreSQL): not ours to judge
                ended += _end_active(conn, executions.c.engine_session_id == session.id, "error", STOPPED_MESSAGE)
                conn.execute(locks.delete().where(locks.c.session_id == session.id))
                conn.execute(engine_sessions.delete().where(engine_sessions.c.id == session.id))
            # Rows without a session (a session row lost with a crash before its first commit).
            live_sessions = sa.select(engine_sessions.c.id)
            ended += _end_active(conn, sa.or_(executions.c.engine_session_id.is_(None),
                                              executions.c.engine_session_id.not_in(live_sessions)),
                                 "error", STOPPED_MESSAGE)
        return ended


def _owner(conn, execution_id: int):
    """The execution's status row and whether the engine session running it is registered;
    LookupError when there is no such execution."""
    row = conn.execute(sa.select(executions.c.status, executions.c.engine_session_id)
                       .where(executions.c.id == execution_id)).first()
    if row is None:
        raise LookupError(execution_id)
    alive = conn.execute(sa.select(engine_sessions.c.id).where(engine_sessions.c.id == row.engine_session_id)).first()
    return row, alive is not None


def _end_active(conn, where, status: str, message: str) -> int:
    now = time.time()
    ids = conn.execute(sa.select(executions.c.id).where(where, executions.c.status.in_(_ACTIVE))).scalars().all()
    if ids:
        conn.execute(executions.update().where(executions.c.id.in_(ids))
                     .values(status=status, message=message, ended_at=now, cancel_requested=False))
        conn.execute(status_changes.insert(), [{"execution_id": i, "status": status, "at": now} for i in ids])
    return len(ids)


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
