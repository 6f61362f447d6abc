"""Text that array literals must quote reaches the store intact, in events and in conditions.

PostgreSQL appends send their arguments as array literals written by the store (see
`event_store._postgres`); these strings are the ones such a literal would get wrong unquoted.
"""

from __future__ import annotations

import pytest

from event_store import AppendCondition, AppendConditionFailed, EventStore, NewEvent, Query

AWKWARD = ['say "hi"', "back\\slash", "a,b", "{braced}", "NULL", " padded ", "ünïcødé ✓", '\\"', '}"{']


@pytest.mark.parametrize("text", AWKWARD)
def test_awkward_text_round_trips_and_conditions_match_it(store: EventStore, text: str) -> None:
    event_type = "T." + text.replace(" ", "_")
    event = NewEvent(event_type, {text: [text]}, [text, f"tag:{text}"], {"by": text})
    assert store.append([event, NewEvent("OTHER", tags=["unrelated"])]) == 2
    [stored] = store.read(Query.of(tags=[text]))
    assert (stored.type, stored.data, stored.tags, stored.metadata) == (
        event_type,
        {text: [text]},
        (text, f"tag:{text}"),
        {"by": text},
    )
    for query in (Query.of(types=[event_type]), Query.of(tags=[f"tag:{text}", text])):
        with pytest.raises(AppendConditionFailed) as refused:
            store.append([NewEvent("LATER")], AppendCondition(query))
        assert refused.value.conflicting_position == 1
    assert store.append([NewEvent("LATER")], AppendCondition(Query.of(types=[event_type]), after=1)) == 3
