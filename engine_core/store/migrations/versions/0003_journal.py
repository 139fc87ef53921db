"""Durable executions: the journal of flow API calls (savepoints), what an execution ran
(scripts), and the columns for resume and replay.

Revision ID: 0003
Revises: 0002
"""
import sqlalchemy as sa
from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    # Executions made before journaling are not durable (nothing to resume them from).
    op.add_column("executions", sa.Column("durable", sa.Boolean, nullable=False, server_default=sa.false()))
    op.add_column("executions", sa.Column("replay_of", sa.Integer, nullable=True))
    op.add_column("executions", sa.Column("resumed_at", sa.Float, nullable=True))
    op.add_column("executions", sa.Column("lost_s", sa.Float, nullable=True))
    op.add_column("executions", sa.Column("script_sha", sa.String(64), nullable=True))
    op.create_index("ix_executions_replay_of", "executions", ["replay_of"])
    op.create_index("ix_executions_ended_at", "executions", ["ended_at"])
    op.add_column("logs", sa.Column("after_seq", sa.Integer, nullable=True))
    op.create_table(
        "journal",
        sa.Column("execution_id", sa.Integer, sa.ForeignKey("executions.id", ondelete="CASCADE"), nullable=False),
        sa.Column("seq", sa.Integer, nullable=False),
        sa.Column("op", sa.String(32), nullable=False),
        sa.Column("target", sa.String(255), nullable=False),
        sa.Column("args_hash", sa.String(32), nullable=False),
        sa.Column("args", sa.Text, nullable=True),
        sa.Column("line", sa.Integer, nullable=True),
        sa.Column("state", sa.String(8), nullable=False),
        sa.Column("ok", sa.Boolean, nullable=True),
        sa.Column("result", sa.Text, nullable=True),
        sa.Column("ref", sa.Text, nullable=True),
        sa.Column("called_at", sa.Float, nullable=False),
        sa.Column("answered_at", sa.Float, nullable=True),
        sa.PrimaryKeyConstraint("execution_id", "seq", name="pk_journal"),
    )
    op.create_table(
        "scripts",
        sa.Column("sha", sa.String(64), primary_key=True),
        sa.Column("text", sa.Text, nullable=False),
        sa.Column("created_at", sa.Float, nullable=False),
    )
    if op.get_bind().dialect.name == "sqlite":
        _session_ids_never_reused()


def _session_ids_never_reused() -> None:
    """SQLite gives a new row the largest id + 1, so after a clean shutdown deleted the last
    session row the next engine got the same id, and the executions a shutdown suspended
    (still naming that id) would look like the new engine's own. AUTOINCREMENT never reuses an
    id; its counter starts above every id still named anywhere. (PostgreSQL's sequence never
    reuses one.)"""
    with op.batch_alter_table("engine_sessions", recreate="always",
                              table_kwargs={"sqlite_autoincrement": True}):
        pass
    bind = op.get_bind()
    top = bind.execute(sa.text(
        "SELECT max(coalesce((SELECT max(id) FROM engine_sessions), 0),"
        " coalesce((SELECT max(engine_session_id) FROM executions), 0),"
        " coalesce((SELECT max(session_id) FROM locks), 0))")).scalar()
    bind.execute(sa.text("DELETE FROM sqlite_sequence WHERE name = 'engine_sessions'"))
    bind.execute(sa.text("INSERT INTO sqlite_sequence (name, seq) VALUES ('engine_sessions', :top)"), {"top": top})


def downgrade() -> None:
    op.drop_table("scripts")
    op.drop_table("journal")
    op.drop_column("logs", "after_seq")
    op.drop_index("ix_executions_ended_at", "executions")
    op.drop_index("ix_executions_replay_of", "executions")
    for column in ("script_sha", "lost_s", "resumed_at", "replay_of", "durable"):
        op.drop_column("executions", column)
