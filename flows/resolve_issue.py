"""`resolve_issue`: one issue from claim to merge checkpoint, or to a human.

    claim -> analyze (-> ask and wait) -> plan -> approval -> implement test-first -> pull
    request -> watch CI (-> repair, at most 3 times) -> merge checkpoint -> merge
    (or escalate: comment + needs-human-review label)

Each step is a task in `tasks/` that first asks the run's events whether it is done, so a run
started again with the same `run_id` (after a crash, a kill, a lost worker) continues from the
last recorded step and never repeats a side effect.
"""

from __future__ import annotations

from typing import Any

from prefect import flow
from prefect.runtime import flow_run

from flows._approval import decide
from tamma.agent.settings import AgentBackendName
from tamma.audit.run_state import run_state
from tamma.errors import InvalidReference
from tamma.platforms import IssueRef
from tamma.publishing import redact_exception, redact_logs
from tamma.redaction import redact
from tamma.sandbox import UNCONFINED_WARNING
from tasks._context import MergePolicy, RunContext, RunOptions, new_run_id, open_run
from tasks.analyze import analyze_issue, wait_for_clarification
from tasks.ci import fix_ci, watch_ci
from tasks.claim import AlreadyClaimed, claim_issue, release_claim
from tasks.finish import complete_run, escalate, merge_pull_request, reach_checkpoint
from tasks.implement import implement_plan
from tasks.plan import propose_plan
from tasks.pull_request import open_pull_request

__all__ = ["resolve_issue", "resolve_run"]


def _run_name() -> str:
    """`github:acme/shop#12 [r-1a2b3c4d]`: the reference as Tamma writes it, so a URL given with
    credentials (`https://user:token@...`) never names a run in Prefect's UI."""
    parameters = flow_run.parameters
    try:
        issue = str(IssueRef.parse(parameters["issue_ref"]))
    except InvalidReference:
        issue = redact(parameters["issue_ref"])
    return f"{issue} [{parameters.get('run_id') or 'new'}]"


@flow(name="resolve-issue", flow_run_name=_run_name, log_prints=True)
def resolve_issue(
    issue_ref: str,
    run_id: str | None = None,
    auto_approve: bool = False,
    merge_policy: MergePolicy = "stop",
    ambiguity_threshold: int = 70,
    ci_poll_s: float = 30.0,
    max_ci_fixes: int = 3,
    approval_timeout_s: int = 86_400,
    clarification_timeout_s: int = 86_400,
    clarification_poll_s: float = 60.0,
    script: str | None = None,
    agent: AgentBackendName | None = None,
) -> dict[str, Any]:
    """Resolve `issue_ref` (github:owner/repo#12, gitlab:group/project#3, local:name#1).

    `run_id` continues an earlier run of this issue; `auto_approve` and `merge_policy`
    (stop | approve | auto) decide what needs a human; `script` runs a saved scripted model;
    `agent` (builtin | claude-code) chooses who writes the code, else `agent.backend` decides.
    """
    options = RunOptions(
        auto_approve=auto_approve,
        merge_policy=merge_policy,
        ambiguity_threshold=ambiguity_threshold,
        ci_poll_s=ci_poll_s,
        max_ci_fixes=max_ci_fixes,
        approval_timeout_s=approval_timeout_s,
        clarification_timeout_s=clarification_timeout_s,
        clarification_poll_s=clarification_poll_s,
        script=script,
        agent=agent,
    )
    ctx = open_run(issue_ref, options, run_id or new_run_id())
    try:
        return resolve_run(ctx)
    finally:
        ctx.close()


def resolve_run(ctx: RunContext) -> dict[str, Any]:
    """Claim the issue and take it as far as it goes: the flow's body, which replays and forks
    run with a context of their own (recorded answers, a scratch store). A sandbox that cannot
    run here stops the run before it claims anything."""
    redact_logs(ctx.recorder.redactor)
    ctx.sandbox.check()
    if not ctx.sandbox.policy.confined:
        print(f"warning: {UNCONFINED_WARNING}")
    try:
        return _claimed_and_resolved(ctx)
    except BaseException as error:
        redact_exception(error, ctx.recorder.redactor)  # the flow run's state message and log
        raise


