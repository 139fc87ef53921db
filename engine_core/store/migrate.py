"""Versioned schema migrations (Alembic), applied when a database is opened, so a workspace
made by an older Flowdesk opens in a newer one.

Alembic (with Mako) takes ~0.15 s to import, more than a whole ``flowdesk run`` of a small
flow should take, and almost every open finds the schema current. So the version is read
with a plain query on ``alembic_version`` and compared with :data:`HEAD_REVISION`; Alembic is
imported only when there is something to migrate (a new or an older database)."""

from __future__ import annotations

from pathlib import Path

import sqlalchemy as sa

_MIGRATIONS = Path(__file__).with_name("migrations")
_VERSION_TABLE = "alembic_version"  # Alembic's default; env.py does not change it

HEAD_REVISION = "0004"
"""The newest revision in ``migrations/versions``. A new migration file changes it too: a test
compares it with the head Alembic finds in the files."""


def _config():
    from alembic.config import Config

    config = Config()
    config.set_main_option("script_location", str(_MIGRATIONS))
    return config


def head_revision() -> str:
    """The head as Alembic finds it in the migration files (imports Alembic)."""
    from alembic.script import ScriptDirectory

    return ScriptDirectory.from_config(_config()).get_current_head()


def current_revision(engine: sa.Engine) -> str | None:
    """The database's revision, None for a database without Flowdesk's tables."""
    with engine.connect() as conn:
        return _stored_revision(conn)


def _stored_revision(conn: sa.Connection) -> str | None:
    if not sa.inspect(conn).has_table(_VERSION_TABLE):
        return None
    rows = conn.execute(sa.text(f"SELECT version_num FROM {_VERSION_TABLE}")).scalars().all()
    # More than one row would be branched heads, which this linear history never makes;
    # Alembic sorts that out (or says what is wrong) below.
    return rows[0] if len(rows) == 1 else None


def upgrade(engine: sa.Engine) -> None:
    """Bring the schema to the newest revision; a no-op (without importing Alembic) when it is
    already there."""
    if current_revision(engine) == HEAD_REVISION:
        return
    from alembic import command

    config = _config()
    with engine.begin() as conn:
        config.attributes["connection"] = conn
        command.upgrade(config, "head")
