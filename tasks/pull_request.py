"""Opening the pull request exactly once, with the plan, the test evidence and the cost.

Its body carries the marker `<!-- tamma:<run>-pr -->`; before opening, the run's events are
asked, then the platform (`find_pull_request(branch)`), so a retried or restarted run records
the pull request an earlier attempt opened instead of opening a second one.
"""

from __future__ import annotations

from typing import Any

from tamma import event_types
from tamma.audit.run_state import run_state
from tamma.platforms import marker
from tasks._artifacts import publish_pull_request
from tasks._context import RunContext
from tasks._step import step

__all__ = ["open_pull_request", "pull_request_body"]


def pull_request_body(ctx: RunContext, plan: str, outcome: dict[str, Any], cost_usd: float) -> str:
    summaries = "\n".join(
        f"- **{phase}**: {text}" for phase, text in outcome.get("summaries", {}).items() if text
    )
    return f"""Resolves #{ctx.ref.number} ({ctx.ref}).

## Plan
{plan}

## What changed
{summaries or "- (no summary)"}

Files: {", ".join(f"`{f}`" for f in outcome.get("files_changed", [])) or "none"}

## Test evidence
Before the fix (the new tests fail):
```
{outcome.get("tests_before_output", "").strip()[-1500:]}
```
After the fix (the suite passes):
```
{outcome.get("tests_after_output", "").strip()[-1500:]}
```

## Cost
${cost_usd:.4f} in model calls so far (run `{ctx.run_id}`; `tamma events --run {ctx.run_id}` shows every step).

{marker(f"{ctx.run_id}-pr")}"""


@step("pull-request")
def open_pull_request(ctx: RunContext, plan: str, outcome: dict[str, Any]) -> dict[str, Any]:
    state = run_state(ctx.store, ctx.run_id)
    if state.pull_request is not None:
        return state.pull_request
    if state.branch is None:
        raise AssertionError("a pull request needs the pushed branch; implementation records it")
    found = ctx.platform.find_pull_request(state.branch)
    pull = found or ctx.platform.open_pull_request(
        title=f"[Tamma] {ctx.issue().title}",
        body=pull_request_body(ctx, plan, outcome, state.cost_usd),
        head=state.branch,
        base=ctx.platform.repository().default_branch,
    )
    publish_pull_request(ctx, pull)  # before the record: a restart publishes it again, never not at all
    record: dict[str, Any] = {
        "number": pull.number,
        "url": pull.url,
        "head": pull.head,
        "head_sha": pull.head_sha,
    }
    ctx.recorder.record(event_types.PR_CREATED, found_existing=found is not None, **record)
    return record
