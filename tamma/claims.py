"""Who holds an issue, and until when: the claim and its lease, folded from the issue's events.

A run claims an issue with ISSUE.CLAIMED and keeps it alive with ISSUE.CLAIM_RENEWED, a
heartbeat every third of its lease. A run that dies without a word (kill -9, a lost machine)
stops renewing, so its claim expires `lease_s` after the last sign of life and another run may
take the issue over (ISSUE.CLAIM_EXPIRED + ISSUE.CLAIMED in one conditional append). Some states
hold the claim without heartbeats:

- waiting for a human (APPROVAL.REQUESTED, CLARIFICATION.REQUESTED until the answer): the wait
  is recorded, may last a day, and must not lose the issue to a sweep;
- ended (RUN.COMPLETED): the issue has a pull request, an escalation or a rejection to look at.

A run that failed (RUN.FAILED) gives its claim up at once: it is free to be continued, by the
next `tamma run` of the issue or the next sweep, under the same run id. Time is the store's
(`recorded_at` of each event) compared with `now`, a parameter, so tests move a virtual clock.

A run that does not get the issue says so with ISSUE.CLAIM_LOST (the holder's run id, and
whether it found the claim held or lost a race for it), so claim conflicts are counted, not
guessed. The claim's own fold and conditions leave that type out: a loser never disturbs the
winner's append.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta
from typing import Literal

from event_store import AppendConditionFailed, Event, EventStore, EventStoreError, NewEvent, Projection, Query
from tamma import event_types as et
from tamma.metrics import timed_append
from tamma.recorder import EVENT_VERSION

__all__ = [
    "DEFAULT_LEASE_S",
    "Claim",
    "ClaimAttempt",
    "ClaimStatus",
    "LeaseKeeper",
    "claim_projection",
    "claimable",
    "continuable_run",
    "take_claim",
]

DEFAULT_LEASE_S = 600.0
"""`Settings.claim_lease_s` by default; also the lease of a claim recorded without one."""
ClaimStatus = Literal["free", "held", "expired"]

_WAITS = frozenset({et.APPROVAL_REQUESTED, et.CLARIFICATION_REQUESTED})
_ANSWERS = frozenset({et.APPROVAL_PROVIDED, et.APPROVAL_REJECTED, et.CLARIFICATION_RECEIVED})


@dataclass(frozen=True)
class Claim:
    """The issue's current holder: its run, the process that claimed it (`claimant`: a Prefect
    flow run id, or a process's own id), and what keeps the claim alive."""

    run_id: str
    worker: str
    at: str
    claimant: str = ""
    lease_s: float = DEFAULT_LEASE_S
    alive_at: datetime | None = None
    """The last sign of life: the claim, a renewal, or the answer to a wait."""
    waiting: bool = False
    ended: bool = False
    failed: str | None = None
    """Why the run failed (RUN.FAILED), if it did: the claim is then free to take over."""

    def expires_at(self) -> datetime | None:
        """When the lease runs out: None while the claim is held without heartbeats (a wait, an
        ended run), the moment of failure for a failed run."""
        if self.failed is not None:
            return self.alive_at
        if self.waiting or self.ended or self.alive_at is None:
            return None
        return self.alive_at + timedelta(seconds=self.lease_s)

    def status(self, now: datetime) -> ClaimStatus:
        expires = self.expires_at()
        return "expired" if expires is not None and now >= expires else "held"


def _fold(claim: Claim | None, event: Event) -> Claim | None:
    data, kind = event.data, event.type
    if kind == et.ISSUE_CLAIMED:
        return Claim(
            run_id=data["run_id"],
            worker=data["worker"],
            at=data["at"],
            claimant=data.get("claimant", ""),
            lease_s=data.get("lease_s", DEFAULT_LEASE_S),
            alive_at=event.recorded_at,
        )
    if claim is None or data.get("run_id", _run_of(event)) != claim.run_id:
        return claim
    if kind in (et.ISSUE_RELEASED, et.ISSUE_CLAIM_EXPIRED):
        return None
    if kind == et.ISSUE_CLAIM_RENEWED:
        return replace(claim, alive_at=event.recorded_at) if data["claimant"] == claim.claimant else claim
    if kind in _WAITS:
        return replace(claim, waiting=True)
    if kind in _ANSWERS:
        return replace(claim, waiting=False, alive_at=event.recorded_at)
    if kind == et.RUN_COMPLETED:
        return replace(claim, ended=True)
    if kind == et.RUN_FAILED:
        return replace(claim, failed=data["error"], alive_at=event.recorded_at)
    return claim


