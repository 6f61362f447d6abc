"""Claiming an issue exactly once, under a lease (see `tamma.claims`).

Two workers (two sweeps, two machines) that read "unclaimed" both append ISSUE.CLAIMED under
the condition "nothing changed since what I saw"; the store lets exactly one through and the
other reports who holds the issue. A claim whose run died (its lease ran out) or failed is
taken over the same way, and the run it belonged to continues under its own id, so what it
did (plan, commits, pull request) is never done twice.
"""

from __future__ import annotations

from datetime import UTC, datetime

from event_store import NewEvent
from tamma import event_types
from tamma.audit.run_state import run_state
from tamma.claims import Claim, ClaimAttempt, take_claim
from tasks._context import RunContext
from tasks._step import step

__all__ = ["Claim", "ClaimAttempt", "claim_issue", "lost_claim_message", "release_claim"]


@step("claim")
def claim_issue(ctx: RunContext, claimant: str, *, continue_own: bool = False) -> ClaimAttempt:
    """Take the issue for this run (see `take_claim`), then record how the run starts: RUN.STARTED
    and the issue as it reads now the first time, RUN.RESUMED when a new process continues it.
    A lost race is an answer, not an error: the flow ends as "already claimed"."""
    fork = ctx.replay.fork if ctx.replay else None
    release = [_released(ctx, fork.run_id, f"forked as {ctx.run_id}")] if fork else []
    attempt = take_claim(
        ctx.store,
        ctx.ref.tag,
        run_id=ctx.run_id,
        claimant=claimant,
        worker=ctx.worker,
        tags=ctx.recorder.tags,
        lease_s=ctx.settings.claim_lease_s,
        continue_own=continue_own,
        release=release,
    )
    if not attempt.won:
        return attempt
    if not run_state(ctx.store, ctx.run_id).issue:
        _record_start(
            ctx, claimant, fork_of={"run_id": fork.run_id, "position": fork.position} if fork else None
        )
    elif attempt.how != "held":
        ctx.recorder.record(
            event_types.RUN_RESUMED,
            worker=ctx.worker,
            claimant=claimant,
            after=_why_resumed(attempt),
        )
    return attempt


def lost_claim_message(issue: str, holder: Claim | None) -> str:
    if holder is None:
        return f"{issue} was claimed by another run at the same moment"
    return (
        f"{issue} is already claimed by run {holder.run_id} (worker {holder.worker}, since {holder.at}); "
        f"continue that run with `tamma run {issue} --run-id {holder.run_id}`"
    )


def release_claim(ctx: RunContext, reason: str) -> None:
    ctx.recorder.record(event_types.ISSUE_RELEASED, run_id=ctx.run_id, reason=reason)


def _record_start(ctx: RunContext, claimant: str, fork_of: dict[str, object] | None) -> None:
    ctx.recorder.record(
        event_types.RUN_STARTED,
        issue=str(ctx.ref),
        worker=ctx.worker,
        flow_run_id=claimant,
        options=ctx.options.model_dump(),
        agent=ctx.settings.agent.model_dump(mode="json"),
        sandbox=ctx.sandbox.describe(),
        fork_of=fork_of,
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


def _why_resumed(attempt: ClaimAttempt) -> str:
    previous = attempt.previous
    if previous is None:
        return "its claim was free"
    if previous.failed is not None:
        return f"it failed: {previous.failed}"
    if attempt.how == "took-over":
        return f"its process stopped renewing its claim (last seen {_seen(previous)})"
    return "a new process continues it"


def _seen(claim: Claim) -> str:
    return (claim.alive_at or datetime.now(UTC)).isoformat(timespec="seconds")


def _released(ctx: RunContext, run_id: str, reason: str) -> NewEvent:
    return ctx.recorder.event(event_types.ISSUE_RELEASED, actor=ctx.worker, run_id=run_id, reason=reason)
