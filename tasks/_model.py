"""Asking the model for one structured answer (analysis, plan) outside the coding agent's loop.

The question offers the form's tool and `decline`, and the model must call one of them. An
answer that does not fit the form is sent back once with what is wrong (AI.ANSWER.REJECTED
records each); a second misfit, or a refusal, ends the question with `NoUsableAnswer`, which
escalates the run with the reason and, for a refusal, the model's own words. Every call is
checked against the run's budget first: an issue too large for it is never sent.
"""

from __future__ import annotations

from typing import TypeVar

from pydantic import BaseModel

from tamma import event_types
from tamma.agent.answers import AnswerForm, Declined, Invalid, quote_model
from tamma.agent.budget import BudgetExceeded
from tamma.agent.loop import record_budget_exceeded
from tamma.errors import TammaError
from tamma.providers import Message, Request, Response, ToolResultBlock
from tasks._budget import run_budget
from tasks._context import RunContext

__all__ = ["ANSWER_ATTEMPTS", "NoUsableAnswer", "ask_for"]

T = TypeVar("T", bound=BaseModel)
ANSWER_ATTEMPTS = 2
"""The first answer, and one more after telling the model what was wrong with it."""


class NoUsableAnswer(TammaError):
    """The model declined, or twice gave an answer that does not fit: the run escalates."""


def ask_for(ctx: RunContext, purpose: str, system: str, prompt: str, form: AnswerForm[T]) -> T:
    """The model's answer to `prompt`, filled into `form`."""
    guard = run_budget(ctx)
    messages = [Message.user(prompt)]
    for attempt in range(1, ANSWER_ATTEMPTS + 1):
        request = Request(
            system=system, messages=tuple(messages), tools=form.tools, tool_choice="any", purpose=purpose
        )
        try:
            guard.before_call(request)
        except BudgetExceeded as exceeded:
            record_budget_exceeded(ctx.recorder, purpose, exceeded, guard)
            raise
        response = ctx.provider.complete(request)
        guard.after_call(response)
        answer = form.read(response)
        if isinstance(answer, Declined):
            words = quote_model(answer.words, ctx.recorder.redactor)
            ctx.recorder.record(
                event_types.AI_ANSWER_REJECTED, purpose=purpose, attempt=attempt, declined=True, problem=words
            )
            raise NoUsableAnswer(f"the model declined the {purpose}: {words}")
        if not isinstance(answer, Invalid):
            return answer
        problem = answer.problem
        ctx.recorder.record(
            event_types.AI_ANSWER_REJECTED, purpose=purpose, attempt=attempt, declined=False, problem=problem
        )
        messages += [response.as_message(), _correction(response, form, problem)]
    raise NoUsableAnswer(f"the model's {purpose} did not fit its form twice: {problem}")


def _correction(response: Response, form: AnswerForm[T], problem: str) -> Message:
    """The user turn that sends the answer back: each tool call gets its (error) result."""
    again = f"Rejected: {problem}. Call {form.tool_name} again with a corrected answer, or decline."
    if not response.tool_uses:
        return Message.user(again)
    return Message(
        role="user",
        content=tuple(
            ToolResultBlock(tool_use_id=use.id, content=again, is_error=True) for use in response.tool_uses
        ),
    )
