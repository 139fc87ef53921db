"""The SQL connectors (flows.md, Connectors: SQLPG, MYSQL, SQLMSSQL, SQLORACLE, SQLITE, SQL; one
of execute, fetch, fetchrow, fetchval, with params bound) through flows run by the real engine,
against a SQLite file and real PostgreSQL servers the tests start; the tests read the stored tree."""

from __future__ import annotations

import importlib.util
import json
import os
import socket
import sys
from pathlib import Path
from urllib.parse import quote

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "engine"))
from api_support import find_nodes, run_flow  # noqa: E402

SECRET = "Pg-s3cret/@pw"

# One connection per entry of inputs['calls'], in order; reports each one's result or failure.
CALLS = """
    import flow_api
    def handler(system, this, inputs):
        results = []
        for kind, params in inputs['calls']:
            try:
                results.append(this.connect(kind, **params).get('output_value'))
            except flow_api.DependencyFailedError as exc:
                results.append({'failed': str(exc)})
        this.set_output(results=results)
"""


def run_calls(engine, workspace, name: str, calls: list) -> tuple[list, list]:
    record, tree = run_flow(engine, workspace, name, CALLS, inputs={"calls": calls})
    assert record["status"] == "success", record["message"]
    connections = find_nodes(tree, kind="connection")
    assert len(connections) == len(calls)
    return record["outputs"]["results"], connections


def test_sqlite_file_execute_fetch_fetchrow_fetchval(engine, workspace, tmp_path):
    db = str(tmp_path / "shop.db")
    lite = lambda **params: ["SQLITE", {"database": db, **params}]  # noqa: E731
    results, connections = run_calls(engine, workspace, "Shop", [
        lite(execute="CREATE TABLE item (id INTEGER PRIMARY KEY, name TEXT, price NUMERIC, added DATE, raw BLOB)"),
        lite(execute="INSERT INTO item (name, price, added) VALUES (:name, :price, :added)",
             params=[{"name": "bolt", "price": 1.5, "added": "2024-05-01"},
                     {"name": "nut", "price": 2, "added": "2024-05-02"}]),
        lite(execute="UPDATE item SET raw = x'00ff' WHERE name = :name", params={"name": "nut"}),
        lite(fetch="SELECT name, price, raw FROM item WHERE price > :low ORDER BY id", params={"low": 0}),
        lite(fetchrow="SELECT name FROM item WHERE name = :name", params={"name": "nut"}),
        lite(fetchrow="SELECT name FROM item WHERE name = :name", params={"name": "none such"}),
        lite(fetchval="SELECT count(*) FROM item"),
    ])
    assert [c["status"] for c in connections] == ["success"] * 7
    assert [c["flow"] for c in connections] == ["SQLITE"] * 7
    assert results[1] == {"rowcount": 2}
    assert results[2] == {"rowcount": 1}
    assert results[3] == {"result": [{"name": "bolt", "price": 1.5, "raw": None},
                                     {"name": "nut", "price": 2, "raw": "AP8="}]}, "bytes as base64"
    assert results[4] == {"result": {"name": "nut"}}
    assert results[5] == {"result": None}
    assert results[6] == {"result": 2}
    assert connections[3]["inputs"]["params"] == {"low": 0}


def test_bad_sql_fails_the_connection_and_the_caller_gets_dependency_failed(engine, workspace, tmp_path):
    db = str(tmp_path / "bad.db")
    record, tree = run_flow(engine, workspace, "Bad SQL", """
        def handler(system, this, inputs):
            this.connect('SQLITE', database=inputs['db'], fetch='SELEC 1')
            return this.success('not reached')
    """, inputs={"db": db})
    assert record["status"] == "error"
    (connection,) = find_nodes(tree, kind="connection")
    assert connection["status"] == "error"
    assert "the SQLITE connector's fetch failed" in connection["message"]
    assert 'near "SELEC": syntax error' in connection["message"]
    assert "child execution 'SQLITE'" in record["message"] and "syntax error" in record["message"]

    results, connections = run_calls(engine, workspace, "Two statements", [
        ["SQLITE", {"database": db, "fetch": "SELECT 1", "fetchval": "SELECT 2"}]])
    assert "exactly one of execute=, fetch=, fetchrow=, fetchval=" in results[0]["failed"]


