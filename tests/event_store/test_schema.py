"""Schema versioning: alembic head pinned, first use migrates, upgrade is idempotent."""

from __future__ import annotations

from importlib import resources

from alembic.config import Config
from alembic.script import ScriptDirectory

import event_store
from event_store import EventStore, NewEvent
from event_store._schema import HEAD_REVISION


def test_head_revision_constant_matches_the_migration_scripts() -> None:
    config = Config()
    config.set_main_option("script_location", str(resources.files("event_store") / "migrations"))
    assert ScriptDirectory.from_config(config).get_heads() == [HEAD_REVISION]


def test_first_use_migrates_and_upgrade_is_idempotent(store_url: str) -> None:
    with EventStore(store_url) as store:
        store.append([NewEvent("KEPT")])
        assert store.upgrade() == HEAD_REVISION
    with EventStore(store_url) as reopened:
        assert reopened.upgrade() == HEAD_REVISION
        assert [e.type for e in reopened.read()] == ["KEPT"]


def test_public_names_are_pinned() -> None:
    assert set(event_store.__all__) == {
        "AppendCondition",
        "AppendConditionFailed",
        "DatabaseURLError",
        "DuplicateEventId",
        "Event",
        "EventStore",
        "EventStoreError",
        "EventStoreUnavailable",
        "IncrementalProjection",
        "InvalidEvent",
        "NewEvent",
        "NotAnEventStore",
        "ProjectedState",
        "Projection",
        "Query",
        "QueryItem",
        "SchemaTooNew",
    }
