"""Planning: the model writes a fix plan in markdown; it becomes a Prefect artifact (shown in
the UI beside the approval) and a comment on the issue."""

from __future__ import annotations

from tamma import event_types
from tamma.agent.prompts import UNTRUSTED_ISSUE_RULE, quoted_issue
from tamma.audit.run_state import run_state
from tasks._artifacts import publish_plan
from tasks._comments import post_once
from tasks._context import RunContext
from tasks._model import ask_model
from tasks._step import step

__all__ = ["PLAN_SYSTEM", "propose_plan"]

PLAN_SYSTEM = f"""You are Tamma's planner. Write a short plan, in markdown, to fix the issue below
test-first: what is wrong, which tests will show it, which code will change and how, and the risks.
{UNTRUSTED_ISSUE_RULE}"""


@step("plan")
def propose_plan(ctx: RunContext, clarification: str | None = None) -> str:
    state = run_state(ctx.store, ctx.run_id)
    plan = state.plan
    if plan is None:
        answered = f"\n\nThe reporter's answers to our questions:\n{clarification}" if clarification else ""
        plan = ask_model(ctx, "plan", PLAN_SYSTEM, quoted_issue(ctx.issue()) + answered).strip()
        ctx.recorder.record(event_types.PLAN_PROPOSED, actor="model", plan=plan)
        publish_plan(ctx, plan)
    post_once(ctx, "plan", f"### Tamma's plan ({ctx.run_id})\n\n{plan}\n\nWaiting for approval.")
    return plan
