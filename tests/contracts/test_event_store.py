"""The event store contract: every scenario runs on SQLite and on PostgreSQL."""

from __future__ import annotations

import tracemalloc
from datetime import UTC, datetime, timedelta
from uuid import uuid4

import pytest

from event_store import (
    AppendCondition,
    AppendConditionFailed,
    DuplicateEventId,
    EventStore,
    NewEvent,
    Query,
    QueryItem,
)

ISSUE = "issue:local:demo#1"
OTHER_ISSUE = "issue:local:demo#2"


def claim(tag: str = ISSUE, worker: str = "w1") -> NewEvent:
    return NewEvent("ISSUE.CLAIMED", {"worker": worker}, tags=[tag, f"worker:{worker}"])


def claimed(tag: str = ISSUE) -> Query:
    return Query.of(types=["ISSUE.CLAIMED"], tags=[tag])


def positions(store: EventStore, query: Query | None = None, **bounds: int | None) -> list[int]:
    return [event.position for event in store.read(query, **bounds)]


def test_empty_store_has_head_zero_and_no_events(store: EventStore) -> None:
    assert store.head() == 0
    assert list(store.read()) == []


def test_append_returns_consecutive_positions_and_round_trips_fields(store: EventStore) -> None:
    before = datetime.now(UTC) - timedelta(seconds=5)
    new = NewEvent(
        "PLAN.PROPOSED", {"plan": "fix", "steps": [1, 2], "nested": {"ok": True}}, [ISSUE], {"by": "me"}
    )
    assert store.append([new]) == 1
    assert store.append([claim()]) == 2
    first = next(iter(store.read()))
    assert (first.position, first.id, first.type) == (1, new.id, "PLAN.PROPOSED")
    assert first.data == {"plan": "fix", "steps": [1, 2], "nested": {"ok": True}}
    assert (first.tags, first.metadata) == ((ISSUE,), {"by": "me"})
    assert before <= first.recorded_at <= datetime.now(UTC) + timedelta(seconds=5)
    assert store.head() == 2


def test_batch_gets_consecutive_positions_in_order(store: EventStore) -> None:
    store.append([claim()])
    batch = [NewEvent(f"STEP.{i}", {"i": i}) for i in range(5)]
    assert store.append(batch) == 6
    stored = list(store.read(after=1))
    assert [(e.position, e.id) for e in stored] == [(2 + i, new.id) for i, new in enumerate(batch)]


def test_reads_filter_by_type_tag_and_position(store: EventStore) -> None:
    store.append(
        [
            NewEvent("A", tags=["x"]),  # 1
            NewEvent("B", tags=["x", "y"]),  # 2
            NewEvent("A", tags=["y"]),  # 3
            NewEvent("C"),  # 4
            NewEvent("B", tags=["y", "x", "z"]),  # 5
        ]
    )
    assert positions(store, Query.of(types=["A"])) == [1, 3]
    assert positions(store, Query.of(types=["A", "C"])) == [1, 3, 4]
    assert positions(store, Query.of(tags=["x"])) == [1, 2, 5]
    assert positions(store, Query.of(tags=["x", "y"])) == [2, 5]
    assert positions(store, Query.of(types=["B"], tags=["z"])) == [5]
    assert positions(store, Query([QueryItem(types=["C"]), QueryItem(tags=["y"])])) == [2, 3, 4, 5]
    assert positions(store, Query.all()) == [1, 2, 3, 4, 5]
    assert positions(store, Query([QueryItem()])) == [1, 2, 3, 4, 5]
    assert positions(store, Query.of(tags=["nope"])) == []
    assert positions(store, after=2) == [3, 4, 5]
    assert positions(store, until=3) == [1, 2, 3]
    assert positions(store, Query.of(tags=["y"]), after=2, until=4) == [3]
    assert positions(store, limit=2) == [1, 2]
    assert positions(store, Query.of(tags=["x"]), after=1, limit=1) == [2]
    assert positions(store, limit=0) == []


def test_condition_with_after_none_fails_if_any_match_exists(store: EventStore) -> None:
    store.append([claim()], condition=AppendCondition(claimed(), after=None))
    with pytest.raises(AppendConditionFailed) as failure:
        store.append([claim(worker="w2")], condition=AppendCondition(claimed(), after=None))
    assert failure.value.conflicting_position == 1
    assert positions(store) == [1]


