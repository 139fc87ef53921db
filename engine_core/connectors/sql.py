"""The SQL connectors: one statement against a database through SQLAlchemy.

Types: ``SQLPG`` (PostgreSQL, psycopg), ``MYSQL`` (pymysql), ``SQLMSSQL`` (pymssql),
``SQLORACLE`` (oracledb), ``SQLITE`` (``database`` is the file) and ``SQL`` (``url``: any
SQLAlchemy URL). Exactly one of ``execute`` (outputs ``rowcount``), ``fetch`` (``result``: the
rows as a list of dicts), ``fetchrow`` (``result``: the first row as a dict, or None) and
``fetchval`` (``result``: the first column of the first row, or None). ``params`` are bound
to ``:name`` placeholders (a dict; for ``execute`` also a list of dicts: one run per dict).

Values are made JSON-safe: dates and times → ISO 8601 text, ``Decimal`` → text (exact; cast in
SQL, e.g. ``::float``, for a number), bytes → base64 text, UUID → text. The statement runs in
a transaction that commits when it succeeds; the engine is disposed after each call."""

from __future__ import annotations

import base64
import datetime
import decimal
import importlib.util
import uuid
from typing import Any

from flow_api import ConnectorError

from . import register
from .spec import MASK, Param

MODES = ("execute", "fetch", "fetchrow", "fetchval")

# type → (SQLAlchemy drivername, the DBAPI module it imports, what to install)
DRIVERS = {
    "SQLPG": ("postgresql+psycopg", "psycopg", 'pip install "psycopg[binary]"'),
    "MYSQL": ("mysql+pymysql", "pymysql", "pip install pymysql"),
    "SQLMSSQL": ("mssql+pymssql", "pymssql", "pip install pymssql"),
    "SQLORACLE": ("oracle+oracledb", "oracledb", "pip install oracledb"),
    "SQLITE": ("sqlite+pysqlite", "sqlite3", "a Python built with sqlite3"),
}
NAMES = {"SQLPG": "PostgreSQL", "MYSQL": "MySQL", "SQLMSSQL": "SQL Server", "SQLORACLE": "Oracle",
         "SQLITE": "SQLite", "SQL": "SQL"}
# type → the driver's own name for "seconds to wait for the connection"
TIMEOUT_ARGS = {"SQLPG": "connect_timeout", "MYSQL": "connect_timeout", "SQLMSSQL": "login_timeout",
                "SQLORACLE": "tcp_connect_timeout"}
DEFAULT_CONNECT_TIMEOUT_S = 10
# A DBAPI module's name → the pip package that provides it (generic SQL URLs).
PACKAGES = {"psycopg": '"psycopg[binary]"', "psycopg2": "psycopg2-binary", "MySQLdb": "mysqlclient",
            "cx_Oracle": "cx_Oracle", "pyodbc": "pyodbc"}


def connector(kind: str):
    def run(this, params: dict) -> dict:
        return _run(kind, params)
    run.__name__ = f"sql_{kind.lower()}"
    run.repeatable = repeatable  # see ConnectorSpec.repeatable
    return run


def repeatable(params: dict) -> bool:
    """A query (fetch/fetchrow/fetchval of SELECT, WITH, SHOW, EXPLAIN or VALUES) may be run
    again after an engine died while it ran; ``execute`` and anything else may have acted."""
    mode = next((m for m in MODES if params.get(m) not in (None, "")), None)
    if mode in (None, "execute"):
        return False
    words = str(params[mode]).lstrip(" \t\r\n(").split(None, 1)
    return bool(words) and words[0].lower() in ("select", "with", "show", "explain", "values")


