"""What a run shows in the Prefect UI beside its logs: where it is, the plan, the pull request,
what its model calls cost, and a summary.

The UI is the dashboard: whoever watches a run's page sees how far it got (a progress artifact
moved at each phase) and, once it ends, what each step spent (a table), without reading logs.
Both follow the run's events (`follow_in_ui`, an observer of its recorder), so no step has to
remember to update them.

Each artifact has a key made from the run id (`progress-<run>`, `plan-<run>`,
`pull-request-<run>`, `costs-<run>`, `summary-<run>`), so a run continued after a crash, or a
plan edited at approval, adds a new version under the same key and the UI shows the latest.
Every text goes through the run's publisher first: artifacts are read by people, so they carry
no secret.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from typing import Any, cast
from uuid import UUID

from prefect.artifacts import (
    create_link_artifact,
    create_markdown_artifact,
    create_progress_artifact,
    create_table_artifact,
    update_progress_artifact,
)
from prefect.context import FlowRunContext

from event_store import Event, Query
from tamma import event_types as et
from tamma.platforms import PullRequest
from tasks._context import RunContext, publisher_for

__all__ = [
    "PHASES",
    "artifact_key",
    "cost_by_step",
    "follow_in_ui",
    "phase_reached",
    "publish_costs",
    "publish_plan",
    "publish_pull_request",
    "publish_summary",
]

PHASES = (
    "claim",
    "analyze",
    "plan",
    "approval",
    "tests",
    "fix",
    "refactor",
    "lint",
    "pull-request",
    "ci",
    "checkpoint",
)
"""A run's phases in order, the implementation as its agent's four: the progress artifact's
percent is the share of them the run has passed."""

_NOT_IN_KEYS = re.compile(r"[^a-z0-9-]+")


def artifact_key(kind: str, run_id: str) -> str:
    """`<kind>-<run>` in the only characters Prefect accepts in a key: lowercase letters,
    digits and dashes (a run id given by hand may hold others)."""
    return _NOT_IN_KEYS.sub("-", f"{kind}-{run_id}".lower())


def publish_plan(ctx: RunContext, plan: str, *, edited: bool = False) -> None:
    """The plan as the run will implement it: proposed, then again if edited at approval."""
    create_markdown_artifact(
        key=artifact_key("plan", ctx.run_id),
        markdown=publisher_for(ctx.recorder).text("plan artifact", plan),
        description=f"Tamma's plan for {ctx.ref}" + (", as edited at approval" if edited else ""),
    )


def publish_pull_request(ctx: RunContext, pull: PullRequest) -> None:
    """A link to the pull request; one without a web page (the local platform's) has none."""
    if not pull.url:
        return
    create_link_artifact(
        key=artifact_key("pull-request", ctx.run_id),
        link=publisher_for(ctx.recorder).text("pull request link", pull.url),
        link_text=f"Pull request #{pull.number}",
        description=f"Tamma's pull request for {ctx.ref}",
    )


def publish_summary(ctx: RunContext, summary: dict[str, Any]) -> None:
    """How the run ended, for whoever opens the flow run in the UI (the flow's result dict:
    run_id, issue, outcome, pull_request, cost_usd, escalated)."""
    create_markdown_artifact(
        key=artifact_key("summary", ctx.run_id),
        markdown=publisher_for(ctx.recorder).text("summary artifact", _summary_markdown(summary)),
        description=f"How Tamma's run {ctx.run_id} ended",
    )


def _summary_markdown(summary: dict[str, Any]) -> str:
    pull = summary.get("pull_request")
    lines = [
        f"## Tamma run `{summary['run_id']}`: {summary['outcome']}",
        "",
        f"- Issue: {summary['issue']}",
        f"- Pull request: {_pull_request_line(pull) if pull else 'none'}",
        f"- Cost: ${summary.get('cost_usd') or 0:.4f} in model calls",
    ]
    if summary.get("escalated"):
        lines.append(f"- Escalated to a human: {summary['escalated']}")
    return "\n".join(lines)


def _pull_request_line(pull: dict[str, Any]) -> str:
    return f"[#{pull['number']}]({pull['url']})" if pull.get("url") else f"#{pull['number']}"


def follow_in_ui(ctx: RunContext) -> None:
    """In a flow run: show the run's progress now (a continued run starts where it got to),
    move it as each phase passes, and publish the cost table when the run completes or fails.
    Call it once per context (`tasks._logging.log_steps_to_prefect` does)."""
    if FlowRunContext.get() is None:
        return
    passed = Query.of(types=list(_PHASE_EVENTS), tags=[ctx.run_tag])
    reached = max((PHASES.index(p) for e in ctx.store.read(passed) if (p := phase_reached(e))), default=-1)
    artifact_id = create_progress_artifact(
        _percent(reached), key=artifact_key("progress", ctx.run_id), description=_where(ctx, reached)
    )  # Prefect types it "or a coroutine": that is in an async flow, and resolve_issue is sync
    ctx.recorder.observers.append(_Progress(ctx, cast(UUID, artifact_id), reached))


def phase_reached(event: Event) -> str | None:
    """The phase of `PHASES` that `event` says the run has passed, if any."""
    data = event.data
    if event.type == et.STEP_FINISHED and data["ok"] and data["step"] in PHASES:
        return str(data["step"])
    if event.type == et.APPROVAL_PROVIDED and data["subject"] == "plan":
        return "approval"
    if event.type == et.AGENT_PHASE_COMPLETED and data["phase"] in PHASES:
        return str(data["phase"])
    if event.type == et.CI_STATUS_CHANGED and data["state"] == "success":
        return "ci"
    if event.type == et.MERGE_CHECKPOINT_REACHED:
        return "checkpoint"
    return None


_PHASE_EVENTS = (
    et.STEP_FINISHED,
    et.APPROVAL_PROVIDED,
    et.AGENT_PHASE_COMPLETED,
    et.CI_STATUS_CHANGED,
    et.MERGE_CHECKPOINT_REACHED,
)


def _percent(reached: int) -> float:
    return round(100 * (reached + 1) / len(PHASES), 1)


def _where(ctx: RunContext, reached: int) -> str:
    """The progress artifact's description: how many phases passed, and the last one."""
    last = f", last {PHASES[reached]}" if reached >= 0 else ""
    text = f"Tamma run {ctx.run_id} for {ctx.ref}: {reached + 1} of {len(PHASES)} phases passed{last}"
    return publisher_for(ctx.recorder).text("progress artifact", text)


class _Progress:
    """The observer behind the progress artifact; `reached` is the index of the furthest phase
    passed (a later phase implies the earlier ones: a skipped lint phase still counts)."""

    def __init__(self, ctx: RunContext, artifact_id: UUID, reached: int) -> None:
        self.ctx, self.artifact_id, self.reached = ctx, artifact_id, reached

    def __call__(self, event: Event) -> None:
        phase = phase_reached(event)
        if phase is not None and PHASES.index(phase) > self.reached:
            self.reached = PHASES.index(phase)
            update_progress_artifact(
                self.artifact_id, _percent(self.reached), description=_where(self.ctx, self.reached)
            )
        if event.type in (et.RUN_COMPLETED, et.RUN_FAILED):
            publish_costs(self.ctx)


def publish_costs(ctx: RunContext) -> None:
    """A table of the run's model calls, tokens, cost and time by step (`cost_by_step`), all of
    the run's attempts included: its total is the run's recorded cost."""
    rows = cost_by_step(ctx.store.read(Query.of(types=list(_COST_EVENTS), tags=[ctx.run_tag])))
    publisher = publisher_for(ctx.recorder)
    calls = sum(row["model_calls"] for row in rows)
    tokens = sum(row["input_tokens"] + row["output_tokens"] for row in rows)
    cost = sum(row["cost_usd"] for row in rows)
    create_table_artifact(
        table=[{**row, "step": publisher.text("cost table", row["step"])} for row in rows],
        key=artifact_key("costs", ctx.run_id),
        description=publisher.text(
            "cost table description",
            f"Model calls of Tamma's run {ctx.run_id} by step: {calls} calls, "
            f"{tokens} tokens, ${cost:.4f} in all",
        ),
    )


@dataclass
class _StepCost:
    model_calls: int = 0
    input_tokens: int = 0
    output_tokens: int = 0
    cost_usd: float = 0.0
    duration_s: float = 0.0


_COST_EVENTS = (
    et.AI_REQUEST_STARTED,
    et.AI_RESPONSE_RECEIVED,
    et.STEP_FINISHED,
    et.AGENT_PHASE_STARTED,
    et.AGENT_PHASE_COMPLETED,
    et.AGENT_FINISHED,
)
_STEP_PURPOSES = {"analyze": "analysis", "plan": "plan", "fix-ci": "ci-fix"}
"""The flow steps whose model calls have one purpose: their STEP.FINISHED time is that row's."""
_PHASE_ENDS = {et.AGENT_PHASE_STARTED, et.AGENT_PHASE_COMPLETED, et.AGENT_FINISHED, et.STEP_FINISHED}


def cost_by_step(events: Iterable[Event]) -> list[dict[str, Any]]:
    """One row per step that asked the model or ran (analysis, plan, tests, fix, refactor, lint,
    ci-fix), in the order they first appear: `model_calls`, `input_tokens` (cached ones
    included), `output_tokens`, `cost_usd`, and `duration_s`, the step's wall time (from
    STEP.FINISHED; an agent phase's from its start to the next phase boundary). A call's step is
    its request's `purpose` (AI.REQUEST.STARTED, linked by `request_id`), or for Claude Code,
    which records its answers without a request, the answer's `phase`."""
    purposes: dict[str, str] = {}
    rows: dict[str, _StepCost] = {}
    phase: tuple[str, datetime] | None = None
    for event in events:
        data = event.data
        if phase is not None and event.type in _PHASE_ENDS:
            rows.setdefault(phase[0], _StepCost()).duration_s += (
                event.recorded_at - phase[1]
            ).total_seconds()
            phase = None
        if event.type == et.AI_REQUEST_STARTED:
            purposes[str(event.id)] = data["request"].get("purpose") or "other"
        elif event.type == et.AI_RESPONSE_RECEIVED:
            purpose = purposes.get(data.get("request_id", "")) or data.get("phase") or "other"
            row = rows.setdefault(purpose, _StepCost())
            usage = data["usage"]
            row.model_calls += 1
            row.input_tokens += sum(
                usage.get(k, 0) for k in ("input_tokens", "cache_read_tokens", "cache_write_tokens")
            )
            row.output_tokens += usage.get("output_tokens", 0)
            row.cost_usd += data["cost_usd"]
        elif event.type == et.STEP_FINISHED and data["step"] in _STEP_PURPOSES:
            rows.setdefault(_STEP_PURPOSES[data["step"]], _StepCost()).duration_s += data["duration_s"]
        elif event.type == et.AGENT_PHASE_STARTED:
            phase = (data["phase"], event.recorded_at)
    return [
        {
            "step": name,
            "model_calls": row.model_calls,
            "input_tokens": row.input_tokens,
            "output_tokens": row.output_tokens,
            "cost_usd": round(row.cost_usd, 6),
            "duration_s": round(row.duration_s, 2),
        }
        for name, row in rows.items()
    ]
