"""Turning a database URL into a working SQLAlchemy engine, with clear errors."""

from __future__ import annotations

import sqlalchemy as sa
from sqlalchemy.engine import make_url
from sqlalchemy.exc import ArgumentError, NoSuchModuleError, OperationalError

from ..errors import DatabaseError


def normalise_url(url: str) -> sa.URL:
    try:
        parsed = make_url(url)
    except ArgumentError:
        raise DatabaseError(
            f"database URL {url!r} is not a URL; use e.g. sqlite:///path/flowdesk.db or "
            "postgresql://user@host:5432/dbname"
        ) from None
    # The psycopg (3) driver is the one installed; plain postgresql:// would ask for psycopg2.
    if parsed.drivername in ("postgresql", "postgres"):
        parsed = parsed.set(drivername="postgresql+psycopg")
    return parsed


def create_engine(url: str) -> sa.Engine:
    parsed = normalise_url(url)
    try:
        engine = sa.create_engine(parsed)
    except (NoSuchModuleError, ArgumentError) as exc:
        raise DatabaseError(
            f"database URL {parsed.render_as_string(hide_password=True)!r} names an unsupported "
            f"database ({exc}); Flowdesk supports sqlite:/// and postgresql:// URLs"
        ) from None
    except ImportError as exc:
        raise DatabaseError(
            f"database URL {parsed.render_as_string(hide_password=True)!r} needs the Python driver "
            f"{exc.name!r}, which is not installed; Flowdesk ships drivers for sqlite:/// and "
            "postgresql:// URLs (install the other one into Flowdesk's environment to use it)"
        ) from None
    if engine.dialect.name == "sqlite":
        sa.event.listen(engine, "connect", _sqlite_pragmas)
    try:
        with engine.connect() as conn:
            conn.execute(sa.text("SELECT 1"))
    except OperationalError as exc:
        engine.dispose()
        reason = str(exc.orig).strip().splitlines()[0] if exc.orig else str(exc)
        raise DatabaseError(
            f"cannot open database {parsed.render_as_string(hide_password=True)}: {reason}; "
            "check that the server runs and the URL, user and password are right"
        ) from None
    return engine


def _sqlite_pragmas(dbapi_connection, _record) -> None:
    # WAL lets readers (the IDE, `flowdesk executions`) work while the engine writes;
    # synchronous=NORMAL is durable across application crashes in WAL mode.
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.execute("PRAGMA busy_timeout=10000")
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.close()
