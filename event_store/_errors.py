"""The event store's exceptions: one tree, so callers can catch what they mean.

    EventStoreError
    ├── InvalidEvent            bad input (empty type, data that is not JSON); nothing was written
    ├── DatabaseURLError        a URL whose scheme the store does not support
    ├── EventStoreUnavailable   the database cannot be reached or opened
    ├── NotAnEventStore         the URL names something else: a file that is not SQLite, another
    │                           program's database, a schema revision that is not one of ours
    ├── SchemaTooNew            a newer release migrated the database past what this one knows
    ├── AppendConditionFailed   the consistency boundary moved: someone else decided first
    └── DuplicateEventId        a batch mixes ids already stored with new ones, or reuses an id
                                for a different event

Messages never contain a database password: URLs are rendered with it masked.
"""

from __future__ import annotations

from uuid import UUID

__all__ = [
    "AppendConditionFailed",
    "DatabaseURLError",
    "DuplicateEventId",
    "EventStoreError",
    "EventStoreUnavailable",
    "InvalidEvent",
    "NotAnEventStore",
    "SchemaTooNew",
]


class EventStoreError(Exception):
    """Base class of every error the event store raises on purpose."""


class InvalidEvent(EventStoreError, ValueError):
    """An event, query or condition was malformed; it was rejected before touching the database."""


class DatabaseURLError(EventStoreError, ValueError):
    """The database URL names a scheme the store does not support."""


class EventStoreUnavailable(EventStoreError):
    """The database could not be reached, opened or migrated."""


class NotAnEventStore(EventStoreError):
    """The URL names a database that is not an event store; nothing was written to it.
    Not an `EventStoreUnavailable`: waiting and retrying cannot help."""

    def __init__(self, url: str, reason: str) -> None:
        self.url = url
        self.reason = reason
        super().__init__(f"the event store at {url} is not a Tamma event store: {reason}")

    def __reduce__(self) -> tuple[type, tuple[str, str]]:
        return type(self), (self.url, self.reason)


class SchemaTooNew(EventStoreError):
    """The database's schema revision is newer than the newest this release knows: a newer
    release migrated it, and this one must not read or write it."""

    def __init__(self, url: str, revision: str, known: str) -> None:
        self.url = url
        self.revision = revision
        self.known = known
        super().__init__(
            f"the event store at {url} was written by a newer Tamma (schema revision {revision}, "
            f"this release knows up to {known}): upgrade Tamma"
        )

    def __reduce__(self) -> tuple[type, tuple[str, str, str]]:
        return type(self), (self.url, self.revision, self.known)


class AppendConditionFailed(EventStoreError):
    """An event matching the append condition's query exists after its `after` position.

    `conflicting_position` is the first such event: the caller's view was stale, so it
    should re-read its boundary and decide again (or give up, as a losing claimer does).
    """

    def __init__(self, conflicting_position: int, after: int | None) -> None:
        self.conflicting_position = conflicting_position
        self.after = after
        since = "in the store" if after is None else f"after position {after}"
        super().__init__(
            f"append condition failed: event at position {conflicting_position} "
            f"matches the condition's query and exists {since}"
        )

    def __reduce__(self) -> tuple[type, tuple[int, int | None]]:
        # Rebuild from the fields, so the error survives pickling between processes.
        return type(self), (self.conflicting_position, self.after)


class DuplicateEventId(EventStoreError):
    """An event id is already stored and the batch is not an exact retry of that append."""

    def __init__(
        self, event_id: UUID, reason: str = "is already stored and this batch is not an exact retry"
    ) -> None:
        self.event_id = event_id
        self.reason = reason
        super().__init__(f"event id {event_id} {reason}")

    def __reduce__(self) -> tuple[type, tuple[UUID, str]]:
        return type(self), (self.event_id, self.reason)
