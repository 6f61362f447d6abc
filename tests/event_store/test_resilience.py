"""The store keeps working when its database connections die under it."""

from __future__ import annotations

from event_store import EventStore, NewEvent
from tests.conftest import empty_postgres, terminate_store_connections


def test_append_survives_a_dropped_connection_without_storing_twice(postgres_url: str) -> None:
    empty_postgres(postgres_url)
    with EventStore(postgres_url) as store:
        first = NewEvent("BEFORE")
        assert store.append([first]) == 1
        terminate_store_connections(postgres_url)
        assert store.append([NewEvent("AFTER")]) == 2
        terminate_store_connections(postgres_url)
        assert store.append([first]) == 1, "a resent append is an idempotent retry"
        assert [e.type for e in store.read()] == ["BEFORE", "AFTER"]
