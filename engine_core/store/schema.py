"""The tables, as SQLAlchemy Core metadata. Times are UNIX seconds (float) so that SQLite
and PostgreSQL store and compare them the same way. JSON is stored as text written by
``flow_api._wire`` (resources travel as markers)."""

from sqlalchemy import Boolean, Column, Float, ForeignKey, Index, Integer, MetaData, String, Table, Text

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
    Index("ix_executions_parent_id", "parent_id"),
    Index("ix_executions_root_id", "root_id"),
    Index("ix_executions_status", "status"),
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
)
