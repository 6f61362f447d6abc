"""Real OS processes racing on one store: the DCB guarantees must hold across connections.

Threads in one process would share an engine and could hide locking bugs, so each worker
is a spawned process with its own `EventStore(url)`. The 8 workers start once and loop over
the rounds, meeting at a barrier so every round is a genuine race; results come back on a
queue and are checked against what the store holds afterwards.
"""

from __future__ import annotations

import multiprocessing
import queue
import random
import time
import traceback
from collections import defaultdict
from collections.abc import Callable
from multiprocessing.queues import Queue
from multiprocessing.synchronize import Barrier
from typing import Any

from event_store import AppendCondition, AppendConditionFailed, EventStore, NewEvent, Query

WORKERS = 8
ROUNDS = 50
# Generous: a round takes milliseconds; these only turn a hang into a failure.
BARRIER_TIMEOUT_S = 60.0
RESULT_TIMEOUT_S = 120.0
JOIN_TIMEOUT_S = 30.0
MAX_ATTEMPTS = 100  # a decider retries a refused decision; each retry round someone wins

MIXED_TAG = "issue:race#mixed"
UNRELATED_TAG = "issue:race#elsewhere"

Result = tuple[Any, ...]
Worker = Callable[..., None]


def _claim_rounds(url: str, worker: int, barrier: Barrier, results: Queue[Result], shared_tag: bool) -> None:
    """Each round: wait for everyone, then claim the round's tag (or this worker's own tag)."""
    try:
        with EventStore(url) as store:
            for round_ in range(ROUNDS):
                tag = f"issue:race#{round_}" if shared_tag else f"issue:race#{round_}-w{worker}"
                claim = NewEvent("ISSUE.CLAIMED", {"worker": worker}, tags=[tag])
                condition = AppendCondition(Query.of(types=["ISSUE.CLAIMED"], tags=[tag]), after=None)
                barrier.wait(BARRIER_TIMEOUT_S)
                try:
                    results.put(("won", round_, worker, store.append([claim], condition)))
                except AppendConditionFailed as exc:
                    results.put(("lost", round_, worker, exc.conflicting_position))
                except Exception as exc:
                    results.put(("error", round_, worker, repr(exc)))
    except BaseException:
        results.put(("fatal", -1, worker, traceback.format_exc()))


def _mixed_rounds(url: str, worker: int, barrier: Barrier, results: Queue[Result], conditional: bool) -> None:
    """Unconditional appenders add one matching and one unrelated event per round. Deciders
    run the DCB loop: read the boundary, pause (so appends land between read and write),
    append with `after` = last position seen, and on refusal read again and retry."""
    boundary = Query.of(tags=[MIXED_TAG])
    jitter = random.Random(worker)
    last_seen = seen = 0
    try:
        with EventStore(url) as store:
            for round_ in range(ROUNDS):
                barrier.wait(BARRIER_TIMEOUT_S)
                if not conditional:
                    tags = [[MIXED_TAG], [UNRELATED_TAG]]
                    jitter.shuffle(tags)
                    for event_tags in tags:
                        store.append(NewEvent("NOTE.ADDED", {"worker": worker}, tags=event_tags))
                    results.put(("appended", round_, worker, []))
                    continue
                # One id for every attempt: a refused append stores nothing, so retrying is safe.
                decision = NewEvent("DECISION.MADE", {"worker": worker, "round": round_}, tags=[MIXED_TAG])
                attempts: list[tuple[str, int, object, int]] = []
                while len(attempts) < MAX_ATTEMPTS:
                    for event in store.read(boundary, after=last_seen):
                        last_seen, seen = event.position, seen + 1
                    time.sleep(jitter.random() * 0.003)
                    try:
                        position = store.append([decision], AppendCondition(boundary, after=last_seen))
                    except AppendConditionFailed as exc:
                        attempts.append(("refused", last_seen, exc.conflicting_position, seen))
                        continue
                    except Exception as exc:
                        attempts.append(("error", last_seen, repr(exc), seen))
                    else:
                        attempts.append(("decided", last_seen, position, seen))
                    break
                results.put(("attempts", round_, worker, attempts))
    except BaseException:
        results.put(("fatal", -1, worker, traceback.format_exc()))