def test_condition_with_after_only_sees_later_events(store: EventStore) -> None:
    store.append([claim()])  # 1
    store.append([NewEvent("ISSUE.RELEASED", tags=[ISSUE])])  # 2
    assert store.append([claim(worker="w2")], condition=AppendCondition(claimed(), after=1)) == 3
    with pytest.raises(AppendConditionFailed) as failure:
        store.append([claim(worker="w3")], condition=AppendCondition(claimed(), after=2))
    assert failure.value.conflicting_position == 3
    assert store.head() == 3


def test_condition_ignores_unrelated_tags_and_types(store: EventStore) -> None:
    store.append([claim(OTHER_ISSUE), NewEvent("ISSUE.RELEASED", tags=[ISSUE])])
    assert store.append([claim()], condition=AppendCondition(claimed(), after=None)) == 3


def test_condition_needs_all_tags_of_an_item(store: EventStore) -> None:
    store.append([NewEvent("ISSUE.CLAIMED", tags=[ISSUE])])
    both = Query.of(types=["ISSUE.CLAIMED"], tags=[ISSUE, "worker:w1"])
    assert store.append([claim()], condition=AppendCondition(both, after=None)) == 2
    with pytest.raises(AppendConditionFailed):
        store.append([claim()], condition=AppendCondition(both, after=None))


def test_condition_on_types_only_and_on_everything(store: EventStore) -> None:
    store.append([NewEvent("A"), NewEvent("B")])
    with pytest.raises(AppendConditionFailed):
        store.append([NewEvent("C")], condition=AppendCondition(Query.of(types=["B"]), after=None))
    assert store.append([NewEvent("C")], condition=AppendCondition(Query.of(types=["Z"]))) == 3
    with pytest.raises(AppendConditionFailed):
        store.append([NewEvent("D")], condition=AppendCondition(Query.all(), after=2))
    assert store.append([NewEvent("D")], condition=AppendCondition(Query.all(), after=3)) == 4


def test_condition_with_any_item_matching_fails(store: EventStore) -> None:
    store.append([NewEvent("B", tags=["y"])])
    either = Query([QueryItem(types=["A"]), QueryItem(tags=["y"])])
    with pytest.raises(AppendConditionFailed):
        store.append([NewEvent("A")], condition=AppendCondition(either))


def test_failed_condition_writes_nothing_of_the_batch(store: EventStore) -> None:
    store.append([claim()])
    batch = [NewEvent("X.ONE"), NewEvent("X.TWO"), claim(worker="w2")]
    with pytest.raises(AppendConditionFailed):
        store.append(batch, condition=AppendCondition(claimed()))
    assert positions(store) == [1]
    assert store.append([NewEvent("X.THREE")]) == 2, "a failed append must not consume positions"


def test_retried_batch_is_stored_once_and_returns_its_position(store: EventStore) -> None:
    batch = [claim(), NewEvent("PLAN.PROPOSED", tags=[ISSUE])]
    assert store.append(batch, condition=AppendCondition(claimed())) == 2
    store.append([NewEvent("LATER")])
    assert store.append(batch, condition=AppendCondition(claimed())) == 2
    assert positions(store) == [1, 2, 3]


def test_reused_id_in_a_different_batch_is_refused(store: EventStore) -> None:
    first = claim()
    store.append([first])
    with pytest.raises(DuplicateEventId) as refused:
        store.append([NewEvent("NEW"), first])
    assert refused.value.event_id == first.id
    changed = NewEvent("OTHER.TYPE", id=first.id)
    with pytest.raises(DuplicateEventId):
        store.append([changed])
    assert positions(store) == [1]


def test_id_twice_in_one_batch_is_refused(store: EventStore) -> None:
    shared = uuid4()
    with pytest.raises(DuplicateEventId, match="twice"):
        store.append([NewEvent("A", id=shared), NewEvent("B", id=shared)])
    assert store.head() == 0


def test_large_read_streams_in_bounded_memory(store_url: str) -> None:
    payload = {"blob": "x" * 1000}
    with EventStore(store_url, read_batch_size=200) as store:
        for start in range(0, 10_000, 1000):
            store.append([NewEvent("BIG", payload, tags=[f"n:{start + i}"]) for i in range(1000)])
        tracemalloc.start()
        count, last = 0, 0
        for event in store.read():
            assert event.position == last + 1
            count, last = count + 1, event.position
        _, peak = tracemalloc.get_traced_memory()
        tracemalloc.stop()
    assert count == 10_000
    # Holding all 10k events (~10 MB of payload) would peak far above this.
    assert peak < 4_000_000, f"read peaked at {peak} bytes"
