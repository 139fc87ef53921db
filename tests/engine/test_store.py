"""The database: migrations, WAL, and the status history."""

import sqlalchemy as sa

from engine_core import Store
from engine_core.store import migrate


def test_new_database_is_migrated_to_head_and_uses_wal(tmp_path):
    store = Store(f"sqlite:///{tmp_path / 'f.db'}")
    assert migrate.current_revision(store.engine) == migrate.head_revision()
    with store.engine.connect() as conn:
        assert conn.execute(sa.text("PRAGMA journal_mode")).scalar() == "wal"
        tables = set(sa.inspect(conn).get_table_names())
    assert {"executions", "status_changes", "logs", "messages", "settings", "engine_sessions", "alembic_version"} <= tables
    store.close()
    # Opening again finds it at head and changes nothing.
    again = Store(f"sqlite:///{tmp_path / 'f.db'}")
    assert migrate.current_revision(again.engine) == migrate.head_revision()
    again.close()


def test_every_transition_is_stored_with_its_time(engine):
    record = engine.run("Calculator", {"initial_value": 1})
    with engine.store.engine.connect() as conn:
        rows = conn.execute(sa.text("SELECT status, at FROM status_changes WHERE execution_id = :i ORDER BY id"),
                            {"i": record["id"]}).all()
    assert [r.status for r in rows] == ["queued", "running", "success"]
    assert rows[0].at <= rows[1].at <= rows[2].at
    assert record["started_at"] <= record["ended_at"]


def test_settings_edited_outside_a_flow_are_seen_by_flows(engine, workspace):
    engine.store.save_setting("region", {"name": "eu", "zones": [1, 2]})
    workspace.write_flow("Reader", """
        def handler(system, this, inputs):
            this.set_output(region=system.setting('region').get('value'))
    """)
    assert engine.run("Reader")["outputs"] == {"region": {"name": "eu", "zones": [1, 2]}}
    engine.store.delete_setting("region")
    assert engine.store.settings() == {}
