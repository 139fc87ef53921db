"""Writes made by the engine's dispatcher: one connection, one thread, one transaction per
round of work, committed before anything is shown (group commit)."""

from __future__ import annotations

import json
import operator
import time

import sqlalchemy as sa

from .cluster_writes import ClusterWrites
from .durable_writes import _SAVE_EXECUTION, SUSPENDED_LOCK_SESSION, DurableWrites, _chunks
from .schema import engine_sessions, executions, locks, logs, messages, scripts, settings, status_changes

# The statements of the hot paths, built once: building a SQLAlchemy statement costs ~130 us,
# three times what executing it costs, and the dispatcher runs several per flow API call.
# Those marked "raw" below run through :class:`_Compiled` instead of ``Connection.execute``.
_p = sa.bindparam
_ID = executions.c.id == _p("_id")
_EXECUTION_COLUMNS = ("flow", "name", "kind", "mode", "inputs", "outputs", "status", "parent_id", "root_id",
                      "created_at", "engine_session_id", "durable", "replay_of", "script_sha")
_INSERT_EXECUTION = executions.insert().values({c: _p(c) for c in _EXECUTION_COLUMNS}).returning(executions.c.id)
_SET_ROOT = executions.update().where(_ID).values(root_id=_p("_root"))
_INSERT_STATUS = status_changes.insert().values(execution_id=_p("execution_id"), status=_p("status"), at=_p("at"))
_SET_STATUS = {
    (False, False): executions.update().where(_ID).values(status=_p("_status")),
    (True, False): executions.update().where(_ID).values(status=_p("_status"), started_at=_p("_at")),
    (False, True): executions.update().where(_ID).values(status=_p("_status"), ended_at=_p("_at"),
                                                          message=_p("_message"), traceback=_p("_tb")),
    (True, True): executions.update().where(_ID).values(status=_p("_status"), started_at=_p("_at"), ended_at=_p("_at"),
                                                         message=_p("_message"), traceback=_p("_tb")),
}
_SET_OUTPUTS = executions.update().where(_ID).values(outputs=_p("_outputs"))
_INSERT_LOG = logs.insert().values(execution_id=_p("execution_id"), at=_p("at"), level=_p("level"),
                                   text=_p("text"), fields=_p("fields"), after_seq=_p("after_seq"))
_EXECUTION = sa.select(executions).where(_ID)
_SETTING = sa.select(settings.c.value).where(settings.c.name == _p("_name"))
_UPDATE_SETTING = settings.update().where(settings.c.name == _p("_name")).values(value=_p("_value"),
                                                                                 updated_at=_p("_at"))
_INSERT_SETTING = settings.insert().values(name=_p("name"), value=_p("value"), updated_at=_p("updated_at"))
_DELETE_LOCK = locks.delete().where(locks.c.name == _p("_name"))
_MESSAGE = sa.select(messages).where(messages.c.id == _p("_id"))

def _insert_lock(dialect_name: str):
    if dialect_name == "postgresql":
        from sqlalchemy.dialects.postgresql import insert
    else:
        from sqlalchemy.dialects.sqlite import insert
    # RETURNING says whether the row went in: with psycopg the rowcount of this insert is not
    # 1 even when it does.
    return insert(locks).values(name=_p("name"), execution_id=_p("execution_id"), session_id=_p("session_id"),
                                acquired_at=_p("acquired_at")).on_conflict_do_nothing(
        index_elements=["name"]).returning(locks.c.name)


def _insert_if_absent(table, dialect_name: str, key: str):
    if dialect_name == "postgresql":
        from sqlalchemy.dialects.postgresql import insert
    else:
        from sqlalchemy.dialects.sqlite import insert
    return insert(table).values({c.name: _p(c.name) for c in table.c}).on_conflict_do_nothing(index_elements=[key])


