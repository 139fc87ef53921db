"""Cluster runs: which run of an execution holds it (attempt, claimed once per run by a
conditional update), where it runs (worker host and address), and a liveness time on engine
sessions, so that an engine on another machine can tell a gone engine from a live one.

Revision ID: 0004
Revises: 0003
"""
import sqlalchemy as sa
from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None


def upgrade() -> None:
    # Executions made before this ran on this machine, never claimed: attempt 0, no worker.
    op.add_column("executions", sa.Column("attempt", sa.Integer, nullable=False, server_default="0"))
    op.add_column("executions", sa.Column("worker_host", sa.String(255), nullable=True))
    op.add_column("executions", sa.Column("worker_address", sa.String(255), nullable=True))
    # NULL for sessions opened before: judged by their pid on their own host, as before.
    op.add_column("engine_sessions", sa.Column("seen_at", sa.Float, nullable=True))


def downgrade() -> None:
    op.drop_column("engine_sessions", "seen_at")
    for column in ("worker_address", "worker_host", "attempt"):
        op.drop_column("executions", column)
