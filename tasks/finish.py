"""How a run ends: merged, stopped at the merge checkpoint, rejected, or escalated to a human."""

from __future__ import annotations

from typing import Any

from event_store import Query
from tamma import event_types
from tamma.audit.run_state import RunState, run_state
from tamma.platforms import MergeMethod
from tasks._comments import post_once
from tasks._context import RunContext
from tasks._step import step

__all__ = ["ESCALATION_LABEL", "complete_run", "escalate", "merge_pull_request", "reach_checkpoint"]

ESCALATION_LABEL = "needs-human-review"


@step("escalate")
def escalate(ctx: RunContext, reason: str) -> None:
    """A comment saying why, the `needs-human-review` label, and ESCALATION.TRIGGERED."""
    state = run_state(ctx.store, ctx.run_id)
    if state.escalated is not None:
        return
    pull = state.pull_request
    where = f" Pull request: {pull['url'] or '#' + str(pull['number'])}." if pull else ""
    kept = "" if pull else work_so_far(ctx, state)
    body = (
        f"Tamma stopped and needs a human: {reason}.{where}{kept}\n\n"
        f"Everything it did is recorded: `tamma events --run {ctx.run_id}`."
    )
    post_once(ctx, "escalation", body)
    ctx.platform.add_labels(ctx.ref.number, [ESCALATION_LABEL])
    ctx.recorder.record(event_types.LABEL_ADDED, label=ESCALATION_LABEL)
    ctx.recorder.record(event_types.ESCALATION_TRIGGERED, reason=reason)


def work_so_far(ctx: RunContext, state: RunState) -> str:
    """For an implementation that stopped with commits on its pushed branch: what each completed
    phase did, where it stopped, and how to go on from there."""
    done = state.implementation or {}
    if not done.get("commits") or state.head_sha is None:
        return ""
    phases = "\n".join(f"- {phase}: {summary}" for phase, summary in done.get("summaries", {}).items())
    fork_at = max(
        (
            e.position
            for e in ctx.store.read(Query.of(types=[event_types.AGENT_PHASE_STARTED], tags=[ctx.run_tag]))
        ),
        default=None,
    )
    go_on = (
        f"\n\nTo go on from the phase that stopped (with a larger `agent.budget`, or another model): "
        f"`tamma replay {ctx.run_id} --from {fork_at} --provider NAME`."
        if fork_at is not None
        else ""
    )
    return (
        f"\n\nThe work so far is kept on branch `{state.branch}` ({len(done['commits'])} commits, "
        f"head {state.head_sha[:12]}):\n{phases}{go_on}"
    )


@step("merge")
def merge_pull_request(ctx: RunContext, number: int, method: MergeMethod = "squash") -> str:
    state = run_state(ctx.store, ctx.run_id)
    if state.merged_sha is not None:
        return state.merged_sha
    sha = ctx.platform.merge(number, method=method)
    ctx.recorder.record(event_types.PR_MERGED, number=number, sha=sha, method=method)
    return sha


def reach_checkpoint(ctx: RunContext, number: int, url: str) -> None:
    ctx.recorder.record(event_types.MERGE_CHECKPOINT_REACHED, number=number, url=url)


def complete_run(ctx: RunContext, outcome: str, **details: Any) -> None:
    if run_state(ctx.store, ctx.run_id).outcome is None:
        ctx.recorder.record(event_types.RUN_COMPLETED, outcome=outcome, **details)
