"""Human decisions inside a flow run: pause for input, record who decided what.

A run started by `tamma run` pauses (`pause_flow_run(wait_for_input=Decision)`): its process
waits, so `tamma run`'s own prompt can answer. A deployment's run suspends instead
(`suspend_flow_run`): the flow run leaves its worker, which is free for other issues while a
human takes a day to decide, and the answer reschedules it; a worker then runs the flow again
from the top, where every finished step is a no-op (the event log says it is done) and the
same suspension (same key) hands back the answer. Either way the Prefect UI's Resume form,
`tamma approve`/`tamma reject` answer it. The Prefect flow run id goes into APPROVAL.REQUESTED
(once, not again when a resumed run passes by), which is how those commands find the run to
resume from a Tamma run id. A policy (`auto_approve`, `merge_policy=auto`) decides without
waiting, and says so in the event.
"""

from __future__ import annotations

from typing import Literal

from prefect import pause_flow_run, suspend_flow_run
from prefect.exceptions import FlowPauseTimeout
from prefect.input import RunInput
from prefect.runtime import deployment, flow_run
from pydantic import Field

from tamma import event_types
from tamma.audit.run_state import run_state
from tasks._artifacts import publish_plan
from tasks._context import RunContext

__all__ = ["Decision", "decide"]

Subject = Literal["plan", "merge"]


class Decision(RunInput):
    """The answer to a paused run. Every field has a safe default: the Prefect UI leaves
    untouched fields out of the submitted input."""

    decision: Literal["approve", "reject", "edit"] = Field(
        default="approve",
        title="Decision",
        description="approve, reject, or edit (then give the edited plan)",
    )
    plan: str = Field(default="", title="Plan", description="The plan to implement, if you edited it")
    reason: str = Field(default="", title="Reason", description="Why, if you reject")


def decide(ctx: RunContext, subject: Subject, text: str, *, by_policy: bool) -> Decision:
    """Ask for (or, by policy, take) a decision on `text`, and record it."""
    if by_policy:
        decision = Decision(decision="approve", plan=text)
        actor = "policy"
    else:
        flow_run_id = str(flow_run.id or "")
        state = run_state(ctx.store, ctx.run_id)
        if (state.awaiting_approval, state.awaiting_subject) != (flow_run_id, subject):
            ctx.recorder.record(
                event_types.APPROVAL_REQUESTED,
                subject=subject,
                flow_run_id=flow_run_id,
                timeout_s=ctx.options.approval_timeout_s,
            )
        recorded = ctx.replay.decision(subject) if ctx.replay else None
        if recorded is not None:
            decision = Decision(decision=recorded.decision, plan=recorded.plan, reason=recorded.reason)
        else:
            decision = _wait_for_decision(ctx, subject, text)
            already = _recorded_decision(ctx, subject)
            if already is not None:  # `tamma approve` recorded it before it woke this run up
                return already
        actor = "user"
    if decision.decision == "reject":
        ctx.recorder.record(
            event_types.APPROVAL_REJECTED, actor=actor, subject=subject, reason=decision.reason
        )
    else:
        chosen = decision.plan if decision.decision == "edit" and decision.plan.strip() else text
        ctx.recorder.record(
            event_types.APPROVAL_PROVIDED, actor=actor, subject=subject, plan=chosen, edited=chosen != text
        )
        if subject == "plan" and chosen != text:
            publish_plan(ctx, chosen, edited=True)  # the UI shows the plan the run implements
        decision = Decision(decision=decision.decision, plan=chosen)
    return decision


def _recorded_decision(ctx: RunContext, subject: Subject) -> Decision | None:
    state = run_state(ctx.store, ctx.run_id)
    if state.rejected is not None:
        return Decision(decision="reject", reason=state.rejected)
    if subject == "plan" and state.approved_plan is not None:
        return Decision(decision="approve", plan=state.approved_plan)
    if subject == "merge" and state.merge_approved:
        return Decision(decision="approve")
    return None


def _wait_for_decision(ctx: RunContext, subject: Subject, text: str) -> Decision:
    """Wait for someone to answer: a deployment's run suspends (its process exits here and the
    answer comes back when the resumed run calls this again), any other run pauses (a timeout
    rejects)."""
    prompt = Decision.with_initial_data(
        description=f"**Tamma asks you to approve the {subject} for {ctx.ref}** (run {ctx.run_id})\n\n{text}",
        decision="approve",
        plan=text if subject == "plan" else "",
    )
    if deployment.id is not None:
        return suspend_flow_run(
            wait_for_input=prompt, timeout=ctx.options.approval_timeout_s, key=f"{ctx.run_id}-{subject}"
        )
    try:
        decision: Decision = pause_flow_run(
            wait_for_input=prompt,
            timeout=ctx.options.approval_timeout_s,
            poll_interval=ctx.options.approval_poll_s,
        )
    except FlowPauseTimeout:
        decision = Decision(
            decision="reject", reason=f"no decision within {ctx.options.approval_timeout_s} s"
        )
    return decision
