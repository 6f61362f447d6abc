"""Implementation: the test-first agent in the issue's workspace, then the branch pushed.

A session that stopped part-way (its budget, a phase whose check kept failing, a refusal)
still pushes what its completed phases committed: the escalation points at that branch, so
the work is kept for the human who takes over, and a fork can go on from it."""

from __future__ import annotations

from typing import Any

from tamma.agent.test_first import TestFirstAgent
from tamma.audit.run_state import run_state
from tasks._agent import open_agent
from tasks._context import RunContext
from tasks._push import push_branch
from tasks._resume import resume_point
from tasks._step import step

__all__ = ["implement_plan"]


@step("implement")
def implement_plan(ctx: RunContext, plan: str) -> dict[str, Any]:
    """The recorded AGENT.FINISHED outcome. The branch is pushed when the session is done, or
    stopped with commits (once: a run that crashed between finishing and pushing pushes on its
    next start), unless the push is refused for a secret in the change, which stops the run. An
    implementation interrupted before it finished goes on after its last completed phase
    (`tasks._resume`)."""
    state = run_state(ctx.store, ctx.run_id)
    if state.push_refused is not None:
        return {**(state.implementation or {}), "status": "stopped", "reason": state.push_refused}
    if state.implementation is not None and (state.head_sha or not _to_push(state.implementation)):
        return state.implementation
    issue = ctx.issue()
    kit = open_agent(ctx, issue)
    if state.implementation is None:
        agent = TestFirstAgent(
            kit.loop,
            kit.workspace,
            ctx.recorder,
            lint_command=kit.lint_command,
            attempts_per_phase=ctx.settings.agent.attempts_per_phase,
        )
        agent.implement(issue, plan=plan, resume=resume_point(ctx, kit.workspace))
    outcome = run_state(ctx.store, ctx.run_id).implementation or {}
    if _to_push(outcome):
        refused = push_branch(ctx, kit.workspace)
        if refused is not None:
            return {**outcome, "status": "stopped", "reason": refused}
    return outcome


def _to_push(outcome: dict[str, Any]) -> bool:
    """Whether the session left anything to push: a finished change, or committed phases."""
    return outcome.get("status") == "done" or bool(outcome.get("commits"))