class _Compiled:
    """A hot statement compiled once for the connection's dialect and run on the DB-API cursor.

    ``Connection.execute`` costs ~35 us on top of the ~7 us SQLite takes to run one of these,
    and the dispatcher runs three or four per flow API call while every waiting execution
    waits for it. Values go through the column types' bind processors as SQLAlchemy would."""

    __slots__ = ("sql", "_names", "_positional", "_processors", "positional_getter", "_getters")

    def __init__(self, statement, dialect):
        compiled = statement.compile(dialect=dialect)
        self.sql = compiled.string
        self._positional = compiled.positional
        self._names = tuple(compiled.positiontup) if compiled.positional else tuple(compiled.binds)
        self._processors = tuple((name, proc) for name, bind in compiled.binds.items()
                                 if (proc := bind.type.bind_processor(dialect)) is not None)
        # SQLite's driver takes Python floats and bools as they are, so statements whose only
        # conversions are those get their rows as tuples from one C-level itemgetter.
        self.positional_getter = None
        if self._positional and len(self._names) > 1 and all(
                isinstance(compiled.binds[name].type, (sa.Float, sa.Boolean)) for name, _ in self._processors):
            self.positional_getter = operator.itemgetter(*self._names)
        self._getters: dict[int, operator.itemgetter] = {}

    def getter(self, keys: dict[str, str]) -> operator.itemgetter:
        """:attr:`positional_getter` for rows keyed by ``keys[name]`` instead of ``name``."""
        getter = self._getters.get(id(keys))
        if getter is None:
            getter = self._getters[id(keys)] = operator.itemgetter(*[keys[name] for name in self._names])
        return getter

    def parameters(self, values: dict):
        if self._processors:
            values = dict(values)
            for name, proc in self._processors:
                values[name] = proc(values[name])
        if self._positional:
            return tuple([values[name] for name in self._names])
        return values


