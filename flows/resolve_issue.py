"""`resolve_issue`: one issue from claim to merge checkpoint, or to a human.

    claim -> analyze (-> ask and wait) -> plan -> approval -> implement test-first -> pull
    request -> watch CI (-> repair, at most 3 times) -> merge checkpoint -> merge
    (or escalate: comment + needs-human-review label)

Each step is a task in `tasks/` that first asks the run's events whether it is done, so a run
started again with the same `run_id` (after a crash, a kill, a lost worker) continues from the
last recorded step and never repeats a side effect.
"""

from __future__ import annotations

import uuid
from typing import Any

from prefect import flow
from prefect.client.orchestration import get_client
from prefect.client.schemas.objects import State
from prefect.exceptions import Pause
from prefect.runtime import flow_run
from prefect.states import Cancelled, Completed, Failed

from flows._approval import decide
from flows._clarify import clarification
from flows._slots import run_slots
from tamma import event_types
from tamma.agent.budget import BudgetExceeded
from tamma.agent.settings import AgentBackendName
from tamma.audit.run_state import run_state
from tamma.claims import LeaseKeeper
from tamma.errors import InvalidReference
from tamma.platforms import Comment, IssueRef
from tamma.publishing import redact_exception, redact_logs
from tamma.redaction import redact
from tamma.sandbox import UNCONFINED_WARNING
from tasks._artifacts import publish_summary
from tasks._context import AnswersFrom, MergePolicy, RunContext, RunOptions, open_run
from tasks._logging import log_steps_to_prefect
from tasks._model import NoUsableAnswer
from tasks.analyze import analyze_issue
from tasks.ci import fix_ci, watch_ci
from tasks.claim import claim_issue, lost_claim_message, release_claim
from tasks.finish import complete_run, escalate, merge_pull_request, reach_checkpoint
from tasks.implement import implement_plan
from tasks.plan import propose_plan
from tasks.pull_request import open_pull_request

__all__ = ["resolve_in_process", "resolve_issue", "resolve_run"]


def _issue_name(issue_ref: str) -> str:
    """The reference as Tamma writes it, so a URL given with credentials
    (`https://user:token@...`) never names a run in Prefect's UI."""
    try:
        return str(IssueRef.parse(issue_ref))
    except InvalidReference:
        return redact(issue_ref)


def _run_name() -> str:
    """`github:acme/shop#12 [r-1a2b3c4d]`; a run whose id is decided in the flow (a new one, or
    an earlier run it continues) is renamed once it is known (`_name_flow_run`)."""
    parameters = flow_run.parameters
    return f"{_issue_name(parameters['issue_ref'])} [{parameters.get('run_id') or 'new'}]"


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
    answers_from: AnswersFrom = "maintainers",
    script: str | None = None,
    agent: AgentBackendName | None = None,
    continue_own: bool = True,
) -> State[dict[str, Any]]:
    """Resolve `issue_ref` (github:owner/repo#12, gitlab:group/project#3, gitea:owner/repo#4, azure:org/project/repo#5, bitbucket:workspace/repo#6, local:name#1).

    `run_id` continues an earlier run of this issue (`continue_own`: even if another process
    still renews its claim); without it, a run that failed or whose claim expired is continued,
    else a new one starts. `auto_approve` and `merge_policy` (stop | approve | auto) decide what
    needs a human; `script` runs a saved scripted model; `agent` (builtin | claude-code)
    chooses who writes the code, else `agent.backend` decides.

    The flow run ends in a state that says what happened: Completed as AwaitingMerge, Merged or
    MergeDeclined; Failed as Escalated; Cancelled as Rejected or AlreadyClaimed; Failed on an
    error (recorded as RUN.FAILED: Prefect's Retry continues the same run).
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
        answers_from=answers_from,
        script=script,
        agent=agent,
    )
    claimant = str(flow_run.id or f"process-{uuid.uuid4().hex[:12]}")
    ctx = open_run(issue_ref, options, run_id, claimant=claimant)
    try:
        _name_flow_run(ctx)
        with run_slots(ctx.ref, lease_s=ctx.settings.claim_lease_s):
            summary = resolve_run(ctx, claimant, continue_own=continue_own and run_id is not None)
        publish_summary(ctx, summary)
        return _final_state(summary)
    finally:
        ctx.close()


def resolve_run(ctx: RunContext, claimant: str = "", *, continue_own: bool = False) -> dict[str, Any]:
    """Claim the issue and take it as far as it goes: the flow's body, which replays and forks
    run with a context of their own (recorded answers, a scratch store). A sandbox that cannot
    run here stops the run before it claims anything. Whatever error ends the run after its
    claim is recorded as RUN.FAILED, which frees the claim for whoever continues the run."""
    redact_logs(ctx.recorder.redactor)
    log_steps_to_prefect(ctx)
    ctx.sandbox.check()
    if not ctx.sandbox.policy.confined:
        print(f"warning: {UNCONFINED_WARNING}")
    claimant = claimant or f"process-{uuid.uuid4().hex[:12]}"
    outcome = run_state(ctx.store, ctx.run_id).outcome
    if outcome not in (None, "failed"):
        return _summary(ctx, outcome)
    attempt = claim_issue(ctx, claimant, continue_own=continue_own)
    if not attempt.won:
        print(lost_claim_message(str(ctx.ref), attempt.holder))
        holder = attempt.holder.run_id if attempt.holder else "?"
        return {"run_id": ctx.run_id, "issue": str(ctx.ref), "outcome": "already-claimed", "holder": holder}
    keeper = _keep_lease(ctx, claimant)
    try:
        return _summary(ctx, _resolve(ctx))
    except Pause:
        raise  # control flow: the run waits, it did not fail
    except BaseException as error:
        redact_exception(error, ctx.recorder.redactor)  # the flow run's state message and log
        _record_failure(ctx, error)
        raise
    finally:
        if keeper is not None:
            keeper.stop()


def _keep_lease(ctx: RunContext, claimant: str) -> LeaseKeeper | None:
    """The heartbeat of a live run; replays and forks work in a scratch store nobody races for."""
    if ctx.replay is not None:
        return None
    keeper = LeaseKeeper(
        ctx.store,
        ctx.ref.tag,
        claimant=claimant,
        tags=ctx.recorder.tags,
        lease_s=ctx.settings.claim_lease_s,
        on_lost=lambda holder: print(f"warning: {lost_claim_message(str(ctx.ref), holder)}"),
    )
    keeper.start()
    return keeper


def _record_failure(ctx: RunContext, error: BaseException) -> None:
    """RUN.FAILED with the error's type, its (redacted) message and the step it ended in. When
    the store itself is what failed, nothing more can be written: the claim's lease runs out."""
    message = str(error).strip().splitlines()[0] if str(error).strip() else type(error).__name__
    try:
        ctx.recorder.record(
            event_types.RUN_FAILED,
            outcome="failed",
            issue=str(ctx.ref),
            error=type(error).__name__,
            message=message[:2_000],
            step=run_state(ctx.store, ctx.run_id).step,
            resume=f"tamma run {ctx.ref} --run-id {ctx.run_id}",
        )
    except Exception as unrecorded:
        print(f"warning: the failure could not be recorded ({type(unrecorded).__name__}); the claim expires")