def _run_of(event: Event) -> str:
    return next((tag.removeprefix("run:") for tag in event.tags if tag.startswith("run:")), "")


_TYPES = [
    et.ISSUE_CLAIMED,
    et.ISSUE_CLAIM_RENEWED,
    et.ISSUE_CLAIM_EXPIRED,
    et.ISSUE_RELEASED,
    et.RUN_COMPLETED,
    et.RUN_FAILED,
    *sorted(_WAITS | _ANSWERS),
]


def claim_projection(issue_tag: str) -> Projection[Claim | None]:
    """The claim on one issue; its `condition()` is what a takeover appends under."""
    return Projection(None, _fold, Query.of(types=_TYPES, tags=[issue_tag]))


def claimable(store: EventStore, issue_tag: str, now: datetime) -> bool:
    """True when nobody holds the issue, or its holder's claim has expired."""
    claim = claim_projection(issue_tag).run(store).state
    return claim is None or claim.status(now) == "expired"


def continuable_run(store: EventStore, issue_tag: str, claimant: str, now: datetime) -> str | None:
    """The run a new start of this issue should continue rather than begin anew: the holder's,
    when its claim expired or failed (its work so far stands: plan, commits, pull request) or
    when `claimant` itself made the claim (Prefect retrying the same flow run)."""
    claim = claim_projection(issue_tag).run(store).state
    if claim is not None and (claim.claimant == claimant or claim.status(now) == "expired"):
        return claim.run_id
    return None


@dataclass(frozen=True)
class ClaimAttempt:
    """What `take_claim` did: `how` is "claimed" (free), "took-over" (expired or failed holder),
    "continued" (this run's own claim, from a new process), "held" (this very claimant already
    holds it: a retried step) or "lost" (`holder` keeps it)."""

    how: Literal["claimed", "took-over", "continued", "held", "lost"]
    holder: Claim | None = None
    previous: Claim | None = None
    """The claim this one replaced, if any: whose lease expired, or this run's earlier process."""

    @property
    def won(self) -> bool:
        return self.how != "lost"


def take_claim(
    store: EventStore,
    issue_tag: str,
    *,
    run_id: str,
    claimant: str,
    worker: str,
    tags: Sequence[str],
    lease_s: float = DEFAULT_LEASE_S,
    now: datetime | None = None,
    continue_own: bool = False,
    release: Sequence[NewEvent] = (),
) -> ClaimAttempt:
    """Claim the issue for `run_id` with one conditional append: exactly one of any number of
    racing claimants wins, whatever they saw. A holder is displaced only when its claim
    expired, or when it is this same run and `continue_own` says the caller knows (`tamma run
    --run-id`), or `release` (a fork releasing the run it forks) takes it off first. A loser
    records ISSUE.CLAIM_LOST under `tags`."""
    now = now or datetime.now(UTC)
    projection = claim_projection(issue_tag)
    seen = projection.run(store)
    holder = seen.state
    before: list[NewEvent] = list(release)
    if holder is not None and not release:
        ours = holder.run_id == run_id
        if ours and holder.claimant == claimant and holder.status(now) == "held":
            return ClaimAttempt("held", holder)
        if holder.status(now) == "expired":
            before.append(_expired(holder, run_id, tags, worker))
        elif not (ours and (continue_own or holder.claimant == claimant)):
            return _lost(
                store, issue_tag, holder, "held", run_id=run_id, claimant=claimant, worker=worker, tags=tags
            )
    claim = NewEvent(
        et.ISSUE_CLAIMED,
        {
            "v": EVENT_VERSION,
            "run_id": run_id,
            "worker": worker,
            "at": now.isoformat(timespec="seconds"),
            "claimant": claimant,
            "lease_s": lease_s,
        },
        tags=tags,
        metadata={"actor": worker},
    )
    try:
        timed_append(store, [*before, claim], seen.condition())
    except AppendConditionFailed:
        winner = projection.run(store).state or holder
        return _lost(
            store, issue_tag, winner, "race", run_id=run_id, claimant=claimant, worker=worker, tags=tags
        )
    if holder is None or release:
        return ClaimAttempt("claimed")
    return ClaimAttempt(
        "continued" if holder.run_id == run_id and not before else "took-over", previous=holder
    )


