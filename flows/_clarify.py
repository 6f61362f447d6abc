"""Waiting for answers to Tamma's questions without holding a process.

`tamma run` (and any run outside a deployment) polls the issue for replies inside its
`clarify` step. A deployment's run instead looks once, then suspends: the flow run leaves its
worker until someone resumes it from the Prefect UI (after replying on the issue, or typing
the answer into the form), and a worker runs it again from the top; every finished step is a
no-op, the same suspension (same key) hands back the form, and the issue is read again.
"""

from __future__ import annotations

from prefect import suspend_flow_run
from prefect.input import RunInput
from prefect.runtime import deployment
from pydantic import Field

from tamma.platforms import Comment
from tasks._context import RunContext
from tasks.analyze import numbered, wait_for_clarification

__all__ = ["Answers", "clarification"]


class Answers(RunInput):
    """The form of a run suspended for answers; empty when the answers are on the issue."""

    answer: str = Field(
        default="",
        title="Answer",
        description="Reply on the issue and leave this empty, or type the answer here",
    )


def clarification(ctx: RunContext, questions: list[str]) -> tuple[Comment, ...] | None:
    """The replies to `questions`; None when none came (in time, or by the time of resuming)."""
    if deployment.id is None:
        return wait_for_clarification(ctx, questions)
    replies = wait_for_clarification(ctx, questions, wait=False)
    if replies is not None:
        return replies
    form = Answers.with_initial_data(
        description=f"**Tamma asked about {ctx.ref}** (run {ctx.run_id}):\n\n{numbered(questions)}\n\n"
        "Resume when the reporter has answered on the issue, or type the answer here."
    )
    answered = suspend_flow_run(
        wait_for_input=form, timeout=ctx.options.clarification_timeout_s, key=f"{ctx.run_id}-questions"
    )
    return wait_for_clarification(ctx, questions, wait=False, typed=answered.answer)
