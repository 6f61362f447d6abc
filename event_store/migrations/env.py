"""Alembic environment: always runs on the connection `event_store._schema` hands over.

That connection already holds the migration lock (an advisory lock on PostgreSQL, an
immediate transaction on SQLite), so concurrent first uses never race to create tables.
"""

from __future__ import annotations

from alembic import context

connection = context.config.attributes["connection"]
context.configure(connection=connection, target_metadata=None, render_as_batch=True)
with context.begin_transaction():
    context.run_migrations()
