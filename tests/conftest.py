"""Fixtures shared by all tests: throw-away workspaces and engines on them."""

from __future__ import annotations

import os
import shutil

import pytest

from support import EXAMPLES, FlowWorkspace

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
os.environ.setdefault("PYDEVD_DISABLE_FILE_VALIDATION", "1")
# Every `flowdesk` command a test starts runs in its own process, as a test that watches or
# times that process means it; tests/engine/test_warm_cli.py turns the warm process on.
os.environ["FLOWDESK_WARM"] = "0"


@pytest.fixture
def workspace(tmp_path) -> FlowWorkspace:
    root = tmp_path / "work space"  # a space in the path, as users have
    shutil.copytree(EXAMPLES, root, ignore=shutil.ignore_patterns(".flowdesk"))
    return FlowWorkspace(root)


@pytest.fixture
def engine(workspace):
    from engine_core import Engine, EngineOptions

    with Engine(workspace.root, options=EngineOptions(warm_workers=2, memory_limit_mb=1024)) as running:
        yield running


@pytest.fixture(scope="session")
def postgres_server():
    """``postgresql://flowdesk@127.0.0.1:<port>``: one real PostgreSQL server for the session
    (tests make their own databases on it: pg_server.new_database)."""
    from pg_server import running_postgres

    with running_postgres() as port:
        yield f"postgresql://flowdesk@127.0.0.1:{port}"


# A store and a writer on each database Flowdesk supports: SQLite, and PostgreSQL on the
# session's server (skipped without its binaries), for tests that check what is written row
# by row. A module with its own fixture of one of these names uses that one.
@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def db_url(request, tmp_path):
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'flowdesk.db'}"
    from pg_server import new_database

    return new_database(request.getfixturevalue("postgres_server"))


@pytest.fixture
def store(db_url):
    from engine_core import Store

    opened = Store(db_url)
    yield opened
    opened.close()


@pytest.fixture
def writer(store):
    from engine_core.store.writer import Writer

    opened = Writer(store.engine)
    yield opened
    opened.close()
