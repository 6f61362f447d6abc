"""What a run shows in the Prefect UI beside its logs: the plan, the pull request, a summary.

Each artifact has a key made from the run id (`plan-<run>`, `pull-request-<run>`,
`summary-<run>`), so a run continued after a crash, or a plan edited at approval, adds a new
version under the same key and the UI shows the latest. Every text goes through the run's
publisher first: artifacts are read by people, so they carry no secret.
"""

from __future__ import annotations

import re
from typing import Any

from prefect.artifacts import create_link_artifact, create_markdown_artifact

from tamma.platforms import PullRequest
from tasks._context import RunContext, publisher_for

__all__ = ["artifact_key", "publish_plan", "publish_pull_request", "publish_summary"]

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
