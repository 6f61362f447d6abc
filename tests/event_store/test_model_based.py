"""The event store against a list in memory: random appends, conditions, retries and reads.

Example-based contract tests check the cases someone thought of; this machine interleaves
them at random and compares every outcome (position, error, stored fields) with a model
that restates the matching rule of `event_store._model` on its own, so a bug in
`Query.matches` or in the SQL would both show up as a disagreement.
"""

from __future__ import annotations

import itertools
import shutil
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from uuid import UUID

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from hypothesis.stateful import (
    RuleBasedStateMachine,
    invariant,
    precondition,
    rule,
    run_state_machine_as_test,
)

from event_store import (
    AppendCondition,
    AppendConditionFailed,
    DuplicateEventId,
    Event,
    EventStore,
    InvalidEvent,
    NewEvent,
    Query,
    QueryItem,
)
from event_store._json import storable_text
from tests.conftest import BACKENDS, empty_postgres

TYPES = ("A", "B", "C")
TAGS = ("x", "y", "z")

# (types, tags) of one query item; an empty list of items matches every event.
ModelItem = tuple[list[str], list[str]]
EventSpec = tuple[str, list[str], dict[str, Any]]

INT64 = 2**63 - 1


def json_objects(text: st.SearchStrategy[str], scalars: st.SearchStrategy[Any]) -> st.SearchStrategy[Any]:
    return st.dictionaries(text, scalars | st.lists(scalars, max_size=2), max_size=3)


# The machine stores JSON every backend must keep as is; the edge cases have their own fast
# round-trip test at the end of this file, which shrinks in seconds rather than minutes.
plain_text = st.text(st.characters(codec="utf-8", exclude_characters="\x00"), max_size=5)
plain_scalars = st.none() | st.booleans() | st.integers(-INT64, INT64) | plain_text
plain_objects = json_objects(plain_text, plain_scalars)


def text_with(char: str) -> st.SearchStrategy[str]:
    return st.builds(lambda head, tail: head + char + tail, plain_text, plain_text)


# Edge case -> (risky text for keys, values and tags; risky scalar values).
EDGE_CASES: dict[str, tuple[st.SearchStrategy[str], st.SearchStrategy[Any]]] = {
    "plain": (st.nothing(), st.nothing()),
    "floats": (st.nothing(), st.floats(allow_nan=False, allow_infinity=False)),
    "ints-beyond-64-bits": (st.nothing(), st.integers(INT64 + 1, 2**70) | st.integers(-(2**70), -INT64 - 2)),
    "nul-characters": (text_with("\x00"), st.nothing()),
    "lone-surrogates": (text_with("\ud800") | text_with("\udfff"), st.nothing()),
}

event_specs = st.tuples(st.sampled_from(TYPES), st.lists(st.sampled_from(TAGS), max_size=3), plain_objects)
query_items = st.lists(
    st.tuples(st.lists(st.sampled_from(TYPES), max_size=2), st.lists(st.sampled_from(TAGS), max_size=2)),
    max_size=2,
)

SETTINGS = settings(
    max_examples=150,
    stateful_step_count=20,
    # Shrinking a stateful run replays it thousands of times: one bug at a time keeps a
    # failing run near a minute instead of hypothesis' five-minute shrink cap.
    report_multiple_bugs=False,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow],
)


@dataclass(frozen=True)
class ModelEvent:
    """What the store should hand back, built from the drawn spec rather than from NewEvent."""

    position: int
    new: NewEvent
    spec: EventSpec

    @property
    def tags(self) -> list[str]:
        return list(dict.fromkeys(self.spec[1]))  # duplicates dropped, first occurrence kept


def model_matches(items: Sequence[ModelItem], event: ModelEvent) -> bool:
    """The rule, restated: any item whose types (if any) include the type and whose tags the
    event all carries; no items match everything."""
    if not items:
        return True
    return any(
        (not types or event.spec[0] in types) and set(tags) <= set(event.tags) for types, tags in items
    )


def to_query(items: Sequence[ModelItem]) -> Query:
    return Query([QueryItem(types=types, tags=tags) for types, tags in items])


def strict(value: Any) -> Any:
    """JSON compared with its types, so 1e16 read back as the int 10**16 is a difference."""
    if isinstance(value, dict):
        return sorted((key, strict(item)) for key, item in value.items())
    if isinstance(value, list):
        return [strict(item) for item in value]
    return (type(value).__name__, value)


