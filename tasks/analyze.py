"""Analysis: how clear is the issue? Above the threshold, ask the reporter and wait.

The model scores ambiguity 0-100 with reasons. Above `ambiguity_threshold` (default 70) it
also writes 2-5 questions, which go to the issue as one comment; the run then polls the
issue until someone other than Tamma answers (or the clarification timeout passes, which
escalates), and the answer goes with the issue into planning.
"""

from __future__ import annotations

import time
from typing import Any

from tamma import event_types
from tamma.agent.prompts import UNTRUSTED_ISSUE_RULE, quoted_issue
from tamma.audit.run_state import run_state
from tamma.platforms import Comment, marker
from tasks._comments import post_once
from tasks._context import RunContext
from tasks._model import ask_model, json_answer
from tasks._step import step

__all__ = ["ANALYSIS_SYSTEM", "analyze_issue", "wait_for_clarification"]

ANALYSIS_SYSTEM = f"""You are Tamma's analyst. Judge whether the issue below is clear enough to fix.
{UNTRUSTED_ISSUE_RULE}
Answer with one JSON object only:
{{"ambiguity": <0-100, 0 = perfectly clear>, "reasons": ["..."], "questions": ["2 to 5 questions for the reporter, if ambiguity is high"]}}"""


@step("analyze")
def analyze_issue(ctx: RunContext) -> dict[str, Any]:
    done = run_state(ctx.store, ctx.run_id).analysis
    if done is not None:
        return done
    answer = json_answer(ask_model(ctx, "analysis", ANALYSIS_SYSTEM, quoted_issue(ctx.issue())), "analysis")
    ambiguity = max(0, min(100, int(answer.get("ambiguity", 0))))
    questions = [str(q) for q in answer.get("questions") or []][:5]
    analysis = {
        "ambiguity": ambiguity,
        "reasons": [str(r) for r in answer.get("reasons") or []],
        "questions": questions,
        "needs_clarification": ambiguity > ctx.options.ambiguity_threshold and len(questions) >= 1,
        "threshold": ctx.options.ambiguity_threshold,
    }
    ctx.recorder.record(event_types.ANALYSIS_COMPLETED, actor="model", **analysis)
    return analysis


@step("clarify")
def wait_for_clarification(ctx: RunContext, questions: list[str]) -> str | None:
    """Ask the questions once, then poll for an answer; None when the timeout passes first."""
    state = run_state(ctx.store, ctx.run_id)
    if state.clarification is not None:
        return state.clarification
    listed = "\n".join(f"{n}. {q}" for n, q in enumerate(questions, start=1))
    body = f"Tamma needs a little more detail before planning a fix:\n\n{listed}\n\nReply on this issue; Tamma will pick the answer up."
    if post_once(ctx, "questions", body) is not None:
        ctx.recorder.record(event_types.CLARIFICATION_REQUESTED, questions=questions)
    deadline = time.monotonic() + ctx.options.clarification_timeout_s
    asked = marker(f"{ctx.run_id}-questions")
    while time.monotonic() < deadline:
        replies = _replies_to(ctx, asked)
        if replies:
            answer = "\n\n".join(reply.body for reply in replies)
            ctx.recorder.record(
                event_types.CLARIFICATION_RECEIVED,
                actor="user",
                answer=answer,
                replies=[{"id": c.id, "author": c.author, "body": c.body} for c in replies],
            )
            return answer
        time.sleep(ctx.options.clarification_poll_s)
    return None


def _replies_to(ctx: RunContext, asked: str) -> list[Comment]:
    """The comments after Tamma's questions, from anyone but Tamma."""
    comments = ctx.issue().comments
    index = next((i for i, c in enumerate(comments) if asked in c.body), None)
    if index is None:
        return []
    return [c for c in comments[index + 1 :] if "<!-- tamma:" not in c.body]
