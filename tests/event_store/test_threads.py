"""Threads of one process share one store, as Prefect's task threads share a run's store."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor

from event_store import AppendCondition, AppendConditionFailed, EventStore, NewEvent, Query

THREADS = 16  # more than the appender keeps open (12): the rest wait for a connection
APPENDS = 15


def test_threads_sharing_a_store_append_and_claim_exactly_once(store: EventStore) -> None:
    claim = AppendCondition(Query.of(types=["ISSUE.CLAIMED"], tags=["issue:threads#1"]))

    def work(thread: int) -> tuple[list[int], bool]:
        positions = [store.append(NewEvent("NOTE", {"t": thread, "n": n})) for n in range(APPENDS)]
        try:
            store.append(NewEvent("ISSUE.CLAIMED", {"t": thread}, ["issue:threads#1"]), claim)
        except AppendConditionFailed:
            return positions, False
        return positions, True

    with ThreadPoolExecutor(THREADS) as pool:
        results = list(pool.map(work, range(THREADS)))
    positions = sorted(p for appended, _ in results for p in appended)
    assert len(set(positions)) == THREADS * APPENDS
    assert [won for _, won in results].count(True) == 1
    assert store.head() == THREADS * APPENDS + 1
    assert [e.position for e in store.read()] == list(range(1, THREADS * APPENDS + 2))