def stored_view(event: Event) -> tuple[Any, ...]:
    return (
        event.position,
        event.id,
        event.type,
        list(event.tags),
        strict(event.data),
        strict(event.metadata),
    )


def model_view(event: ModelEvent) -> tuple[Any, ...]:
    event_type, _, data = event.spec
    return (
        event.position,
        event.new.id,
        event_type,
        event.tags,
        strict(data),
        strict(metadata_of(event.new.id)),
    )


def metadata_of(event_id: UUID) -> dict[str, Any]:
    return {"id": event_id.int}


def unstorable(value: Any) -> bool:
    """Values a backend cannot hold (JSON decoders have no ints beyond 64 bits, and JSONB turns
    integral floats into ints): NewEvent may reject these with InvalidEvent. Text always fits:
    NUL and lone surrogates are mapped (see `as_stored`)."""
    if isinstance(value, bool):
        return False
    if isinstance(value, int | float) and (isinstance(value, int) or value.is_integer()):
        return not -(2**63) <= value <= INT64
    if isinstance(value, dict):
        return any(unstorable(key) or unstorable(item) for key, item in value.items())
    if isinstance(value, list | tuple):
        return any(unstorable(item) for item in value)
    return False


def as_stored(value: Any) -> Any:
    """`value` with its text as the store keeps it."""
    if isinstance(value, str):
        return storable_text(value)
    if isinstance(value, dict):
        return {storable_text(key): as_stored(item) for key, item in value.items()}
    if isinstance(value, list | tuple):
        return [as_stored(item) for item in value]
    return value


