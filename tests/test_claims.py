"""Claims under a lease, on a virtual clock: when a claim expires, who may take it over, and
exactly one winner among eight processes racing for an expired one (SQLite and PostgreSQL);
every loser says so with ISSUE.CLAIM_LOST."""

from __future__ import annotations

import multiprocessing
import time
from collections.abc import Callable, Iterable
from datetime import datetime, timedelta
from pathlib import Path

import pytest

from event_store import AppendCondition, EventStore, NewEvent
from tamma import event_types as et
from tamma.claims import Claim, LeaseKeeper, claim_projection, claimable, continuable_run, take_claim

ISSUE = "issue:local:shop#1"
LEASE_S = 600.0


def claim(store: EventStore, run_id: str, claimant: str, **options: object) -> str:
    return take_claim(
        store,
        ISSUE,
        run_id=run_id,
        claimant=claimant,
        worker="host-a",
        tags=[f"run:{run_id}", ISSUE],
        lease_s=LEASE_S,
        **options,  # type: ignore[arg-type]
    ).how


def holder(store: EventStore) -> Claim:
    current = claim_projection(ISSUE).run(store).state
    assert current is not None
    return current


def later(store: EventStore, seconds: float) -> datetime:
    """The virtual clock: `seconds` after the holder's last sign of life."""
    alive = holder(store).alive_at
    assert alive is not None
    return alive + timedelta(seconds=seconds)


def record(store: EventStore, run: str, event_type: str, **data: object) -> None:
    store.append(NewEvent(event_type, {"v": 1, **data}, tags=[f"run:{run}", ISSUE]))


@pytest.fixture
def store(tmp_path: Path) -> EventStore:
    return EventStore(f"sqlite:///{tmp_path / 'events.db'}")


def test_a_claim_expires_one_lease_after_its_last_sign_of_life(store: EventStore) -> None:
    assert claim(store, "r-1", "flow-1") == "claimed"
    assert holder(store).status(later(store, LEASE_S - 1)) == "held"
    assert claim(store, "r-2", "flow-2", now=later(store, LEASE_S - 1)) == "lost"
    assert not claimable(store, ISSUE, later(store, LEASE_S - 1))
    claimed_at = holder(store).alive_at
    record(store, "r-1", et.ISSUE_CLAIM_RENEWED, run_id="r-1", claimant="flow-1")
    assert holder(store).alive_at != claimed_at  # the lease starts again from the renewal
    assert holder(store).status(later(store, LEASE_S)) == "expired"
    assert claimable(store, ISSUE, later(store, LEASE_S))
    assert continuable_run(store, ISSUE, "flow-2", later(store, LEASE_S)) == "r-1"
    assert claim(store, "r-1", "flow-2", now=later(store, LEASE_S)) == "took-over"
    assert holder(store).claimant == "flow-2"


def test_a_renewal_by_a_process_that_lost_the_claim_does_not_count(store: EventStore) -> None:
    claim(store, "r-1", "flow-1")
    claim(store, "r-1", "flow-2", continue_own=True)  # `tamma run --run-id r-1` elsewhere
    before = holder(store).alive_at
    record(store, "r-1", et.ISSUE_CLAIM_RENEWED, run_id="r-1", claimant="flow-1")
    assert holder(store).alive_at == before


def test_a_run_waiting_for_a_human_holds_its_claim_without_heartbeats(store: EventStore) -> None:
    claim(store, "r-1", "flow-1")
    record(store, "r-1", et.APPROVAL_REQUESTED, subject="plan", flow_run_id="flow-1", timeout_s=86400)
    assert holder(store).status(later(store, 86_400 * 3)) == "held"
    record(store, "r-1", et.APPROVAL_PROVIDED, subject="plan", plan="p", edited=False, actor="user")
    assert holder(store).status(later(store, LEASE_S - 1)) == "held"
    assert holder(store).status(later(store, LEASE_S)) == "expired"


def test_a_failed_run_frees_its_claim_and_an_ended_one_keeps_it(store: EventStore) -> None:
    claim(store, "r-1", "flow-1")
    record(store, "r-1", et.RUN_FAILED, outcome="failed", error="ProviderError", message="529", issue="x")
    assert holder(store).status(later(store, 0)) == "expired"
    assert continuable_run(store, ISSUE, "someone", later(store, 0)) == "r-1"
    assert claim(store, "r-1", "flow-3", now=later(store, 0)) == "took-over"
    record(store, "r-1", et.RUN_COMPLETED, outcome="awaiting-merge")
    assert holder(store).status(later(store, 10 * LEASE_S)) == "held"
    assert claim(store, "r-9", "flow-9", now=later(store, 10 * LEASE_S)) == "lost"


def test_the_claimant_itself_holds_and_only_its_own_run_continues(store: EventStore) -> None:
    claim(store, "r-1", "flow-1")
    assert claim(store, "r-1", "flow-1") == "held"  # a retried step of the same flow run
    assert continuable_run(store, ISSUE, "flow-1", later(store, 1)) == "r-1"  # Prefect's Retry
    assert continuable_run(store, ISSUE, "flow-2", later(store, 1)) is None
    assert claim(store, "r-1", "flow-2") == "lost"  # the same run id, but nobody said to continue


