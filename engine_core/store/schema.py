"""The tables, as SQLAlchemy Core metadata. Times are UNIX seconds (float) so that SQLite
and PostgreSQL store and compare them the same way. JSON is stored as text written by
``flow_api._wire`` (resources travel as markers)."""

from sqlalchemy import Boolean, Column, Float, ForeignKey, Index, Integer, MetaData, PrimaryKeyConstraint, String, Table, Text

metadata = MetaData()

executions = Table(
    "executions",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("parent_id", Integer, ForeignKey("executions.id", ondelete="CASCADE"), nullable=True),
    Column("root_id", Integer, nullable=True),
    Column("flow", String(255), nullable=False),
    Column("name", String(255), nullable=False),
    Column("kind", String(16), nullable=False, server_default="flow"),  # flow | connection
    Column("mode", String(16), nullable=False, server_default="productive"),
    Column("status", String(16), nullable=False),
    Column("inputs", Text, nullable=False, server_default="{}"),
    Column("outputs", Text, nullable=False, server_default="{}"),
    Column("message", Text, nullable=True),
    Column("traceback", Text, nullable=True),
    Column("created_at", Float, nullable=False),
    Column("started_at", Float, nullable=True),
    Column("ended_at", Float, nullable=True),
    Column("engine_session_id", Integer, nullable=True),
    Column("cancel_requested", Boolean, nullable=False, server_default="0"),
    Column("control_request", String(16), nullable=True),  # 'pause' | 'resume' from another process
    # Durable executions (revision 0003): journaled and resumed after a dead engine; a replay
    # names the execution it replays; resumes add up the time lost; the code it ran (scripts).
    Column("durable", Boolean, nullable=False, server_default="0"),
    Column("replay_of", Integer, nullable=True),
    Column("resumed_at", Float, nullable=True),
    Column("lost_s", Float, nullable=True),
    Column("script_sha", String(64), nullable=True),
    # Cluster runs (revision 0004): each run of the execution claims it once by raising
    # ``attempt`` (a Dask task may run twice; only one claim wins), and says where it runs.
    Column("attempt", Integer, nullable=False, server_default="0"),
    Column("worker_host", String(255), nullable=True),
    Column("worker_address", String(255), nullable=True),
    Index("ix_executions_parent_id", "parent_id"),
    Index("ix_executions_root_id", "root_id"),
    Index("ix_executions_status", "status"),
    Index("ix_executions_replay_of", "replay_of"),
    Index("ix_executions_ended_at", "ended_at"),
)

status_changes = Table(
    "status_changes",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("execution_id", Integer, ForeignKey("executions.id", ondelete="CASCADE"), nullable=False),
    Column("status", String(16), nullable=False),
    Column("at", Float, nullable=False),
    Index("ix_status_changes_execution_id", "execution_id"),
)

logs = Table(
    "logs",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("execution_id", Integer, ForeignKey("executions.id", ondelete="CASCADE"), nullable=False),
    Column("at", Float, nullable=False),
    Column("level", String(16), nullable=False),
    Column("text", Text, nullable=False),
    Column("fields", Text, nullable=True),
    # The seq of the execution's last journaled call before this line: a resumed execution
    # skips the lines it already stored.
    Column("after_seq", Integer, nullable=True),
    Index("ix_logs_execution_id", "execution_id"),
)

messages = Table(
    "messages",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("execution_id", Integer, ForeignKey("executions.id", ondelete="CASCADE"), nullable=False),
    Column("at", Float, nullable=False),
    Column("subject", Text, nullable=False),
    Column("message", Text, nullable=False),
    # A form (flow_api: this.message(subject, body=FORM)): its JSON, the answer, and
    # state 'open' | 'answered' | 'cancelled'; all NULL for a plain message.
    Column("form", Text, nullable=True),
    Column("response", Text, nullable=True),
    Column("state", String(16), nullable=True),
    Column("answered_at", Float, nullable=True),
    Index("ix_messages_execution_id", "execution_id"),
    Index("ix_messages_state", "state"),
)

locks = Table(
    "locks",
    metadata,
    # setting.acquire(): one row per held lock; the holder's engine session lets another
    # engine on the same database see it, and reaping a dead session frees its locks.
    Column("name", String(255), primary_key=True),
    Column("execution_id", Integer, nullable=False),
    Column("session_id", Integer, nullable=False),
    Column("acquired_at", Float, nullable=False),
)

settings = Table(
    "settings",
    metadata,
    Column("name", String(255), primary_key=True),
    Column("value", Text, nullable=True),
    Column("updated_at", Float, nullable=False),
)

engine_sessions = Table(
    "engine_sessions",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("pid", Integer, nullable=False),
    Column("host", String(255), nullable=False),
    Column("started_at", Float, nullable=False),
    Column("wake_path", Text, nullable=True),  # a datagram socket that wakes its dispatcher
    # Refreshed every few seconds by the running engine (revision 0004): an engine on another
    # machine cannot check the pid, so a session not seen for a while is taken as gone.
    Column("seen_at", Float, nullable=True),
    # Ids are never reused (revision 0003): executions suspended by a clean shutdown still name
    # their closed session, and must not look like the next engine's own.
    sqlite_autoincrement=True,
)

journal = Table(
    "journal",
    metadata,
    # One row per flow API call of a durable execution (its savepoints), written in the
    # transaction that makes the call's state change; the primary key is the only index needed
    # (loads and prunes are per execution).
    Column("execution_id", Integer, ForeignKey("executions.id", ondelete="CASCADE"), nullable=False),
    Column("seq", Integer, nullable=False),  # 1, 2, 3... per execution, from the worker's channel
    Column("op", String(32), nullable=False),  # the wire op: start_flow, setting_get, sleep...
    Column("target", String(255), nullable=False),  # what the call names (flow, setting, lock...)
    Column("args_hash", String(32), nullable=False),  # blake2b-128 hex of the canonical masked args
    Column("args", Text, nullable=True),  # the canonical masked args JSON, cut at 4 KB
    Column("line", Integer, nullable=True),  # the line in the flow file that made the call
    Column("state", String(8), nullable=False),  # 'pending' (asked) | 'done' (answered)
    Column("ok", Boolean, nullable=True),  # done: a value (True) or an error (False)
    Column("result", Text, nullable=True),  # journal_keys.encode_result; secrets as references
    Column("ref", Text, nullable=True),  # JSON: what a pending call waits on
    Column("called_at", Float, nullable=False),
    Column("answered_at", Float, nullable=True),
    PrimaryKeyConstraint("execution_id", "seq", name="pk_journal"),
)

scripts = Table(
    "scripts",
    metadata,
    # The code each execution ran, content-addressed (executions.script_sha).
    Column("sha", String(64), primary_key=True),
    Column("text", Text, nullable=False),
    Column("created_at", Float, nullable=False),
)
