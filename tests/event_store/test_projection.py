"""Projections: fold, decide, append with the fold's position; state at an earlier point."""

from __future__ import annotations

import pytest

from event_store import AppendConditionFailed, Event, EventStore, NewEvent, Projection, Query

ISSUE = "issue:local:demo#1"


def lifecycle(state: tuple[str, ...], event: Event) -> tuple[str, ...]:
    return (*state, event.type)


def owner(current: str | None, event: Event) -> str | None:
    if event.type == "ISSUE.CLAIMED":
        return current or event.data["worker"]
    return None  # ISSUE.RELEASED


CLAIMS = Projection(None, owner, Query.of(types=["ISSUE.CLAIMED", "ISSUE.RELEASED"], tags=[ISSUE]))


def test_state_at_a_position_is_the_fold_stopped_there(store: EventStore) -> None:
    history = Projection((), lifecycle, Query.of(tags=[ISSUE]))
    for event_type in ["ISSUE.SELECTED", "ISSUE.CLAIMED", "PLAN.PROPOSED", "PR.CREATED"]:
        store.append([NewEvent(event_type, tags=[ISSUE])])
    store.append([NewEvent("ELSEWHERE", tags=["issue:other#9"])])
    assert history.state_at(store, 2) == ("ISSUE.SELECTED", "ISSUE.CLAIMED")
    assert history.state_at(store, 0) == ()
    now = history.run(store)
    assert now.state == ("ISSUE.SELECTED", "ISSUE.CLAIMED", "PLAN.PROPOSED", "PR.CREATED")
    assert now.position == 4


def test_decision_from_a_stale_fold_is_refused(store: EventStore) -> None:
    view = CLAIMS.run(store)
    assert view.state is None
    assert view.position is None
    store.append([NewEvent("ISSUE.CLAIMED", {"worker": "w1"}, [ISSUE])], condition=view.condition())
    with pytest.raises(AppendConditionFailed):  # w2 decided on the same, now stale, view
        store.append([NewEvent("ISSUE.CLAIMED", {"worker": "w2"}, [ISSUE])], condition=view.condition())
    store.append([NewEvent("ISSUE.RELEASED", tags=[ISSUE])])
    fresh = CLAIMS.run(store)
    assert (fresh.state, fresh.position) == (None, 2)
    store.append([NewEvent("ISSUE.CLAIMED", {"worker": "w2"}, [ISSUE])], condition=fresh.condition())
    assert CLAIMS.run(store).state == "w2"
    assert CLAIMS.state_at(store, 1) == "w1"


def test_fold_of_events_in_hand_skips_what_the_query_does_not_match(store: EventStore) -> None:
    store.append([NewEvent("ISSUE.CLAIMED", {"worker": "w1"}, [ISSUE]), NewEvent("NOISE", tags=[ISSUE])])
    assert CLAIMS.fold(store.read()).state == "w1"
