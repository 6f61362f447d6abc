"""A run's state asked at every step: the whole run folded again, or only what is new.

Every step of a Tamma run asks for the run's state (`tamma.audit.run_state`). Folded from
scratch, step n reads the n events of the run so far; `IncrementalProjection` reads only the
events appended since it last answered. This module plays a demo-sized run against the
store, one state query after each append, and counts the events each way reads.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from functools import partial

from event_store import Event, EventStore, IncrementalProjection, NewEvent, Projection, Query

# A demo run records 112 events up to its merge checkpoint (docs/orchestration.md).
RUN_EVENTS = 112


def _count(folded: int, _event: Event) -> int:
    """The fold measured: how many events it saw, so the state itself says what was read."""
    return folded + 1


@dataclass(frozen=True)
class FoldRuns:
    """Per-step latencies and events read, for the full and the incremental fold."""

    full_latencies: tuple[float, ...]
    incremental_latencies: tuple[float, ...]
    full_read: int
    incremental_read: int
    steps: int
    agreed: bool


def play_runs(store: EventStore, runs: int) -> FoldRuns:
    """`runs` runs of RUN_EVENTS appends, each append followed by both folds, in turn first."""
    latencies: dict[str, list[float]] = {"full": [], "incremental": []}
    read = {"full": 0, "incremental": 0}
    agreed = True
    incremental = IncrementalProjection(0, _count)
    for run in range(runs):
        tag = f"run:bench-fold-{run}"
        query = Query.of(tags=[tag])
        folds = {
            "full": partial(Projection(0, _count, query).run, store),
            "incremental": partial(incremental.run, store, query),
        }
        seen = 0
        for step in range(RUN_EVENTS):
            store.append(NewEvent("STEP.DONE", {"v": 1, "step": step}, tags=[tag]))
            views = {}
            for name in sorted(folds, reverse=step % 2 == 1):  # neither side always runs first
                began = time.perf_counter()
                views[name] = folds[name]()
                latencies[name].append(time.perf_counter() - began)
            agreed = agreed and views["full"] == views["incremental"]
            read["full"] += views["full"].state  # a full fold reads the whole run so far
            read["incremental"] += views["incremental"].state - seen
            seen = views["incremental"].state
    return FoldRuns(
        tuple(latencies["full"]),
        tuple(latencies["incremental"]),
        read["full"],
        read["incremental"],
        runs * RUN_EVENTS,
        agreed,
    )
