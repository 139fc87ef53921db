"""Which database the CLI uses: ``--db`` wins, then ``FLOWDESK_DB``, then ``db_url`` in
``.flowdesk/config.toml``, then SQLite in the workspace's ``.flowdesk/`` (README, and
``engine_core.runtime.engine.resolve_db_url``). Through the real CLI, with a distinct SQLite file
for each level, checking which file got the execution."""

from __future__ import annotations

import json
import os
import sqlite3

import pytest

from support import run_cli

LEVELS = ["--db", "FLOWDESK_DB", "config.toml", "default"]


def _executions(db) -> list[tuple]:
    if not db.exists():
        return []
    with sqlite3.connect(f"file:{db}?mode=ro", uri=True) as conn:
        return conn.execute("SELECT flow, status, inputs FROM executions ORDER BY id").fetchall()


@pytest.mark.parametrize("given", [LEVELS[i:] for i in range(len(LEVELS))],
                         ids=["all four", "env, config, default", "config, default", "default only"])
def test_the_first_given_database_gets_the_execution(workspace, tmp_path, given):
    dbs = {"--db": tmp_path / "from-flag.db", "FLOWDESK_DB": tmp_path / "from-env.db",
           "config.toml": tmp_path / "from-config.db", "default": workspace.root / ".flowdesk" / "flowdesk.db"}
    env = {k: v for k, v in os.environ.items() if k != "FLOWDESK_DB"}
    flag = []
    if "--db" in given:
        flag = ["--db", f"sqlite:///{dbs['--db']}"]
    if "FLOWDESK_DB" in given:
        env["FLOWDESK_DB"] = f"sqlite:///{dbs['FLOWDESK_DB']}"
    if "config.toml" in given:
        (workspace.root / ".flowdesk").mkdir(exist_ok=True)
        (workspace.root / ".flowdesk" / "config.toml").write_text(f'db_url = "sqlite:///{dbs["config.toml"]}"\n')
    expected = given[0]

    result = run_cli("run", "Calculator", "-w", str(workspace), "-i", "initial_value=5", *flag, env=env)
    assert result.returncode == 0, result.stderr

    got = {level: _executions(db) for level, db in dbs.items()}
    assert got == {level: ([("Calculator", "success", '{"initial_value":5}')] if level == expected else [])
                   for level in LEVELS}
    for level in LEVELS:
        if level != expected:
            assert not dbs[level].exists(), f"{level}'s database was created though {expected} was given"

    # The reading commands resolve the same way: they find the execution where it was stored.
    listing = run_cli("executions", "-w", str(workspace), "--json", *flag, env=env)
    assert listing.returncode == 0, listing.stderr
    assert [(r["flow"], r["status"], r["outputs"]) for r in json.loads(listing.stdout)] == \
        [("Calculator", "success", {"result": 5})]
