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


def downgrade() -> None:
    op.drop_table("scripts")
    op.drop_table("journal")
    op.drop_column("logs", "after_seq")
    op.drop_index("ix_executions_ended_at", "executions")
    op.drop_index("ix_executions_replay_of", "executions")
    for column in ("script_sha", "lost_s", "resumed_at", "replay_of", "durable"):
        op.drop_column("executions", column)