def _race(target: Worker, url: str, flags: list[bool]) -> list[Result]:
    """Run one persistent process per flag for all rounds; return every round's result.

    Fails (instead of hanging) if a worker dies, reports a fatal error or goes silent.
    """
    context = multiprocessing.get_context("spawn")
    barrier = context.Barrier(len(flags))
    results = context.Queue()
    processes = [
        context.Process(target=target, args=(url, worker, barrier, results, flag), daemon=True)
        for worker, flag in enumerate(flags)
    ]
    for process in processes:
        process.start()
    collected: list[Result] = []
    silent_since = time.monotonic()
    try:
        while len(collected) < len(flags) * ROUNDS:
            try:
                result = results.get(timeout=1.0)
            except queue.Empty:
                died = [p.exitcode for p in processes if p.exitcode not in (None, 0)]
                assert not died, f"workers died with exit codes {died}"
                silent = time.monotonic() - silent_since
                assert silent < RESULT_TIMEOUT_S, f"workers went silent after {len(collected)} results"
                continue
            assert result[0] != "fatal", f"worker {result[2]} crashed:\n{result[3]}"
            collected.append(result)
            silent_since = time.monotonic()
        for process in processes:
            process.join(JOIN_TIMEOUT_S)
            assert process.exitcode == 0, f"worker exited with {process.exitcode}"
    finally:
        for process in processes:
            if process.is_alive():
                process.kill()
                process.join(JOIN_TIMEOUT_S)
    return collected


def test_exactly_one_claimer_wins_each_round(store: EventStore, store_url: str) -> None:
    """The core promise of conditional appends: 8 racing claimers, one winner, typed losers."""
    results = _race(_claim_rounds, store_url, [True] * WORKERS)

    by_round: dict[int, list[Result]] = defaultdict(list)
    for result in results:
        by_round[result[1]].append(result)
    assert sorted(by_round) == list(range(ROUNDS))
    winners: dict[int, tuple[int, int]] = {}
    for round_, outcomes in by_round.items():
        won = [(worker, position) for kind, _, worker, position in outcomes if kind == "won"]
        lost = [(kind, payload) for kind, _, _, payload in outcomes if kind != "won"]
        assert len(won) == 1, f"round {round_}: {len(won)} winners: {outcomes}"
        winners[round_] = won[0]
        # Losers fail with the typed error, pointing at the winner's claim.
        assert lost == [("lost", won[0][1])] * (WORKERS - 1), f"round {round_}: {outcomes}"

    claims = list(store.read(Query.of(types=["ISSUE.CLAIMED"])))
    assert len(claims) == ROUNDS
    assert store.head() == ROUNDS
    for round_, (worker, position) in winners.items():
        [claim] = [event for event in claims if event.tags == (f"issue:race#{round_}",)]
        assert (claim.position, claim.data) == (position, {"worker": worker})


def test_claims_on_disjoint_tags_never_conflict(store: EventStore, store_url: str) -> None:
    """Conditions are scoped to their boundary: other tags appended concurrently never fail them."""
    results = _race(_claim_rounds, store_url, [False] * WORKERS)

    assert [r for r in results if r[0] != "won"] == []
    positions = sorted(r[3] for r in results)
    assert positions == list(range(1, WORKERS * ROUNDS + 1))
    stored = {(e.tags, e.data["worker"], e.position) for e in store.read()}
    expected = {((f"issue:race#{r}-w{w}",), w, p) for _, r, w, p in results}
    assert stored == expected


def test_condition_never_misses_a_concurrent_unconditional_append(store: EventStore, store_url: str) -> None:
    """Unconditional appends must serialize with conditional ones and become visible in
    position order, or a decision made on a stale read could slip past an event that
    committed after the read."""
    conditional = [worker % 2 == 0 for worker in range(WORKERS)]
    results = _race(_mixed_rounds, store_url, conditional)

    attempts = [attempt for kind, _, _, tried in results if kind == "attempts" for attempt in tried]
    assert [a for a in attempts if a[0] == "error"] == []
    events = list(store.read())
    matching = [e.position for e in events if MIXED_TAG in e.tags]
    decided = [(after, position, seen) for kind, after, position, seen in attempts if kind == "decided"]
    refused = [(after, conflict) for kind, after, conflict, _ in attempts if kind == "refused"]
    # Every decider got through each round, and the race really happened: some were refused.
    assert len(decided) == ROUNDS * conditional.count(True)
    assert refused, "no conditional append was ever refused: the race did not happen"

    for after, position, seen in decided:
        slipped = [m for m in matching if after < m < position]
        assert slipped == [], f"append after={after} succeeded at {position} despite {slipped}"
        # Nor may one hide below `after`: the decider saw every matching event up to it, i.e.
        # positions became visible in order (an append committing late under a lower
        # position would be skipped by the reader's `after` and by the condition alike).
        assert seen == len([m for m in matching if m <= after]), f"decided after={after} without seeing all"
    for after, conflict in refused:
        # Refusals are justified: the reported event matches and is the first one after `after`.
        assert conflict == min(m for m in matching if m > after), (after, conflict)

    decisions = sorted(e.position for e in events if e.type == "DECISION.MADE")
    assert decisions == sorted(position for _, position, _ in decided)
    notes = [e for e in events if e.type == "NOTE.ADDED"]
    assert len(notes) == 2 * ROUNDS * conditional.count(False)
    assert store.head() == len(events) == len(decisions) + len(notes)
