"""Incremental projections: the same answer as a full fold, reading only what is new."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from event_store import (
    AppendConditionFailed,
    Event,
    EventStore,
    IncrementalProjection,
    InvalidEvent,
    NewEvent,
    Projection,
    Query,
)

RUN = "run:r-1"
RUN_QUERY = Query.of(tags=[RUN])


def history(state: tuple[str, ...], event: Event) -> tuple[str, ...]:
    return (*state, f"{event.type}@{event.position}")


class ReadCounter:
    """Counts the events `store.read` hands out: what a fold costs, whatever the backend."""

    def __init__(self, store: EventStore, monkeypatch: pytest.MonkeyPatch) -> None:
        self.events = 0
        original = store.read

        def counted(*args: Any, **kwargs: Any) -> Iterator[Event]:
            for event in original(*args, **kwargs):
                self.events += 1
                yield event

        monkeypatch.setattr(store, "read", counted)

    def take(self) -> int:
        """Events read since the last call."""
        counted, self.events = self.events, 0
        return counted


def test_every_answer_equals_a_full_fold(store: EventStore) -> None:
    runs = IncrementalProjection((), history)
    full = Projection((), history, RUN_QUERY)
    assert runs.run(store, RUN_QUERY) == full.run(store)  # nothing stored yet: position None
    for step in range(12):
        tags = [RUN] if step % 3 else ["run:r-2"]  # other runs' events interleave
        store.append([NewEvent(f"STEP.{step}", tags=tags)])
        assert runs.run(store, RUN_QUERY) == full.run(store)


def test_a_step_reads_only_the_events_appended_since_the_last(
    store: EventStore, monkeypatch: pytest.MonkeyPatch
) -> None:
    runs = IncrementalProjection((), history)
    store.append([NewEvent(f"EARLY.{n}", tags=[RUN]) for n in range(5)])
    reads = ReadCounter(store, monkeypatch)
    assert len(runs.run(store, RUN_QUERY).state) == 5
    assert reads.take() == 5
    assert runs.run(store, RUN_QUERY).position == 5
    assert reads.take() == 0, "nothing new, nothing read"
    store.append([NewEvent("ELSEWHERE", tags=["run:r-2"]), NewEvent("LATE", tags=[RUN])])
    view = runs.run(store, RUN_QUERY)
    assert reads.take() == 1
    assert view.state[-1] == "LATE@7"
    assert view.position == 7


def test_a_view_condition_refuses_an_append_after_the_boundary_moved(store: EventStore) -> None:
    runs = IncrementalProjection((), history)
    store.append([NewEvent("STARTED", tags=[RUN])])
    view = runs.run(store, RUN_QUERY)
    store.append([NewEvent("STEP", tags=[RUN])])
    with pytest.raises(AppendConditionFailed):
        store.append([NewEvent("DECIDED", tags=[RUN])], condition=view.condition())
    fresh = runs.run(store, RUN_QUERY)
    assert store.append([NewEvent("DECIDED", tags=[RUN])], condition=fresh.condition()) == 3


def test_time_travel_folds_from_scratch_and_leaves_the_kept_view(
    store: EventStore, monkeypatch: pytest.MonkeyPatch
) -> None:
    runs = IncrementalProjection((), history)
    store.append([NewEvent(f"STEP.{n}", tags=[RUN]) for n in range(4)])
    runs.run(store, RUN_QUERY)
    reads = ReadCounter(store, monkeypatch)
    assert runs.run(store, RUN_QUERY, until=2).state == ("STEP.0@1", "STEP.1@2")
    assert reads.take() == 2
    assert runs.run(store, RUN_QUERY).position == 4
    assert reads.take() == 0


def test_views_are_kept_per_store(tmp_path: Path) -> None:
    runs = IncrementalProjection((), history)
    with (
        EventStore(f"sqlite:///{tmp_path / 'a.db'}") as first,
        EventStore(f"sqlite:///{tmp_path / 'b.db'}") as second,
    ):
        first.append([NewEvent("IN.A", tags=[RUN])])
        second.append([NewEvent("IN.B", tags=[RUN]), NewEvent("IN.B", tags=[RUN])])
        assert runs.run(first, RUN_QUERY).state == ("IN.A@1",)
        assert runs.run(second, RUN_QUERY).state == ("IN.B@1", "IN.B@2")
        assert runs.run(first, RUN_QUERY).state == ("IN.A@1",)


def test_the_least_recently_asked_query_is_forgotten_first(
    store: EventStore, monkeypatch: pytest.MonkeyPatch
) -> None:
    runs = IncrementalProjection((), history, capacity=2)
    queries = [Query.of(tags=[f"run:r-{n}"]) for n in range(3)]
    store.append([NewEvent("STEP", tags=[f"run:r-{n}"]) for n in range(3)])
    reads = ReadCounter(store, monkeypatch)
    for query in queries:
        runs.run(store, query)
    assert reads.take() == 3
    runs.run(store, queries[2])
    runs.run(store, queries[1])
    assert reads.take() == 0, "the two most recent queries are kept"
    runs.run(store, queries[0])
    assert reads.take() == 1, "the oldest was dropped and is read again"


def test_resume_refuses_a_view_of_another_query(store: EventStore) -> None:
    view = Projection((), history, Query.of(tags=["run:other"])).run(store)
    with pytest.raises(InvalidEvent, match="this projection's query"):
        Projection((), history, RUN_QUERY).resume(store, view)
