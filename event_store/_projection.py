"""Projections: state as a pure fold over events, and the same fold stopped early.

    claims = Projection(initial=None, apply=lambda owner, e: owner or e.data["worker"],
                        query=Query.of(types=["ISSUE.CLAIMED"], tags=[issue_tag]))
    view = claims.run(store)                     # fold the boundary up to now
    if view.state is None:                       # decide
        store.append([claim], condition=view.condition())   # append with after = what we saw
    claims.state_at(store, position=42)          # time travel: the fold stopped at 42
    view = claims.resume(store, view)            # later: fold only what was appended since

`apply(state, event) -> state` must not mutate its input: the same initial value is shared
by every run, a fold stopped at position P must not see effects of later events, and a view
kept to be resumed must not change under its keeper.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Generic, TypeVar

from event_store._errors import InvalidEvent
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

    def fold(self, events: Iterable[Event], *, onto: ProjectedState[S] | None = None) -> ProjectedState[S]:
        """Fold events that the caller already has (e.g. a list read once), starting from
        `initial` or, given `onto`, from that earlier view of the events before them."""
        state, position = (self.initial, None) if onto is None else (onto.state, onto.position)
        for event in events:
            if self.query.matches(event):
                state, position = self.apply(state, event), event.position
        return ProjectedState(state, position, self.query)

    def run(self, store: EventStore, *, until: int | None = None) -> ProjectedState[S]:
        """Read the boundary from the store (up to `until`, if given) and fold it."""
        return self.fold(store.read(self.query, until=until))

    def resume(self, store: EventStore, view: ProjectedState[S]) -> ProjectedState[S]:
        """`view` brought up to date: what `run` returns now, reading only the events after it.

        Sound because the stream only grows at its end: positions become visible in order
        (appends serialize on one lock), so no event can still appear at or below a
        position that a read has passed, and `view` already holds everything up to it.
        """
        if view.query != self.query:
            raise InvalidEvent("resume takes a view of this projection's query")
        return self.fold(store.read(self.query, after=view.position or 0), onto=view)

    def state_at(self, store: EventStore, position: int) -> S:
        """The state as it was right after the event at `position`: time travel."""
        return self.run(store, until=position).state