class Writer(DurableWrites, ClusterWrites):
    def __init__(self, engine: sa.Engine):
        self._conn = engine.connect()
        self._dirty = False
        self._compiled: dict[object, _Compiled] = {}
        self._lock_insert = _insert_lock(self._conn.dialect.name)
        self._cursor = None
        self._cursor_of = None  # the DB-API connection ``_cursor`` belongs to
        self._script_insert = _insert_if_absent(scripts, self._conn.dialect.name, "sha")
        self._scripts_known: set[str] = set()  # shas stored (committed) by this writer
        self._scripts_new: set[str] = set()  # shas inserted in the open transaction

    def commit(self) -> None:
        if self._dirty:
            if self._conn.in_transaction():
                self._conn.commit()  # the DB-API commit under it takes the hot statements along
            else:  # only hot statements ran (see _raw): SQLAlchemy has no transaction to end
                self._conn.connection.dbapi_connection.commit()
            self._dirty = False
        if self._scripts_new:
            self._scripts_known |= self._scripts_new
            self._scripts_new.clear()

    def rollback(self) -> None:
        if self._conn.in_transaction():
            self._conn.rollback()
        else:
            self._conn.connection.dbapi_connection.rollback()
        self._dirty = False
        self._scripts_new.clear()

    def close(self) -> None:
        self._conn.close()

    def _exec(self, statement, params=None):
        self._dirty = True
        return self._conn.execute(statement, params) if params is not None else self._conn.execute(statement)

    def _raw(self, statement, params: dict, *, write: bool = True):
        """Run a hot statement on the DB-API cursor, in the driver's transaction (which
        :meth:`commit` and :meth:`rollback` end, with or without SQLAlchemy's); the cursor,
        for its rows. Beginning and ending SQLAlchemy's transaction costs ~10 us a round."""
        compiled = self._compiled.get(statement)
        if compiled is None:
            compiled = self._compiled[statement] = _Compiled(statement, self._conn.dialect)
        dbapi = self._conn.connection.dbapi_connection
        if dbapi is not self._cursor_of:  # first use, or the pool replaced the connection
            self._cursor, self._cursor_of = dbapi.cursor(), dbapi
        if write:
            self._dirty = True
        self._cursor.execute(compiled.sql, compiled.parameters(params))
        return self._cursor

    def _raw_many(self, statement, rows: list[dict], keys: dict[str, str] | None = None) -> None:
        """:meth:`_raw` for many rows: one ``executemany``, in the driver's transaction like
        :meth:`_raw` (no SQLAlchemy transaction: :meth:`commit` then commits the DB-API
        connection itself). ``keys``: the rows' key of each of the statement's parameter names
        (rows keyed otherwise than the statement's parameters need no copy then)."""
        compiled = self._compiled.get(statement)
        if compiled is None:
            compiled = self._compiled[statement] = _Compiled(statement, self._conn.dialect)
        dbapi = self._conn.connection.dbapi_connection
        if dbapi is not self._cursor_of:
            self._cursor, self._cursor_of = dbapi.cursor(), dbapi
        self._dirty = True
        if compiled.positional_getter is not None:  # no conversions needed: straight to tuples
            get = compiled.positional_getter if keys is None else compiled.getter(keys)
            self._cursor.executemany(compiled.sql, [get(row) for row in rows])
        else:
            parameters = compiled.parameters
            if keys is not None:
                rows = [{name: row[key] for name, key in keys.items()} for row in rows]
            self._cursor.executemany(compiled.sql, [parameters(row) for row in rows])

    # -- executions ----------------------------------------------------------------------
    def create_execution(self, *, flow: str, name: str, kind: str, mode: str, inputs: str,
                         parent_id: int | None, root_id: int | None, session_id: int, at: float,
                         durable: bool = False, replay_of: int | None = None,
                         script_sha: str | None = None) -> int:
        """A new ``queued`` row. ``durable``: journaled and resumed after a dead engine;
        ``replay_of``: the execution this one replays; ``script_sha``: the code it runs (see
        :meth:`script_put`)."""
        execution_id = self._raw(_INSERT_EXECUTION, dict(
            flow=flow, name=name, kind=kind, mode=mode, inputs=inputs, outputs="{}",
            status="queued", parent_id=parent_id, root_id=root_id, created_at=at,
            engine_session_id=session_id, durable=durable, replay_of=replay_of, script_sha=script_sha,
        )).fetchone()[0]
        if root_id is None:  # a root is its own root; known only once the row has an id
            self._raw(_SET_ROOT, {"_id": execution_id, "_root": execution_id})
        self._raw(_INSERT_STATUS, {"execution_id": execution_id, "status": "queued", "at": at})
        return execution_id

    def set_status(self, execution_id: int, status: str, at: float, *, message: str | None = None,
                   traceback: str | None = None, started: bool = False, ended: bool = False) -> None:
        params = {"_id": execution_id, "_status": status}
        if started or ended:
            params["_at"] = at
        if ended:
            params.update(_message=message, _tb=traceback)
        self._raw(_SET_STATUS[(started, ended)], params)
        self._raw(_INSERT_STATUS, {"execution_id": execution_id, "status": status, "at": at})

    def set_outputs(self, execution_id: int, outputs: str) -> None:
        self._raw(_SET_OUTPUTS, {"_id": execution_id, "_outputs": outputs})

    def append_log(self, execution_id: int, at: float, level: str, text: str, fields: str | None,
                   after_seq: int | None = None) -> None:
        """``after_seq``: the seq of the execution's last journaled call before this line."""
        self._raw(_INSERT_LOG, {"execution_id": execution_id, "at": at, "level": level, "text": text,
                                "fields": fields, "after_seq": after_seq})

    def append_message(self, execution_id: int, at: float, subject: str, message: str,
                       form: str | None = None) -> int:
        result = self._exec(messages.insert().values(
            execution_id=execution_id, at=at, subject=subject, message=message, form=form,
            state="open" if form is not None else None,
        ))
        return result.inserted_primary_key[0]

    def message(self, message_id: int) -> dict | None:
        row = self._conn.execute(_MESSAGE, {"_id": message_id}).mappings().first()
        return message_record(row) if row else None

    def answer_message(self, message_id: int, response: dict, at: float) -> None:
        self._dirty = True
        answer_message(self._conn, message_id, response, at)

    def messages_answered(self, message_ids: list[int]) -> list[dict]:
        rows = self._conn.execute(sa.select(messages).where(messages.c.id.in_(message_ids),
                                                            messages.c.state == "answered")).mappings()
        return [message_record(r) for r in rows]

    def cancel_open_forms(self, execution_id: int, at: float) -> list[int]:
        ids = self._conn.execute(sa.select(messages.c.id).where(messages.c.execution_id == execution_id,
                                                                messages.c.state == "open")).scalars().all()
        if ids:
            self._exec(messages.update().where(messages.c.id.in_(ids)).values(state="cancelled", answered_at=at))
        return list(ids)

    def save_execution(self, execution_id: int, *, name: str | None, message: str | None) -> None:
        statement = _SAVE_EXECUTION.get((name is not None, message is not None))
        if statement is not None:
            self._raw(statement, {"_id": execution_id, "_name": name, "_message": message})

    def cancel_requests(self, session_id: int) -> list[int]:
        rows = self._conn.execute(sa.select(executions.c.id).where(
            executions.c.engine_session_id == session_id,
            executions.c.cancel_requested.is_(True),
            executions.c.status.in_(("queued", "running", "paused")),
        )).scalars().all()
        if rows:
            self._exec(executions.update().where(executions.c.id.in_(rows)).values(cancel_requested=False))
        return list(rows)

    def control_requests(self, session_id: int) -> list[tuple[int, str]]:
        """Pause/resume requests written by another process for this engine's executions."""
        rows = self._conn.execute(sa.select(executions.c.id, executions.c.control_request).where(
            executions.c.engine_session_id == session_id,
            executions.c.control_request.is_not(None),
        )).all()
        if rows:
            self._exec(executions.update().where(executions.c.id.in_([r[0] for r in rows])).values(control_request=None))
        return [(r[0], r[1]) for r in rows]

    # -- locks ---------------------------------------------------------------------------
    def lock_insert(self, name: str, execution_id: int, session_id: int, at: float) -> bool:
        """Take the lock row unless another holds it (another engine on the same database)."""
        params = {"name": name, "execution_id": execution_id, "session_id": session_id, "acquired_at": at}
        return self._raw(self._lock_insert, params).fetchone() is not None

    def lock_delete(self, name: str) -> None:
        self._raw(_DELETE_LOCK, {"_name": name})

    # -- settings ------------------------------------------------------------------------
    def setting_names(self) -> list[str]:
        return list(self._conn.execute(sa.select(settings.c.name).order_by(settings.c.name)).scalars())

    def setting_get(self, name: str) -> tuple[bool, str | None]:
        row = self._raw(_SETTING, {"_name": name}, write=False).fetchone()
        return (row is not None, row[0] if row else None)

    def setting_save(self, name: str, value: str) -> None:
        # As upsert_setting, on the fast path.
        now = time.time()
        if self._raw(_UPDATE_SETTING, {"_name": name, "_value": value, "_at": now}).rowcount == 0:
            self._raw(_INSERT_SETTING, {"name": name, "value": value, "updated_at": now})

    def setting_delete(self, name: str) -> None:
        self._exec(settings.delete().where(settings.c.name == name))

    def execution_fields(self, execution_id: int) -> dict | None:
        row = self._conn.execute(_EXECUTION, {"_id": execution_id}).mappings().first()
        return dict(row) if row else None

    # -- journal (durable executions) -----------------------------------------------------

    # -- engine sessions -----------------------------------------------------------------
    def open_session(self, pid: int, host: str, wake_path: str | None = None) -> int:
        result = self._exec(engine_sessions.insert().values(pid=pid, host=host, started_at=time.time(),
                                                            wake_path=wake_path))
        return result.inserted_primary_key[0]

    def close_session(self, session_id: int, keep_locks_of=()) -> None:
        """Remove the session and its locks, except those held by ``keep_locks_of`` (suspended
        durable executions): they get ``session_id`` :data:`SUSPENDED_LOCK_SESSION` and the
        next engine adopts them."""
        keep = list(keep_locks_of)
        for chunk in _chunks(keep):
            self._exec(locks.update().where(locks.c.session_id == session_id, locks.c.execution_id.in_(chunk))
                       .values(session_id=SUSPENDED_LOCK_SESSION))
        self._exec(locks.delete().where(locks.c.session_id == session_id))
        self._exec(engine_sessions.delete().where(engine_sessions.c.id == session_id))