def _run(kind: str, params: dict) -> dict:
    from sqlalchemy import create_engine, exc as sa_exc, text
    from sqlalchemy.pool import NullPool

    mode, statement = _statement(kind, params)
    url = _url(kind, params)
    secrets = [s for s in (params.get("password"), url.password, params.get("url")) if s]
    where = _where(kind, url)
    bound = params.get("params")
    if bound is not None and not isinstance(bound, dict) and not (
            mode == "execute" and isinstance(bound, list) and all(isinstance(b, dict) for b in bound)):
        raise ConnectorError(f"the {kind} connector binds params as a dict for :name placeholders "
                             "(for execute also a list of dicts, one run each)")
    try:
        engine = create_engine(url, poolclass=NullPool, connect_args=_connect_args(kind, params))
    except ImportError as exc:
        raise ConnectorError(_missing_driver(kind, exc.name or str(exc))) from None
    except (sa_exc.ArgumentError, sa_exc.NoSuchModuleError) as exc:
        raise ConnectorError(_masked(f"the {kind} connector cannot use {where}: {exc}", secrets)) from None
    try:
        try:
            connection = engine.connect()
        except sa_exc.DBAPIError as exc:
            raise ConnectorError(_masked(
                f"the {kind} connector could not connect to {where}: {_reason(exc)}. "
                "Check host, port, database, user and password, and that the server runs", secrets)) from None
        with connection, connection.begin():
            try:
                result = connection.execute(text(statement), bound) if bound is not None \
                    else connection.execute(text(statement))
                return _outputs(mode, result)
            except sa_exc.SQLAlchemyError as exc:
                reason = _reason(exc) if isinstance(exc, sa_exc.DBAPIError) else str(exc).split("\n")[0]
                raise ConnectorError(_masked(f"the {kind} connector's {mode} failed on {where}: {reason}",
                                             secrets)) from None
    finally:
        engine.dispose()


def _statement(kind: str, params: dict) -> tuple[str, str]:
    given = [m for m in MODES if params.get(m) not in (None, "")]
    if len(given) != 1:
        which = "none" if not given else ", ".join(given)
        raise ConnectorError(f"the {kind} connector needs exactly one of execute=, fetch=, fetchrow=, fetchval= "
                             f"(the SQL statement); got {which}")
    return given[0], str(params[given[0]])


def _url(kind: str, params: dict):
    from sqlalchemy.engine import URL, make_url
    from sqlalchemy.exc import ArgumentError

    if kind == "SQL":
        if not params.get("url"):
            raise ConnectorError("the SQL connector needs url=... (a SQLAlchemy URL, e.g. "
                                 "postgresql+psycopg://user:password@host/db)")
        try:
            return make_url(str(params["url"]))
        except ArgumentError:
            raise ConnectorError("the SQL connector's url is no SQLAlchemy URL (dialect+driver://user:password@"
                                 "host:port/database)") from None
    drivername, module, install = DRIVERS[kind]
    if importlib.util.find_spec(module) is None:
        raise ConnectorError(f"the {kind} connector needs the {NAMES[kind]} driver {module!r}, which is not "
                             f"installed: {install}")
    if kind == "SQLITE":
        if not params.get("database"):
            raise ConnectorError("the SQLITE connector needs database=... (the database file's path)")
        return URL.create(drivername, database=str(params["database"]))
    if not params.get("host"):
        raise ConnectorError(f"the {kind} connector needs host=... (the {NAMES[kind]} server)")
    port = params.get("port")
    try:
        port = int(port) if port not in (None, "") else None
    except (TypeError, ValueError):
        raise ConnectorError(f"the {kind} connector's port must be a number, not {port!r}") from None
    user = params.get("user", params.get("username"))
    database = params.get("database")
    query = {}
    if kind == "SQLORACLE" and database:
        query, database = {"service_name": str(database)}, None  # Oracle names a service, not a database
    # URL.create quotes every part itself: a password with @ or / in it stays a password.
    return URL.create(drivername, username=user, password=params.get("password"), host=str(params["host"]),
                      port=port, database=database, query=query)


def _connect_args(kind: str, params: dict) -> dict:
    """The driver's connect timeout: without one, an unreachable server (a dropped packet
    rather than a refusal) holds the connection for minutes."""
    if kind not in TIMEOUT_ARGS:
        return {}
    seconds = params.get("connect_timeout")
    try:
        seconds = DEFAULT_CONNECT_TIMEOUT_S if seconds in (None, "") else max(1, int(float(seconds)))
    except (TypeError, ValueError):
        raise ConnectorError(f"the {kind} connector's connect_timeout must be seconds, not {seconds!r}") from None
    return {TIMEOUT_ARGS[kind]: seconds}


