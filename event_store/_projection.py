"""Projections: state as a pure fold over events, and the same fold stopped early.

    claims = Projection(initial=None, apply=lambda owner, e: owner or e.data["worker"],
                        query=Query.of(types=["ISSUE.CLAIMED"], tags=[issue_tag]))
    view = claims.run(store)                     # fold the boundary up to now
    if view.state is None:                       # decide
        store.append([claim], condition=view.condition())   # append with after = what we saw
    claims.state_at(store, position=42)          # time travel: the fold stopped at 42

`apply(state, event) -> state` must not mutate its input: the same initial value is shared
by every run, and a fold stopped at position P must not see effects of later events.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Generic, TypeVar

from event_store._model import AppendCondition, Event, Query

if TYPE_CHECKING:
    from event_store._store import EventStore

__all__ = ["ProjectedState", "Projection"]

S = TypeVar("S")


@dataclass(frozen=True, slots=True)
class ProjectedState(Generic[S]):
    """A folded state and the position of the last event folded into it (None: no event)."""

    state: S
    position: int | None
    query: Query

    def condition(self) -> AppendCondition:
        """The condition that makes an append fail if the boundary changed since this fold."""
        return AppendCondition(self.query, after=self.position)


@dataclass(frozen=True, slots=True)
class Projection(Generic[S]):
    """A fold of the events matching `query`, starting from `initial`."""

    initial: S
    apply: Callable[[S, Event], S]
    query: Query = field(default_factory=Query.all)

    def fold(self, events: Iterable[Event]) -> ProjectedState[S]:
        """Fold events that the caller already has (e.g. a list read once)."""
        state, position = self.initial, None
        for event in events:
            if self.query.matches(event):
                state, position = self.apply(state, event), event.position
        return ProjectedState(state, position, self.query)

    def run(self, store: EventStore, *, until: int | None = None) -> ProjectedState[S]:
        """Read the boundary from the store (up to `until`, if given) and fold it."""
        return self.fold(store.read(self.query, until=until))

    def state_at(self, store: EventStore, position: int) -> S:
        """The state as it was right after the event at `position`: time travel."""
        return self.run(store, until=position).state