def test_mysql_without_its_driver_names_the_package_to_install(engine, workspace):
    if importlib.util.find_spec("pymysql"):
        pytest.skip("pymysql is installed here: the missing-driver message cannot show")
    results, connections = run_calls(engine, workspace, "No driver", [
        ["MYSQL", {"host": "127.0.0.1", "user": "u", "password": SECRET, "fetch": "SELECT 1"}],
        ["SQL", {"url": f"mysql+pymysql://u:{SECRET}@127.0.0.1/db", "fetch": "SELECT 1"}]])
    assert "pip install pymysql" in connections[0]["message"], connections[0]["message"]
    assert "pip install pymysql" in connections[1]["message"], connections[1]["message"]
    assert "Traceback" not in results[0]["failed"]
    assert SECRET not in json.dumps([results, connections])
    assert connections[0]["inputs"]["password"] == "********"


# --- PostgreSQL -------------------------------------------------------------------------------

from pg_server import new_database, running_postgres  # noqa: E402


@pytest.mark.postgres
def test_postgresql_execute_and_fetch_with_params(engine, workspace, postgres_server):
    from sqlalchemy.engine import make_url

    server = make_url(postgres_server)
    name = f"shop_{os.getpid()}_{abs(hash(str(workspace.root))) % 10**6}"
    new_database(postgres_server, name)
    pg = lambda **params: ["SQLPG", {"host": server.host, "port": server.port, "database": name,  # noqa: E731
                                     "username": server.username, "password": SECRET, **params}]
    results, connections = run_calls(engine, workspace, "PG shop", [
        pg(execute="CREATE TABLE item (id serial PRIMARY KEY, name text, price numeric(8,2), added timestamptz,"
                   " tags text[], info jsonb)"),
        pg(execute="INSERT INTO item (name, price, added, tags, info) VALUES"
                   " (:name, :price, :added, :tags, CAST(:info AS jsonb))",
           params={"name": "bolt", "price": "1.50", "added": "2024-05-01T10:00:00+00:00", "tags": ["a", "b"],
                   "info": '{"k": 1}'}),
        pg(fetch="SELECT id, name, price, added, tags, info FROM item WHERE name = :name", params={"name": "bolt"}),
        pg(fetchval="SELECT sum(price)::float FROM item"),
        ["SQL", {"url": f"postgresql+psycopg://{server.username}:{quote(SECRET, safe='')}@{server.host}:{server.port}/{name}",
                 "fetchrow": "SELECT name FROM item"}],
    ])
    assert [c["status"] for c in connections] == ["success"] * 5, [c["message"] for c in connections]
    assert results[1] == {"rowcount": 1}
    (row,) = results[2]["result"]
    assert row["name"] == "bolt" and row["price"] == "1.50", "Decimal as exact text"
    assert row["added"].startswith("2024-05-01T10:00:00"), "timestamps as ISO 8601"
    assert (row["tags"], row["info"]) == (["a", "b"], {"k": 1})
    assert results[3] == {"result": 1.5}
    assert results[4] == {"result": {"name": "bolt"}}
    assert connections[0]["inputs"]["password"] == "********"
    assert connections[4]["inputs"]["url"] == "********"


@pytest.fixture(scope="module")
def password_postgres():
    """A PostgreSQL server that checks passwords (the engine tests' server trusts every login):
    user flowdesk, password SECRET."""
    with running_postgres(password=SECRET) as port:
        yield port


@pytest.mark.postgres
def test_postgresql_wrong_password_and_refused_are_clear_errors_without_the_password(engine, workspace,
                                                                                   password_postgres):
    wrong = "Wr0ng-pa55word"
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        closed = probe.getsockname()[1]
    common = {"host": "127.0.0.1", "user": "flowdesk", "database": "postgres", "fetchval": "SELECT 40 + 2",
              "connect_timeout": 5}
    results, connections = run_calls(engine, workspace, "PG login", [
        ["SQLPG", {**common, "port": password_postgres, "password": SECRET}],
        ["SQLPG", {**common, "port": password_postgres, "password": wrong}],
        ["SQLPG", {**common, "port": closed, "password": wrong}],
    ])
    assert results[0] == {"result": 42}
    assert connections[1]["status"] == "error"
    message = connections[1]["message"]
    assert f"the SQLPG connector could not connect to 127.0.0.1:{password_postgres}/postgres as 'flowdesk'" in message
    assert "password authentication failed" in message, message
    assert "Check host, port, database, user and password" in message
    assert "connection refused" in connections[2]["message"].lower(), connections[2]["message"]
    stored = json.dumps([results, connections])
    assert wrong not in stored and SECRET not in stored
