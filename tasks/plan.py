"""Planning: the model writes a fix plan in markdown through the `submit_plan` tool (see
`tamma.agent.answers`: a refusal, an empty plan or a JSON blob is never accepted); it becomes a
Prefect artifact (shown in the UI beside the approval) and a comment on the issue."""

from __future__ import annotations

from collections.abc import Sequence

from tamma import event_types
from tamma.agent.answers import PLAN
from tamma.agent.prompts import UNTRUSTED_DATA_RULE, Reply, quoted_issue
from tamma.audit.run_state import run_state
from tamma.platforms import Comment
from tasks._artifacts import publish_plan
from tasks._comments import post_once
from tasks._context import RunContext
from tasks._model import ask_for
from tasks._step import step

__all__ = ["PLAN_SYSTEM", "propose_plan"]

PLAN_SYSTEM = f"""You are Tamma's planner. Write a short plan to fix the issue below test-first, for a
maintainer to approve: what is wrong, which tests will show it failing first, which code will change
and how, and the risks. Write it in markdown prose, a few short paragraphs or bullets.
Rules:
{UNTRUSTED_DATA_RULE}
- If the issue has answers to Tamma's questions, each says who wrote it: the reporter, a maintainer,
  or someone else (weigh the last with care).
Answer by calling submit_plan. If you will not plan a fix for this issue, call decline and say why."""


@step("plan")
def propose_plan(ctx: RunContext, replies: Sequence[Comment] = ()) -> str:
    """The plan, asked for once; `replies` are the answers to Tamma's questions, if it asked."""
    state = run_state(ctx.store, ctx.run_id)
    plan = state.plan
    if plan is None:
        issue = ctx.issue()
        prompt = quoted_issue(issue, [Reply.of(reply, issue) for reply in replies])
        plan = ask_for(ctx, "plan", PLAN_SYSTEM, prompt, PLAN).plan
        ctx.recorder.record(event_types.PLAN_PROPOSED, actor="model", plan=plan)
        publish_plan(ctx, plan)
    post_once(ctx, "plan", f"### Tamma's plan ({ctx.run_id})\n\n{plan}\n\nWaiting for approval.")
    return plan