class EventStoreMachine(RuleBasedStateMachine):
    """One store, one model; the test subclasses it with `open_store`/`close_store` for a backend."""

    open_store: Callable[[], EventStore]
    close_store: Callable[[EventStore], None]

    def __init__(self) -> None:
        super().__init__()
        self.store = type(self).open_store()
        self.events: list[ModelEvent] = []
        self.batches: list[tuple[list[NewEvent], int]] = []
        self.ids = itertools.count(1)

    def teardown(self) -> None:
        type(self).close_store(self.store)

    # --- helpers -------------------------------------------------------------------------

    def head(self) -> int:
        return len(self.events)

    def new_event(self, spec: EventSpec) -> NewEvent | None:
        """A fresh event, or None when NewEvent rejects data the model agrees is unstorable."""
        event_type, tags, data = spec
        try:
            event_id = UUID(int=next(self.ids))
            return NewEvent(event_type, data, tags, metadata_of(event_id), id=event_id)
        except InvalidEvent:
            assert unstorable(data), f"NewEvent rejected storable data {data!r}"
            return None

    def first_match(self, items: Sequence[ModelItem], after: int | None) -> int | None:
        return next(
            (e.position for e in self.events if e.position > (after or 0) and model_matches(items, e)), None
        )

    def bounded(self, events: Iterator[Event]) -> Iterator[Event]:
        """At most one event more than the model holds: a read that never ends fails, not hangs."""
        return itertools.islice(events, self.head() + 1)

    def draw_after(self, data: st.DataObject) -> int | None:
        head = self.head()
        recent = st.integers(max(0, head - 3), head + 1)  # few events after: conditions can pass
        return data.draw(st.none() | st.integers(0, head + 1) | recent, label="after")

    def check_append(self, specs: list[EventSpec], items: list[ModelItem] | None, after: int | None) -> None:
        """Append new events; the model predicts the position or the first conflicting event."""
        built = [self.new_event(spec) for spec in specs]
        events = [e for e in built if e is not None]
        if len(events) < len(built):
            return
        condition = None
        if items is not None:
            condition = AppendCondition(to_query(items), after=after)
            conflict = self.first_match(items, after)
            if conflict is not None:
                with pytest.raises(AppendConditionFailed) as failed:
                    self.store.append(events, condition)
                assert (failed.value.conflicting_position, failed.value.after) == (conflict, after)
                return
        position = self.store.append(events, condition)
        assert position == self.head() + len(events)
        head = self.head()
        self.events.extend(
            ModelEvent(head + offset, e, spec)
            for offset, (e, spec) in enumerate(zip(events, specs, strict=True), start=1)
        )
        self.batches.append((events, position))

    # --- rules ---------------------------------------------------------------------------

    @rule(specs=st.lists(event_specs, min_size=1, max_size=3), items=st.none() | query_items, data=st.data())
    def append(self, specs: list[EventSpec], items: list[ModelItem] | None, data: st.DataObject) -> None:
        """A new batch: stored at head+1.. unless an event matching the condition lies after `after`."""
        self.check_append(specs, items, None if items is None else self.draw_after(data))

    @precondition(lambda self: self.events)
    @rule(spec=event_specs, data=st.data())
    def append_near_miss(self, spec: EventSpec, data: st.DataObject) -> None:
        """Conditions built around a stored event (its exact boundary, one tag too many, the
        other types): random queries rarely land this close, and PostgreSQL checks conditions
        in SQL of its own, apart from the one reads use."""
        target = self.events[data.draw(st.integers(1, self.head()), label="target position") - 1]
        event_type, tags = target.spec[0], target.tags
        missing = [tag for tag in TAGS if tag not in tags]
        variant = data.draw(st.sampled_from(["exact", "other-types", "extra-tag"][: 3 if missing else 2]))
        if variant == "exact":
            item = ([event_type], tags)
        elif variant == "other-types":
            item = ([t for t in TYPES if t != event_type], tags)
        else:
            extra = data.draw(st.sampled_from(missing), label="extra tag")
            item = ([event_type], data.draw(st.permutations([*tags, extra]), label="tags"))
        after = data.draw(st.integers(max(0, target.position - 2), target.position), label="after")
        self.check_append([spec], [item], after)

    @precondition(lambda self: self.batches)
    @rule(items=st.none() | query_items, data=st.data())
    def retry(self, items: list[ModelItem] | None, data: st.DataObject) -> None:
        """A retried batch returns the position it got the first time and stores nothing,
        whatever its condition says now (a claim's own event would make it fail)."""
        events, position = self.batches[data.draw(st.integers(0, len(self.batches) - 1), label="batch index")]
        condition = None if items is None else AppendCondition(to_query(items), after=self.draw_after(data))
        assert self.store.append(events, condition) == position

    @precondition(lambda self: self.events)
    @rule(shape=st.sampled_from(["mixed", "retyped", "reversed", "twice"]), spec=event_specs, data=st.data())
    def reuse_id(self, shape: str, spec: EventSpec, data: st.DataObject) -> None:
        """A stored id in any batch that is not a retry of its own append is refused."""
        stored = self.events[data.draw(st.integers(1, self.head()), label="stored position") - 1].new
        fresh = self.new_event(spec)
        if fresh is None:
            return
        culprit: UUID | None = stored.id
        if shape == "mixed":
            batch = [stored, fresh] if data.draw(st.booleans(), label="stored first") else [fresh, stored]
        elif shape == "retyped":
            other = data.draw(st.sampled_from([t for t in TYPES if t != stored.type]), label="type")
            batch = [NewEvent(other, stored.data, stored.tags, stored.metadata, id=stored.id)]
        elif shape == "reversed" and any(len(events) > 1 for events, _ in self.batches):
            multi = [events for events, _ in self.batches if len(events) > 1]
            batch = multi[data.draw(st.integers(0, len(multi) - 1), label="multi-event batch index")][::-1]
            culprit = None  # any id of the batch may be named
        else:  # "twice" (or "reversed" with no multi-event batch): the same id twice in one batch
            twice = stored if data.draw(st.booleans(), label="stored id twice") else fresh
            batch, culprit = [twice, twice], twice.id
        with pytest.raises(DuplicateEventId) as refused:
            self.store.append(batch)
        if culprit is None:
            assert refused.value.event_id in {e.id for e in batch}
        else:
            assert refused.value.event_id == culprit

    @precondition(lambda self: self.events)
    @rule(data=st.data())
    def reappend_run(self, data: st.DataObject) -> None:
        """Stored events re-sent in stored order: an exact batch is a retry. A run that is not
        one of the appended batches (part of one, or spanning two) is accepted either way: the
        store keeps no batch boundaries and answers with the run's last position, though the
        EventStore docstring reads as if it should refuse. Nothing may be stored in any case."""
        start = data.draw(st.integers(0, self.head() - 1), label="start")
        stop = data.draw(st.integers(start + 1, min(self.head(), start + 4)), label="stop")
        run = [e.new for e in self.events[start:stop]]
        exact = any(events == run for events, _ in self.batches)
        try:
            position = self.store.append(run)
        except DuplicateEventId:
            assert not exact, "an exact retry was refused"
            return
        assert position == stop  # the run's last position, as for an exact retry

    @rule(
        items=st.none() | query_items,
        limit=st.none() | st.integers(0, 4),
        batch_size=st.sampled_from([1, 2, 3, 1000]),
        data=st.data(),
    )
    def read(
        self, items: list[ModelItem] | None, limit: int | None, batch_size: int, data: st.DataObject
    ) -> None:
        """Reads return the matching events with after < position <= until, in order, up to
        limit, however many keyset pages (tiny `read_batch_size`) they take."""
        after = self.draw_after(data)
        until = data.draw(st.none() | st.integers(0, self.head() + 1), label="until")
        query = None if items is None else to_query(items)
        expected = [
            model_view(e)
            for e in self.events
            if e.position > (after or 0)
            and (until is None or e.position <= until)
            and model_matches(items or [], e)
        ][:limit]
        default_batch_size, self.store.read_batch_size = self.store.read_batch_size, batch_size
        try:
            events = self.store.read(query, after=after, until=until, limit=limit)
            got = [stored_view(e) for e in self.bounded(events)]
        finally:
            self.store.read_batch_size = default_batch_size
        assert got == expected

    # --- invariants ----------------------------------------------------------------------

    @invariant()
    def store_holds_exactly_the_model(self) -> None:
        """Nothing written by failed appends or retries; every field round-trips."""
        assert self.store.head() == self.head()
        stored = list(self.bounded(self.store.read()))
        assert [stored_view(e) for e in stored] == [model_view(e) for e in self.events]
        assert all(e.recorded_at.tzinfo is not None for e in stored)