def _where(kind: str, url) -> str:
    if kind == "SQLITE" or url.get_backend_name() == "sqlite":
        return f"the SQLite file {url.database!r}" if url.database else "an in-memory SQLite database"
    place = f"{url.host or 'localhost'}{f':{url.port}' if url.port else ''}"
    return f"{place}{f'/{url.database}' if url.database else ''}" + (f" as {url.username!r}" if url.username else "")


def _missing_driver(kind: str, module: str) -> str:
    package = PACKAGES.get(module, module)
    return f"the {kind} connector needs the Python package for {module!r}, which is not installed: pip install {package}"


def _reason(exc) -> str:
    """The database's own words, without SQLAlchemy's [SQL: ...] and background-link lines."""
    orig = getattr(exc, "orig", None) or exc
    return " ".join(str(orig).split()).rstrip(".") or type(orig).__name__


def _masked(message: str, secrets: list) -> str:
    for secret in sorted({str(s) for s in secrets if len(str(s)) >= 3}, key=len, reverse=True):
        message = message.replace(secret, MASK)
    return message


def _outputs(mode: str, result) -> dict:
    if mode == "execute":
        return {"rowcount": result.rowcount}
    if mode == "fetch":
        return {"result": [_row(r) for r in result.mappings()]}
    if mode == "fetchrow":
        row = result.mappings().first()
        return {"result": _row(row) if row is not None else None}
    row = result.first()
    return {"result": _value(row[0]) if row is not None else None}


def _row(row) -> dict:
    return {str(k): _value(v) for k, v in row.items()}


def _value(value: Any) -> Any:
    """``value`` as JSON can carry it (see the module's docstring)."""
    if value is None or isinstance(value, (bool, int, float, str)):
        return value
    if isinstance(value, (datetime.datetime, datetime.date, datetime.time)):
        return value.isoformat()
    if isinstance(value, datetime.timedelta):
        return value.total_seconds()
    if isinstance(value, decimal.Decimal):
        return str(value)
    if isinstance(value, (bytes, bytearray, memoryview)):
        return base64.b64encode(bytes(value)).decode("ascii")
    if isinstance(value, uuid.UUID):
        return str(value)
    if isinstance(value, dict):
        return {str(k): _value(v) for k, v in value.items()}
    if isinstance(value, (list, tuple, set)):
        return [_value(v) for v in value]
    return str(value)


_STATEMENT_PARAMS = (
    Param("execute", doc="a statement to run; outputs rowcount"),
    Param("fetch", doc="a query; outputs result: every row as a dict"),
    Param("fetchrow", doc="a query; outputs result: the first row as a dict (None: no row)"),
    Param("fetchval", doc="a query; outputs result: the first column of the first row (None: no row)"),
    Param("params", doc="values bound to :name placeholders, a dict (execute: also a list of dicts)"),
)
_SERVER_PARAMS = (
    Param("host", required=True, doc="the database server's name or address"),
    Param("port", doc="the server's port (default: the database's usual one)"),
    Param("database", doc="the database's name (SQLORACLE: the service name)"),
    Param("user", aliases=("username",), doc="the user to log in as"),
    Param("password", secret=True, doc="the user's password"),
    Param("connect_timeout", doc=f"seconds to wait for the server (default {DEFAULT_CONNECT_TIMEOUT_S})"),
)
_ONE_OF = (MODES,)

for _kind in ("SQLPG", "MYSQL", "SQLMSSQL", "SQLORACLE"):
    register(_kind, connector(_kind), params=_SERVER_PARAMS + _STATEMENT_PARAMS, one_of=_ONE_OF,
             doc=f"One SQL statement on {NAMES[_kind]} (driver: {DRIVERS[_kind][2]}).")
register("SQLITE", connector("SQLITE"), one_of=_ONE_OF, doc="One SQL statement on a SQLite file.",
         params=(Param("database", required=True, doc="the database file's path"),) + _STATEMENT_PARAMS)
register("SQL", connector("SQL"), one_of=_ONE_OF, doc="One SQL statement on any SQLAlchemy URL.",
         params=(Param("url", required=True, secret=True,
                       doc="a SQLAlchemy URL, e.g. postgresql+psycopg://user:password@host/db"),) + _STATEMENT_PARAMS)
