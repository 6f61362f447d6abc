"""A run's state, folded from its events: what is done, so a restarted run skips it.

Every step of `resolve_issue` asks this state first ("is there a plan? a PR?") and records an
event when it acts, so the events alone say how far a run got. The same fold stopped at an
earlier position is the run as it was then (time travel, `tamma history`).
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Any

from event_store import Event, EventStore, IncrementalProjection, Projection, Query
from tamma import event_types as et

__all__ = ["RunState", "run_of", "run_state", "run_state_projection", "tag_value"]


@dataclass(frozen=True)
class RunState:
    issue: str = ""
    phase: str = "new"
    analysis: dict[str, Any] | None = None
    clarification: str | None = None
    replies: tuple[dict[str, Any], ...] = ()
    """The comments that answered the run's questions ({id, author, body})."""
    plan: str | None = None
    approved_plan: str | None = None
    rejected: str | None = None
    awaiting_approval: str | None = None
    """The Prefect flow run id waiting for a decision (plan or merge), if one is."""
    awaiting_subject: str | None = None
    """What that decision is about: "plan" or "merge"."""
    merge_approved: bool = False
    implementation: dict[str, Any] | None = None
    branch: str | None = None
    head_sha: str | None = None
    pull_request: dict[str, Any] | None = None
    ci_state: str | None = None
    ci_fixes: int = 0
    merged_sha: str | None = None
    escalated: str | None = None
    outcome: str | None = None
    unpushed_repair: str | None = None
    """A CI repair's commit recorded (CI.FIX.ATTEMPTED) but not pushed yet: pushed on resume."""
    push_refused: str | None = None
    """Why the branch was not pushed: its new commits add a configured secret."""
    comments: frozenset[str] = frozenset()
    """Purposes of the comments posted (questions, plan, escalation...)."""
    cost_usd: float = 0.0
    step: str | None = None
    """The step last started: where a failed run stopped."""
    failure: dict[str, Any] | None = None
    """RUN.FAILED's data while the run stands failed: error, message, step, resume command."""


_PHASES = {
    et.RUN_STARTED: "claimed",
    et.ANALYSIS_COMPLETED: "analyzed",
    et.CLARIFICATION_REQUESTED: "awaiting clarification",
    et.PLAN_PROPOSED: "planned",
    et.APPROVAL_REQUESTED: "awaiting approval",
    et.APPROVAL_PROVIDED: "approved",
    et.AGENT_PHASE_STARTED: "implementing",
    et.PR_CREATED: "pull request open",
    et.CI_STATUS_CHANGED: "watching CI",
    et.CI_FIX_ATTEMPTED: "fixing CI",
    et.MERGE_CHECKPOINT_REACHED: "at merge checkpoint",
    et.PR_MERGED: "merged",
    et.ESCALATION_TRIGGERED: "escalated",
}


def _apply(state: RunState, event: Event) -> RunState:
    data, kind = event.data, event.type
    changes: dict[str, Any] = {}
    if kind in _PHASES:
        changes["phase"] = _PHASES[kind]
    if kind == et.RUN_STARTED:
        changes["issue"] = data["issue"]
    elif kind == et.STEP_STARTED:
        changes["step"] = data["step"]
    elif kind == et.RUN_FAILED:
        changes |= {
            "outcome": "failed",
            "phase": "failed",
            "failure": data,
            "issue": state.issue or data["issue"],
        }
    elif kind == et.RUN_RESUMED:
        changes |= {"outcome": None, "phase": "resumed", "failure": None}
    elif kind == et.ANALYSIS_COMPLETED:
        changes["analysis"] = data
    elif kind == et.CLARIFICATION_RECEIVED:
        changes |= {"clarification": data["answer"], "replies": tuple(data.get("replies", ()))}
    elif kind == et.PLAN_PROPOSED:
        changes["plan"] = data["plan"]
    elif kind == et.APPROVAL_REQUESTED:
        changes |= {"awaiting_approval": data["flow_run_id"], "awaiting_subject": data["subject"]}
    elif kind == et.APPROVAL_PROVIDED:
        changes |= {"awaiting_approval": None, "awaiting_subject": None}
        if data["subject"] == "merge":
            changes["merge_approved"] = True
        if data["subject"] == "plan":
            changes["approved_plan"] = data["plan"]
    elif kind == et.APPROVAL_REJECTED:
        changes |= {
            "awaiting_approval": None,
            "awaiting_subject": None,
            "rejected": data["reason"],
            "phase": "rejected",
        }
    elif kind == et.AGENT_FINISHED:
        changes["implementation"] = data
    elif kind == et.BRANCH_PUSHED:
        changes |= {"branch": data["branch"], "head_sha": data["sha"], "unpushed_repair": None}
    elif kind == et.PUSH_REFUSED:
        changes["push_refused"] = data["reason"]
    elif kind == et.PR_CREATED:
        changes["pull_request"] = data
    elif kind == et.CI_STATUS_CHANGED:
        changes["ci_state"] = data["state"]
    elif kind == et.CI_FIX_ATTEMPTED:
        changes |= {"ci_fixes": state.ci_fixes + 1, "unpushed_repair": data["sha"]}
    elif kind == et.PR_MERGED:
        changes["merged_sha"] = data["sha"]
    elif kind == et.ESCALATION_TRIGGERED:
        changes["escalated"] = data["reason"]
    elif kind == et.COMMENT_POSTED:
        changes["comments"] = state.comments | {data["purpose"]}
    elif kind == et.AI_RESPONSE_RECEIVED:
        changes["cost_usd"] = round(state.cost_usd + data["cost_usd"], 8)
    elif kind == et.RUN_COMPLETED:
        changes |= {"outcome": data["outcome"], "phase": data["outcome"]}
    return replace(state, **changes) if changes else state


_RUN_STATES = IncrementalProjection(RunState(), _apply)
"""Every step asks for its run's state: fold only what the run recorded since the last answer."""


def run_state_projection(run_id: str) -> Projection[RunState]:
    return _RUN_STATES.projection(Query.of(tags=[f"run:{run_id}"]))


def run_state(store: EventStore, run_id: str, *, until: int | None = None) -> RunState:
    return _RUN_STATES.run(store, Query.of(tags=[f"run:{run_id}"]), until=until).state


def tag_value(event: Event, prefix: str) -> str:
    """What follows `prefix` in the event's tag that starts with it (`run:`, `issue:`), or ""."""
    return next((tag.removeprefix(prefix) for tag in event.tags if tag.startswith(prefix)), "")


def run_of(event: Event) -> str:
    """The run id an event belongs to."""
    return tag_value(event, "run:")