def upsert_setting(conn, name: str, value: str) -> None:
    """Create or overwrite a setting (JSON text) on ``conn``: the dispatcher's writes and the
    IDE's settings editor share it. Portable across SQLite and PostgreSQL."""
    now = time.time()
    if conn.execute(_UPDATE_SETTING, {"_name": name, "_value": value, "_at": now}).rowcount == 0:
        conn.execute(_INSERT_SETTING, {"name": name, "value": value, "updated_at": now})


def answer_message(conn, message_id: int, response: dict, at: float) -> bool:
    """Store the answer to form ``message_id`` if it is still open; False if it was not (the
    dispatcher's Engine.respond and another process's ``flowdesk respond`` share it)."""
    return conn.execute(messages.update().where(messages.c.id == message_id, messages.c.state == "open").values(
        response=json.dumps(response, separators=(",", ":"), ensure_ascii=False), state="answered",
        answered_at=at)).rowcount == 1


def message_record(row) -> dict:
    """A message row as the flow API and the IDE see it (form and response decoded)."""
    return {
        "id": row["id"], "execution_id": row["execution_id"], "subject": row["subject"],
        "message": row["message"], "form": json.loads(row["form"]) if row["form"] else None,
        "response": json.loads(row["response"]) if row["response"] else None, "state": row["state"],
        "at": row["at"], "answered_at": row["answered_at"],
    }
