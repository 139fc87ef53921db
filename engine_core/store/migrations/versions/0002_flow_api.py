"""The rest of the flow API: forms on messages, setting locks, pause/resume requests from
other processes, and a wake-up address per engine session.

Revision ID: 0002
Revises: 0001
"""
import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column("executions", sa.Column("control_request", sa.String(16), nullable=True))
    op.add_column("messages", sa.Column("form", sa.Text, nullable=True))
    op.add_column("messages", sa.Column("response", sa.Text, nullable=True))
    op.add_column("messages", sa.Column("state", sa.String(16), nullable=True))
    op.add_column("messages", sa.Column("answered_at", sa.Float, nullable=True))
    op.create_index("ix_messages_state", "messages", ["state"])
    op.add_column("engine_sessions", sa.Column("wake_path", sa.Text, nullable=True))
    op.create_table(
        "locks",
        sa.Column("name", sa.String(255), primary_key=True),
        sa.Column("execution_id", sa.Integer, nullable=False),
        sa.Column("session_id", sa.Integer, nullable=False),
        sa.Column("acquired_at", sa.Float, nullable=False),
    )


def downgrade() -> None:
    op.drop_table("locks")
    op.drop_column("engine_sessions", "wake_path")
    op.drop_index("ix_messages_state", "messages")
    for column in ("answered_at", "state", "response", "form"):
        op.drop_column("messages", column)
    op.drop_column("executions", "control_request")
