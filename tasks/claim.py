"""Claiming an issue exactly once: a conditional append over the issue's claim events.

Two workers (two sweeps, two machines) that read "unclaimed" both try to append ISSUE.CLAIMED
with the condition "no claim event after the one I saw"; the store lets exactly one through.
The loser reads again and reports who holds the issue. A run that already holds the claim
(restarted after a crash, same run id) just continues.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime

from event_store import AppendConditionFailed, Event, NewEvent, Projection, Query
from tamma import event_types
from tamma.errors import TammaError
from tamma.recorder import EVENT_VERSION
from tasks._context import RunContext
from tasks._step import step

__all__ = ["AlreadyClaimed", "Claim", "claim_issue", "claim_projection", "release_claim"]


class AlreadyClaimed(TammaError):
    def __init__(self, issue: str, holder: Claim) -> None:
        self.holder = holder
        super().__init__(
            f"{issue} is already claimed by run {holder.run_id} (worker {holder.worker}, since {holder.at}); "
            f"continue that run with `tamma run {issue} --run-id {holder.run_id}`"
        )


@dataclass(frozen=True)
class Claim:
    run_id: str
    worker: str
    at: str


def _holder(current: Claim | None, event: Event) -> Claim | None:
    if event.type == event_types.ISSUE_RELEASED:
        return None if current and current.run_id == event.data["run_id"] else current
    return Claim(event.data["run_id"], event.data["worker"], event.data["at"])


def claim_projection(issue_tag: str) -> Projection[Claim | None]:
    return Projection(
        None,
        _holder,
        Query.of(types=[event_types.ISSUE_CLAIMED, event_types.ISSUE_RELEASED], tags=[issue_tag]),
    )


@step("claim")
def claim_issue(ctx: RunContext, flow_run_id: str = "") -> str:
    """ "claimed", or "resumed" for the run that already holds the claim; else `AlreadyClaimed`.
    A fork takes the claim over from the run it forks, in the same conditional append."""
    projection = claim_projection(ctx.ref.tag)
    seen = projection.run(ctx.store)
    fork = ctx.replay.fork if ctx.replay else None
    taking_over = []
    if seen.state is not None:
        if seen.state.run_id == ctx.run_id:
            return "resumed"
        if fork is None or seen.state.run_id != fork.run_id:
            raise AlreadyClaimed(str(ctx.ref), seen.state)
        taking_over = [
            _event(ctx, event_types.ISSUE_RELEASED, run_id=fork.run_id, reason=f"forked as {ctx.run_id}")
        ]
    claim = _event(ctx, event_types.ISSUE_CLAIMED, run_id=ctx.run_id, worker=ctx.worker, at=_now())
    try:
        ctx.store.append([*taking_over, claim], condition=seen.condition())
    except AppendConditionFailed:
        holder = projection.run(ctx.store).state
        if holder is None or holder.run_id != ctx.run_id:
            raise AlreadyClaimed(str(ctx.ref), holder or Claim("?", "?", "?")) from None
    ctx.recorder.record(
        event_types.RUN_STARTED,
        issue=str(ctx.ref),
        worker=ctx.worker,
        flow_run_id=flow_run_id,
        options=ctx.options.model_dump(),
        agent=ctx.settings.agent.model_dump(mode="json"),
        sandbox=ctx.sandbox.describe(),
        fork_of={"run_id": fork.run_id, "position": fork.position} if fork else None,
    )
    issue = ctx.issue()
    ctx.recorder.record(  # the issue as the run saw it: what audits and replays start from
        event_types.ISSUE_SELECTED,
        actor="user",
        title=issue.title,
        body=issue.body,
        labels=list(issue.labels),
        author=issue.author,
        url=issue.url,
        comments=[{"id": c.id, "author": c.author, "body": c.body} for c in issue.comments],
    )
    return "claimed"


def release_claim(ctx: RunContext, reason: str) -> None:
    ctx.recorder.record(event_types.ISSUE_RELEASED, run_id=ctx.run_id, reason=reason)


def _event(ctx: RunContext, event_type: str, **data: str) -> NewEvent:
    return NewEvent(
        event_type, {"v": EVENT_VERSION, **data}, tags=ctx.recorder.tags, metadata={"actor": ctx.worker}
    )


def _now() -> str:
    return datetime.now(UTC).isoformat(timespec="seconds")
