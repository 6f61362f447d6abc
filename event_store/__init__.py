"""Tamma's event store: one append-only stream with Dynamic Consistency Boundary appends.

    store = EventStore("postgresql+psycopg://root@127.0.0.1:5432/test")
    boundary = Query.of(types=["ISSUE.CLAIMED"], tags=["issue:local:demo#1"])
    store.append([NewEvent("ISSUE.CLAIMED", {"worker": "w1"}, tags=["issue:local:demo#1"])],
                 condition=AppendCondition(boundary, after=None))  # exactly one claimer wins

See `event_store._model` for the matching rule, `Projection` for folds and time travel, and
`IncrementalProjection` for a fold asked again and again as its boundary grows.
"""

from event_store._errors import (
    AppendConditionFailed,
    DatabaseURLError,
    DuplicateEventId,
    EventStoreError,
    EventStoreUnavailable,
    InvalidEvent,
    NotAnEventStore,
    SchemaTooNew,
)
from event_store._incremental import IncrementalProjection
from event_store._model import AppendCondition, Event, NewEvent, Query, QueryItem
from event_store._projection import ProjectedState, Projection
from event_store._store import EventStore

__all__ = [
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
]