# A failing run replays the machine while shrinking, up to hypothesis' own five-minute cap;
# past the suite's 300 s timeout it would end as a confusing "flaky" error instead of a report.
@pytest.mark.timeout(600)
@pytest.mark.parametrize("backend", BACKENDS)
def test_store_agrees_with_in_memory_model(
    backend: str, request: pytest.FixtureRequest, tmp_path: Path
) -> None:
    """Each hypothesis example gets an empty store: a fresh copy of a migrated SQLite file
    (migrating each one would dominate the run time) or the emptied session database."""

    def close_store(store: EventStore) -> None:
        """SQLite files are one per example; the PostgreSQL store and its pool serve them all."""
        if store.backend == "sqlite":
            store.close()

    if backend == "sqlite":
        template = tmp_path / "template.db"
        EventStore(f"sqlite:///{template}").close()
        database = tmp_path / "model.db"

        def open_store() -> EventStore:
            for leftover in (database, Path(f"{database}-wal"), Path(f"{database}-shm")):
                leftover.unlink(missing_ok=True)
            shutil.copyfile(template, database)
            return EventStore(f"sqlite:///{database}")

    else:
        url: str = request.getfixturevalue("postgres_url")
        shared = EventStore(url)  # one connection pool for every example; only the rows go
        request.addfinalizer(shared.close)

        def open_store() -> EventStore:
            empty_postgres(url)
            return shared

    machine = type(
        "EventStoreModel",
        (EventStoreMachine,),
        {"open_store": staticmethod(open_store), "close_store": staticmethod(close_store)},
    )
    run_state_machine_as_test(machine, settings=SETTINGS)


@pytest.mark.parametrize("edge_case", EDGE_CASES)
@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(draw=st.data())
def test_event_fields_round_trip_or_are_rejected_up_front(
    store: EventStore, edge_case: str, draw: st.DataObject
) -> None:
    """NewEvent promises to reject what the database could not store faithfully, so an event
    either fails with InvalidEvent before any I/O or reads back exactly (types included).

    The one store serves every example: each reads back only the position it appended.
    """
    risky_text, risky_scalars = EDGE_CASES[edge_case]
    text = plain_text | risky_text
    objects = json_objects(text, plain_scalars | risky_scalars | text)
    data, metadata = draw.draw(objects, label="data"), draw.draw(objects, label="metadata")
    tags = draw.draw(st.lists(text.filter(bool), max_size=3), label="tags")
    try:
        new = NewEvent("ROUND.TRIP", data, tags, metadata)
    except InvalidEvent:
        assert unstorable([data, metadata, tags]), "a storable event was rejected"
        return
    # NewEvent may normalize (an integral float becomes an int, NUL and surrogates become visible
    # stand-ins) but never change anything else.
    assert (new.data, new.metadata) == (as_stored(data), as_stored(metadata))
    position = store.append(new)
    [event] = store.read(after=position - 1, until=position)
    assert (event.id, event.tags, strict(event.data), strict(event.metadata)) == (
        new.id,
        tuple(dict.fromkeys(storable_text(tag) for tag in tags)),
        strict(new.data),
        strict(new.metadata),
    )