def _lost(
    store: EventStore,
    issue_tag: str,
    holder: Claim | None,
    reason: Literal["held", "race"],
    *,
    run_id: str,
    claimant: str,
    worker: str,
    tags: Sequence[str],
) -> ClaimAttempt:
    """Record that `run_id` did not get the issue, and say so: `reason` "held" (a live claim was
    there when it looked) or "race" (another claim got in between its read and its append)."""
    timed_append(
        store,
        NewEvent(
            et.ISSUE_CLAIM_LOST,
            {
                "v": EVENT_VERSION,
                "issue": issue_tag.removeprefix("issue:"),
                "run_id": run_id,
                "claimant": claimant,
                "worker": worker,
                "holder_run_id": holder.run_id if holder is not None else None,
                "reason": reason,
            },
            tags=tags,
            metadata={"actor": worker},
        ),
    )
    return ClaimAttempt("lost", holder)


def _expired(holder: Claim, by: str, tags: Sequence[str], worker: str) -> NewEvent:
    why = f"the run failed: {holder.failed}" if holder.failed else f"no sign of life for {holder.lease_s:g} s"
    return NewEvent(
        et.ISSUE_CLAIM_EXPIRED,
        {"v": EVENT_VERSION, "run_id": holder.run_id, "claimant": holder.claimant, "reason": why, "by": by},
        tags=[tag for tag in tags if not tag.startswith("run:")] + [f"run:{holder.run_id}"],
        metadata={"actor": worker},
    )


class LeaseKeeper(threading.Thread):
    """The live run's heartbeat: ISSUE.CLAIM_RENEWED every third of the lease while the run
    holds the claim and is not waiting for a human (a wait holds the claim by itself). It
    stops when told to, or when the claim is no longer this claimant's."""

    def __init__(
        self,
        store: EventStore,
        issue_tag: str,
        *,
        claimant: str,
        tags: Sequence[str],
        lease_s: float,
        on_lost: Callable[[Claim | None], None] = lambda holder: None,
    ) -> None:
        super().__init__(name=f"lease-{claimant}", daemon=True)
        self.store, self.issue_tag, self.claimant = store, issue_tag, claimant
        self.tags, self.interval_s, self.on_lost = tuple(tags), lease_s / 3, on_lost
        self._stopping = threading.Event()

    def stop(self) -> None:
        self._stopping.set()
        if self.is_alive():
            self.join(timeout=10)

    def run(self) -> None:
        while not self._stopping.wait(self.interval_s):
            try:
                if not self._beat():
                    return
            except EventStoreError:  # the store is down: the run's own steps will say so
                continue

    def _beat(self) -> bool:
        """Renew the claim if it is due; False once the claim is not this claimant's."""
        holder = claim_projection(self.issue_tag).run(self.store).state
        if holder is None or holder.claimant != self.claimant:
            self.on_lost(holder)
            return False
        if not (holder.waiting or holder.ended or holder.failed is not None):
            timed_append(
                self.store,
                NewEvent(
                    et.ISSUE_CLAIM_RENEWED,
                    {"v": EVENT_VERSION, "run_id": holder.run_id, "claimant": self.claimant},
                    tags=self.tags,
                    metadata={"actor": holder.worker},
                ),
            )
        return True
