"""Fixtures shared by all tests: throw-away workspaces and engines on them."""

from __future__ import annotations

import os
import shutil

import pytest

from support import EXAMPLES, FlowWorkspace

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
os.environ.setdefault("PYDEVD_DISABLE_FILE_VALIDATION", "1")


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
