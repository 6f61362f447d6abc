"""Waiting for answers to Tamma's questions without holding a process.

`tamma run` (and any run outside a deployment) polls the issue for replies inside its
`clarify` step. A deployment's run instead looks once, then suspends: the flow run leaves its
worker until it is resumed, by `tamma webhooks` when a comment comes on the issue or from the
Prefect UI (after replying on the issue, or typing the answer into the form), and a worker runs
it again from the top; every finished step is a no-op, the same suspension (same key) hands back
the form, and the issue is read again. A comment that is no answer (`answers_from` does not
accept its author) resumes it too: then the run suspends again, under the next key, and waits.
"""

from __future__ import annotations

from prefect import suspend_flow_run
from prefect.input import RunInput
from prefect.runtime import deployment
from pydantic import Field

from tamma.platforms import Comment
from tasks._context import RunContext
from tasks.analyze import numbered, wait_for_clarification

__all__ = ["Answers", "clarification", "questions_key"]


class Answers(RunInput):
    """The form of a run suspended for answers; empty when the answers are on the issue."""

    answer: str = Field(
        default="",
        title="Answer",
        description="Reply on the issue and leave this empty, or type the answer here",
    )


def clarification(ctx: RunContext, questions: list[str]) -> tuple[Comment, ...] | None:
    """The replies to `questions`; None when none came in time (a run outside a deployment).
    A deployment's run looks, suspends, and looks again each time it is resumed: on re-entry,
    the suspensions it went through hand back their answers at once, in order."""
    if deployment.id is None:
        return wait_for_clarification(ctx, questions)
    form = Answers.with_initial_data(
        description=f"**Tamma asked about {ctx.ref}** (run {ctx.run_id}):\n\n{numbered(questions)}\n\n"
        "Resume when the reporter has answered on the issue, or type the answer here."
    )
    typed, wait = "", 1
    while (replies := wait_for_clarification(ctx, questions, wait=False, typed=typed)) is None:
        answered = suspend_flow_run(
            wait_for_input=form,
            timeout=ctx.options.clarification_timeout_s,
            key=questions_key(ctx.run_id, wait),
        )
        typed, wait = answered.answer, wait + 1
    return replies


def questions_key(run_id: str, wait: int) -> str:
    """The key of the run's `wait`-th suspension for answers (from 1): what `tamma webhooks`
    looks for before it resumes a flow run on a comment (`tamma.webhooks._resume`)."""
    return f"{run_id}-questions" if wait == 1 else f"{run_id}-questions-{wait}"
