"""Alembic migrations of the event store schema (applied by `event_store._schema`)."""