def _name_flow_run(ctx: RunContext) -> None:
    """Give the flow run the Tamma run id it works for, once the flow decided it."""
    if flow_run.id is None:
        return
    name = f"{ctx.ref} [{ctx.run_id}]"
    if flow_run.name != name:
        with get_client(sync_client=True) as client:
            client.update_flow_run(flow_run.id, name=name)


_COMPLETED = {"awaiting-merge": "AwaitingMerge", "merged": "Merged", "merge-declined": "MergeDeclined"}
_CANCELLED = {"rejected": "Rejected", "already-claimed": "AlreadyClaimed"}


def _final_state(summary: dict[str, Any]) -> State[dict[str, Any]]:
    """The flow run's final state, named for the outcome, the summary as its result."""
    outcome = summary["outcome"]
    message = f"{summary['issue']}: {outcome} (run {summary['run_id']})"
    if outcome == "already-claimed":
        message = f"{summary['issue']} is held by run {summary['holder']}: nothing done"
    if outcome in _COMPLETED:
        return Completed(data=summary, name=_COMPLETED[outcome], message=message)
    if outcome in _CANCELLED:
        return Cancelled(data=summary, name=_CANCELLED[outcome], message=message)
    reason = summary.get("escalated") or outcome
    return Failed(data=summary, name="Escalated", message=f"{message}: {reason}")


def _resolve(ctx: RunContext) -> str:
    try:
        plan = _plan(ctx)
    except (NoUsableAnswer, BudgetExceeded) as unusable:
        return _escalated(ctx, str(unusable))
    if plan is None:
        return _escalated(ctx, "the questions about the issue were not answered in time")
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


def _plan(ctx: RunContext) -> str | None:
    """The proposed plan, after asking the reporter if the issue is unclear; None when no
    answer came in time."""
    analysis = analyze_issue(ctx)
    replies: tuple[Comment, ...] = ()
    if analysis["needs_clarification"]:
        answered = clarification(ctx, analysis["questions"])
        if answered is None:
            return None
        replies = answered
    return propose_plan(ctx, replies)


def _decision(ctx: RunContext, subject: str, text: str, *, by_policy: bool) -> str | None:
    """The approved text (possibly edited), or None if rejected; an earlier decision stands."""
    state = run_state(ctx.store, ctx.run_id)
    if subject == "plan" and state.approved_plan is not None:
        return state.approved_plan
    if subject == "merge" and state.merge_approved:
        return text
    if state.rejected is not None:
        return None
    decision = decide(ctx, "plan" if subject == "plan" else "merge", text, by_policy=by_policy)
    return None if decision.decision == "reject" else decision.plan


def _watch_and_repair(ctx: RunContext) -> str:
    """ "success", or why CI could not be made green."""
    while True:
        state = run_state(ctx.store, ctx.run_id)
        if state.unpushed_repair is not None:  # committed by a run that stopped before its push
            if fix_ci(ctx, []) is None:
                return run_state(ctx.store, ctx.run_id).push_refused or "the CI repair could not be pushed"
            continue
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


def resolve_in_process(issue_ref: str, **parameters: Any) -> dict[str, Any]:
    """Run the flow in this process and return its summary, whatever the outcome (escalated and
    rejected runs included); an error that ended the run is raised again."""
    state: State[Any] = resolve_issue(issue_ref, **parameters, return_state=True)
    result = state.result(raise_on_failure=False)
    if isinstance(result, BaseException):
        raise result
    return dict(result)