def lost_claims(store: EventStore) -> list[dict[str, object]]:
    return [e.data for e in store.read() if e.type == et.ISSUE_CLAIM_LOST]


def test_a_claimant_that_finds_the_issue_held_records_its_loss(store: EventStore) -> None:
    claim(store, "r-1", "flow-1")
    assert claim(store, "r-2", "flow-2") == "lost"
    [lost] = [e for e in store.read() if e.type == et.ISSUE_CLAIM_LOST]
    assert lost.tags == ("run:r-2", ISSUE)
    assert lost.metadata == {"actor": "host-a"}
    assert lost.data == {
        "v": 1,
        "issue": "local:shop#1",
        "run_id": "r-2",
        "claimant": "flow-2",
        "worker": "host-a",
        "holder_run_id": "r-1",
        "reason": "held",
    }
    assert claim(store, "r-1", "flow-1") == "held"  # the holder itself: nothing lost
    assert claim(store, "r-3", "flow-3") == "lost"  # a loss leaves the claim as it was
    assert holder(store).claimant == "flow-1"
    assert [data["run_id"] for data in lost_claims(store)] == ["r-2", "r-3"]


class Interleaved(EventStore):
    """A store whose first conditional append lets `other` run first: the claimant has read the
    issue free, and another one claims it before its own append reaches the store."""

    def __init__(self, url: str, other: Callable[[], object]) -> None:
        super().__init__(url)
        self.other: Callable[[], object] | None = other

    def append(self, events: NewEvent | Iterable[NewEvent], condition: AppendCondition | None = None) -> int:
        if condition is not None and self.other is not None:
            other, self.other = self.other, None
            other()
        return super().append(events, condition)


def test_two_claimants_race_and_the_loser_records_claim_lost(store_url: str) -> None:
    url = store_url
    with EventStore(url) as other:
        outcomes: dict[str, str] = {}
        with Interleaved(url, lambda: outcomes.setdefault("r-a", claim(other, "r-a", "flow-a"))) as slow:
            outcomes["r-b"] = claim(slow, "r-b", "flow-b")
        assert outcomes == {"r-a": "claimed", "r-b": "lost"}
        assert holder(other).run_id == "r-a"
        [lost] = lost_claims(other)
        assert (lost["run_id"], lost["claimant"], lost["holder_run_id"], lost["reason"]) == (
            "r-b",
            "flow-b",
            "r-a",
            "race",
        )


def test_the_lease_keeper_renews_and_stops_when_the_claim_is_taken(store: EventStore) -> None:
    take_claim(
        store, ISSUE, run_id="r-1", claimant="flow-1", worker="a", tags=["run:r-1", ISSUE], lease_s=0.3
    )
    lost: list[Claim | None] = []
    keeper = LeaseKeeper(
        store, ISSUE, claimant="flow-1", tags=["run:r-1", ISSUE], lease_s=0.3, on_lost=lost.append
    )
    first = holder(store).alive_at
    keeper.start()
    time.sleep(0.5)
    assert holder(store).alive_at != first
    claim(store, "r-1", "flow-2", continue_own=True)
    keeper.join(timeout=5)
    assert not keeper.is_alive()
    assert lost
    assert lost[0] is not None
    assert lost[0].claimant == "flow-2"


def _race(url: str, claimant: str, now: datetime, start: object, results: object) -> None:
    with EventStore(url) as store:
        start.wait()  # type: ignore[attr-defined]
        results.put((claimant, claim(store, "r-1", claimant, now=now)))  # type: ignore[attr-defined]


def test_eight_processes_race_for_an_expired_claim_and_one_wins(store_url: str) -> None:
    url = store_url
    with EventStore(url) as store:
        claim(store, "r-1", "flow-dead")
        now = later(store, LEASE_S + 1)  # one clock for all: the dead claim has expired
    context = multiprocessing.get_context("spawn")
    start, results = context.Event(), context.Queue()
    racers = [context.Process(target=_race, args=(url, f"flow-{n}", now, start, results)) for n in range(8)]
    for racer in racers:
        racer.start()
    time.sleep(1.0)
    start.set()
    outcomes = dict(results.get(timeout=60) for _ in racers)
    for racer in racers:
        racer.join(timeout=30)
    assert sorted(outcomes.values()) == ["lost"] * 7 + ["took-over"]
    with EventStore(url) as store:
        winner = next(claimant for claimant, how in outcomes.items() if how == "took-over")
        assert holder(store).claimant == winner
        expired = [e for e in store.read() if e.type == et.ISSUE_CLAIM_EXPIRED]
        assert len(expired) == 1
        assert expired[0].data["claimant"] == "flow-dead"
        lost = lost_claims(store)
        assert sorted(str(data["claimant"]) for data in lost) == sorted(set(outcomes) - {winner})
        assert {data["holder_run_id"] for data in lost} == {"r-1"}  # all race under one run id
        assert {data["reason"] for data in lost} <= {"race", "held"}  # "held": read after the winner
