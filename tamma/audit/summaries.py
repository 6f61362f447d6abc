"""One readable line per event that a person follows: progress output, audit exports."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from event_store import Event
from tamma import event_types as et

__all__ = ["describe"]


def describe(event: Event) -> str | None:
    """One line for the events a person follows; None for the detail (tool calls, AI calls)."""
    data: dict[str, Any] = event.data
    lines: dict[str, Callable[[], str]] = {
        et.RUN_STARTED: lambda: f"claimed {data['issue']} on {data['worker']}",
        et.ANALYSIS_COMPLETED: lambda: f"analyzed: ambiguity {data['ambiguity']}/100",
        et.CLARIFICATION_REQUESTED: lambda: (
            f"asked the reporter {len(data['questions'])} question(s); waiting"
        ),
        et.CLARIFICATION_RECEIVED: lambda: "the reporter answered",
        et.PLAN_PROPOSED: lambda: "plan proposed",
        et.APPROVAL_REQUESTED: lambda: f"waiting for approval of the {data['subject']}",
        et.APPROVAL_PROVIDED: lambda: (
            f"{data['subject']} approved by {event.metadata.get('actor')}"
            + (" (edited)" if data.get("edited") else "")
        ),
        et.APPROVAL_REJECTED: lambda: f"{data['subject']} rejected: {data['reason'] or 'no reason given'}",
        et.AGENT_PHASE_STARTED: lambda: f"agent: phase {data['phase']}",
        et.TESTS_RAN: lambda: f"  tests {'pass' if data['passed'] else 'FAIL'} ({data.get('phase', '')})",
        et.COMMIT_CREATED: lambda: f"  commit {data['sha'][:10]} {data['message']}",
        et.BUDGET_EXCEEDED: lambda: f"budget exceeded: {data['limit']}",
        et.BRANCH_PUSHED: lambda: f"pushed {data['branch']} at {data['sha'][:10]}",
        et.PR_CREATED: lambda: f"pull request #{data['number']} {data['url']}".rstrip(),
        et.CI_STATUS_CHANGED: lambda: f"CI {data['state']} on {data['sha'][:10]}",
        et.CI_FIX_ATTEMPTED: lambda: (
            f"CI repair attempt {data['attempt']}: {data.get('summary') or data['reason']}"
        ),
        et.MERGE_CHECKPOINT_REACHED: lambda: f"merge checkpoint: pull request #{data['number']}",
        et.PR_MERGED: lambda: f"merged at {data['sha'][:10]}",
        et.ESCALATION_TRIGGERED: lambda: f"escalated to a human: {data['reason']}",
        et.RUN_COMPLETED: lambda: f"run finished: {data['outcome']}",
    }
    if event.type == et.AI_REQUEST_FAILED and data.get("retried"):
        return _retried(data)
    line = lines.get(event.type)
    return line() if line else None


def _retried(data: dict[str, Any]) -> str:
    """A model request the provider asks again: shown, as the wait can be long and repeated."""
    return (
        f"  model request failed ({data['message']}), retrying in {data['delay_s']:.1f} s "
        f"(attempt {data['attempt'] + 1} of {data['attempts']})"
    )
