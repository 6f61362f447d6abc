"""Text no backend can keep (NUL, lone surrogates) is stored changed, the same way on both
backends, instead of failing the append: it is mostly someone else's, and a refused append
would end the run."""

from __future__ import annotations

import pytest

from event_store import AppendCondition, AppendConditionFailed, EventStore, NewEvent, Query

BAD = "a\x00b\ud800c\udfff"
STORED = "a\u2400b\ufffdc\ufffd"


def test_nul_and_lone_surrogates_are_stored_visibly_everywhere_in_an_event(store: EventStore) -> None:
    data = {BAD: BAD, "nested": [BAD, {BAD: [BAD, 1, None]}], "clean": "café ✓ 😀"}
    new = NewEvent("ISSUE.FETCHED", data, tags=[f"title:{BAD}"], metadata={"actor": BAD})
    expected_data = {STORED: STORED, "nested": [STORED, {STORED: [STORED, 1, None]}], "clean": "café ✓ 😀"}
    assert (new.data, new.tags, new.metadata) == (expected_data, (f"title:{STORED}",), {"actor": STORED})

    position = store.append(new)

    [event] = store.read()
    assert event.position == position
    assert (event.data, event.tags, event.metadata) == (new.data, new.tags, new.metadata)


def test_queries_and_conditions_map_their_tags_the_same_way(store: EventStore) -> None:
    store.append(NewEvent("X", tags=[f"title:{BAD}"]))
    assert [e.type for e in store.read(Query.of(tags=[f"title:{BAD}"]))] == ["X"]
    with pytest.raises(AppendConditionFailed):
        store.append(NewEvent("Y"), AppendCondition(Query.of(tags=[f"title:{STORED}"])))


def test_tags_that_become_equal_are_kept_once() -> None:
    assert NewEvent("X", tags=["a\x00", "a\u2400"]).tags == ("a\u2400",)


@pytest.mark.parametrize("text", ["plain", "café ✓ 😀", STORED, ""])
def test_storable_text_is_kept_as_it_is(text: str) -> None:
    assert NewEvent("X", {"k": text}).data == {"k": text}
