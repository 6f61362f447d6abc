"""Projections asked again and again: fold only what was appended since the last answer.

A worker asks for its run's state at every step. Folding the whole run each time reads
n(n+1)/2 events over a run of n; remembering the last view per store and query, and folding
only the events after it (`Projection.resume`), reads each event once.

    RUN_STATES = IncrementalProjection(RunState(), apply)       # once, at module level
    RUN_STATES.run(store, Query.of(tags=[f"run:{run_id}"]))    # every step: reads the new events
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Callable
from typing import TYPE_CHECKING, Generic, TypeVar
from weakref import WeakKeyDictionary

from event_store._model import Event, Query
from event_store._projection import ProjectedState, Projection

if TYPE_CHECKING:
    from event_store._store import EventStore

__all__ = ["IncrementalProjection"]

S = TypeVar("S")

# Views kept per store, least recently asked dropped first: a long-lived orchestrator asks
# about many runs, but only about the few in flight more than once.
DEFAULT_CAPACITY = 256


class IncrementalProjection(Generic[S]):
    """One fold (`initial`, `apply`) over many queries, remembering its last view of each.

    `run(store, query)` returns what `Projection(initial, apply, query).run(store)` would,
    reading only the events appended since this object last answered for that store and
    query. Views are kept per store object (positions mean nothing in another database)
    and vanish with it; a database emptied under a live store object (tests do that) needs a
    new store object. `apply` must not mutate its input, and callers must not mutate the
    states they get: the next answer is folded onto the same state.
    """

    def __init__(
        self, initial: S, apply: Callable[[S, Event], S], *, capacity: int = DEFAULT_CAPACITY
    ) -> None:
        self.initial = initial
        self.apply = apply
        self.capacity = capacity
        self._views: WeakKeyDictionary[EventStore, OrderedDict[Query, ProjectedState[S]]] = (
            WeakKeyDictionary()
        )
        self._lock = threading.Lock()  # Prefect runs tasks in threads that share this object

    def projection(self, query: Query) -> Projection[S]:
        """The plain projection of `query`: the same fold, read from scratch."""
        return Projection(self.initial, self.apply, query)

    def run(self, store: EventStore, query: Query, *, until: int | None = None) -> ProjectedState[S]:
        """The fold of `query` up to now, or up to `until` (time travel, folded from scratch)."""
        projection = self.projection(query)
        if until is not None:
            return projection.run(store, until=until)
        with self._lock:
            views = self._views.setdefault(store, OrderedDict())
            known = views.get(query)
        view = projection.run(store) if known is None else projection.resume(store, known)
        with self._lock:
            kept = views.get(query)
            if kept is None or (kept.position or 0) <= (view.position or 0):
                views[query] = view  # a thread that read further meanwhile keeps its view
            views.move_to_end(query)
            while len(views) > self.capacity:
                views.popitem(last=False)
        return view
