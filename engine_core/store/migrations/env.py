"""Alembic environment: Flowdesk always passes an open connection (see ``migrate.py``)."""

from alembic import context

from engine_core.store.schema import metadata

connection = context.config.attributes["connection"]
context.configure(connection=connection, target_metadata=metadata, render_as_batch=True)
with context.begin_transaction():
    context.run_migrations()
