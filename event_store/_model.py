"""The store's plain types: what callers build and what reads hand back.

The matching rule, stated once and used everywhere (SQL and in memory):

* a `QueryItem` matches an event when the event's type is one of the item's `types`
  (any type, if `types` is empty) **and** the event carries every one of the item's `tags`;
* a `Query` matches an event when any of its items does; a `Query` with no items matches
  every event.

An `AppendCondition(query, after)` makes an append fail when an event matching `query`
exists after position `after` (anywhere in the store when `after` is None). Reading a
boundary with `query`, deciding, and appending with `after` = the last position read is how
Tamma makes each decision exactly once (Dynamic Consistency Boundary).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any
from uuid import UUID, uuid4

from event_store._errors import InvalidEvent
from event_store._json import storable_object, storable_text

__all__ = ["AppendCondition", "Event", "NewEvent", "Query", "QueryItem"]

_MAX_TYPE_LENGTH = 200
_MAX_TAG_LENGTH = 500


def _check_type(event_type: object) -> str:
    if not isinstance(event_type, str) or not event_type.strip():
        raise InvalidEvent("event type must be a non-empty string")
    if event_type != event_type.strip() or any(c.isspace() for c in event_type):
        raise InvalidEvent(f"event type {event_type!r} must not contain whitespace")
    if len(event_type) > _MAX_TYPE_LENGTH:
        raise InvalidEvent(f"event type is longer than {_MAX_TYPE_LENGTH} characters")
    return storable_text(event_type)


def _check_tags(tags: Iterable[str], owner: str) -> tuple[str, ...]:
    if isinstance(tags, str):
        raise InvalidEvent(f"{owner} tags must be a list of strings, not one string")
    checked: list[str] = []
    for tag in tags:
        if not isinstance(tag, str) or not tag:
            raise InvalidEvent(f"{owner} tags must be non-empty strings, got {tag!r}")
        if len(tag) > _MAX_TAG_LENGTH:
            raise InvalidEvent(f"{owner} tag is longer than {_MAX_TAG_LENGTH} characters")
        storable = storable_text(tag)
        if storable not in checked:
            checked.append(storable)
    return tuple(checked)


@dataclass(frozen=True, slots=True)
class NewEvent:
    """An event to append. `id` defaults to a fresh UUID; pass a stable one to make a retried
    append idempotent (see `EventStore.append`)."""

    type: str
    data: Mapping[str, Any] = field(default_factory=dict)
    tags: Iterable[str] = ()
    metadata: Mapping[str, Any] = field(default_factory=dict)
    id: UUID = field(default_factory=uuid4)

    def __post_init__(self) -> None:
        set_field = object.__setattr__
        set_field(self, "type", _check_type(self.type))
        set_field(self, "tags", _check_tags(self.tags, "event"))
        set_field(self, "data", storable_object(self.data, "data"))
        set_field(self, "metadata", storable_object(self.metadata, "metadata"))
        if not isinstance(self.id, UUID):
            try:
                set_field(self, "id", UUID(str(self.id)))
            except ValueError:
                raise InvalidEvent(f"event id {self.id!r} is not a UUID") from None


@dataclass(frozen=True, slots=True)
class Event:
    """A stored event. `position` is its place in the one global order (1, 2, 3, ...)."""

    position: int
    id: UUID
    type: str
    data: dict[str, Any]
    tags: tuple[str, ...]
    metadata: dict[str, Any]
    recorded_at: datetime


@dataclass(frozen=True, slots=True)
class QueryItem:
    """Events of any of `types` (any type if empty) that carry all of `tags`."""

    types: Iterable[str] = ()
    tags: Iterable[str] = ()

    def __post_init__(self) -> None:
        if isinstance(self.types, str):
            raise InvalidEvent("query item types must be a list of strings, not one string")
        object.__setattr__(self, "types", tuple(_check_type(t) for t in dict.fromkeys(self.types)))
        object.__setattr__(self, "tags", _check_tags(self.tags, "query item"))

    def matches(self, event: Event | NewEvent) -> bool:
        """The matching rule of this module's docstring, for one item."""
        if self.types and event.type not in self.types:
            return False
        return all(tag in event.tags for tag in self.tags)


@dataclass(frozen=True, slots=True)
class Query:
    """Events matching any of `items`; no items means every event."""

    items: Iterable[QueryItem] = ()

    def __post_init__(self) -> None:
        items = tuple(self.items)
        if not all(isinstance(item, QueryItem) for item in items):
            raise InvalidEvent("a Query holds QueryItem objects")
        object.__setattr__(self, "items", items)

    @classmethod
    def all(cls) -> Query:
        """The query that matches every event."""
        return cls(())

    @classmethod
    def of(cls, *, types: Iterable[str] = (), tags: Iterable[str] = ()) -> Query:
        """Shorthand for a query of one item."""
        return cls((QueryItem(types=types, tags=tags),))

    @property
    def matches_all(self) -> bool:
        return not self.items or any(not item.types and not item.tags for item in self.items)

    def matches(self, event: Event | NewEvent) -> bool:
        """The matching rule of this module's docstring."""
        return not self.items or any(item.matches(event) for item in self.items)


@dataclass(frozen=True, slots=True)
class AppendCondition:
    """Fail the append if an event matching `query` exists after `after` (None: at all)."""

    query: Query
    after: int | None = None

    def __post_init__(self) -> None:
        if not isinstance(self.query, Query):
            raise InvalidEvent("an AppendCondition needs a Query")
        check_position(self.after, "condition position 'after'")


def check_position(value: int | None, name: str) -> int | None:
    """Positions given to reads are None or non-negative ints; anything else is a caller bug."""
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int) or not 0 <= value < 2**63:
        raise InvalidEvent(f"{name} must be None or an int from 0 to 2**63-1, got {value!r}")
    return value