def _claimed_and_resolved(ctx: RunContext) -> dict[str, Any]:
    try:
        claim_issue(ctx, str(flow_run.id or ""))
    except AlreadyClaimed as taken:
        print(taken)
        return {
            "run_id": ctx.run_id,
            "issue": str(ctx.ref),
            "outcome": "already-claimed",
            "holder": taken.holder.run_id,
        }
    return _summary(ctx, _resolve(ctx))


def _resolve(ctx: RunContext) -> str:
    finished = run_state(ctx.store, ctx.run_id).outcome
    if finished is not None:
        return finished
    analysis = analyze_issue(ctx)
    clarification = None
    if analysis["needs_clarification"]:
        clarification = wait_for_clarification(ctx, analysis["questions"])
        if clarification is None:
            return _escalated(ctx, "the questions about the issue were not answered in time")
    plan = propose_plan(ctx, clarification)
    approved = _decision(ctx, "plan", plan, by_policy=ctx.options.auto_approve)
    if approved is None:
        release_claim(ctx, "plan rejected")
        complete_run(ctx, "rejected")
        return "rejected"
    outcome = implement_plan(ctx, approved)
    if outcome.get("status") != "done":
        return _escalated(ctx, f"the implementation stopped: {outcome.get('reason', 'unknown')}")
    pull = open_pull_request(ctx, approved, outcome)
    ci = _watch_and_repair(ctx)
    if ci != "success":
        return _escalated(ctx, ci)
    return _merge_checkpoint(ctx, pull)


def _decision(ctx: RunContext, subject: str, text: str, *, by_policy: bool) -> str | None:
    """The approved text (possibly edited), or None if rejected; an earlier decision stands."""
    state = run_state(ctx.store, ctx.run_id)
    if subject == "plan" and state.approved_plan is not None:
        return state.approved_plan
    if state.rejected is not None:
        return None
    decision = decide(ctx, "plan" if subject == "plan" else "merge", text, by_policy=by_policy)
    return None if decision.decision == "reject" else decision.plan


def _watch_and_repair(ctx: RunContext) -> str:
    """ "success", or why CI could not be made green."""
    while True:
        state = run_state(ctx.store, ctx.run_id)
        assert state.head_sha is not None
        ci = watch_ci(ctx, state.head_sha)
        if ci["state"] == "success":
            return "success"
        if ci["state"] == "timeout":
            return f"CI did not finish within {ctx.options.ci_timeout_s:g} s"
        if state.ci_fixes >= ctx.options.max_ci_fixes:
            return f"CI still fails after {state.ci_fixes} repair attempts"
        if fix_ci(ctx, ci["failed"]) is None:
            return run_state(ctx.store, ctx.run_id).push_refused or "the CI repair produced no change"


def _merge_checkpoint(ctx: RunContext, pull: dict[str, Any]) -> str:
    policy = ctx.options.merge_policy
    if policy == "stop":
        reach_checkpoint(ctx, pull["number"], pull["url"])
        complete_run(ctx, "awaiting-merge", pull_request=pull)
        return "awaiting-merge"
    reach_checkpoint(ctx, pull["number"], pull["url"])
    if _decision(ctx, "merge", f"Merge pull request #{pull['number']}?", by_policy=policy == "auto") is None:
        complete_run(ctx, "merge-declined", pull_request=pull)
        return "merge-declined"
    sha = merge_pull_request(ctx, pull["number"])
    complete_run(ctx, "merged", pull_request=pull, sha=sha)
    return "merged"


def _escalated(ctx: RunContext, reason: str) -> str:
    escalate(ctx, reason)
    complete_run(ctx, "escalated", reason=reason)
    return "escalated"


def _summary(ctx: RunContext, outcome: str) -> dict[str, Any]:
    state = run_state(ctx.store, ctx.run_id)
    return {
        "run_id": ctx.run_id,
        "issue": str(ctx.ref),
        "outcome": outcome,
        "pull_request": state.pull_request,
        "cost_usd": state.cost_usd,
        "escalated": state.escalated,
    }
