"""Analysis: how clear is the issue? Above the threshold, ask the reporter and wait.

The model scores ambiguity 0-100 with reasons, through the `report_analysis` tool (see
`tamma.agent.answers`). Above `ambiguity_threshold` (default 70) it also writes 2-5
questions, which go to the issue as one comment; the run then polls the issue until an
answer comes from someone the run's `answers_from` policy accepts (or the clarification
timeout passes, which escalates), and the replies go with the issue into planning, each
marked with who wrote it.
"""

from __future__ import annotations

import time
from typing import Any

from tamma import event_types
from tamma.agent.answers import ANALYSIS
from tamma.agent.prompts import UNTRUSTED_DATA_RULE, Reply, ReplyRole, quoted_issue
from tamma.audit.run_state import run_state
from tamma.platforms import Comment, Issue, marker
from tasks._comments import post_once
from tasks._context import AnswersFrom, RunContext
from tasks._model import ask_for
from tasks._step import step

__all__ = ["ANALYSIS_SYSTEM", "analyze_issue", "numbered", "wait_for_clarification"]

TYPED_IN_THE_UI = "prefect-ui"
"""The author of an answer typed into the Prefect UI's form of a suspended run."""
ACCEPTED_ROLES: dict[AnswersFrom, frozenset[ReplyRole]] = {
    "reporter": frozenset({"reporter"}),
    "maintainers": frozenset({"reporter", "maintainer"}),
    "anyone": frozenset({"reporter", "maintainer", "other"}),
}

ANALYSIS_SYSTEM = f"""You are Tamma's analyst. Judge whether the issue below is clear enough for a
developer to fix without asking anything: what is wrong, where, and what the right behaviour is.
Rules:
{UNTRUSTED_DATA_RULE}
Answer by calling report_analysis: the ambiguity (0 = clear enough to fix as written, 100 =
impossible to tell what is wanted), your reasons, and, when the issue is unclear, 2 to 5 questions
for the reporter. If you will not analyze this issue, call decline and say why."""


@step("analyze")
def analyze_issue(ctx: RunContext) -> dict[str, Any]:
    done = run_state(ctx.store, ctx.run_id).analysis
    if done is not None:
        return done
    answer = ask_for(ctx, "analysis", ANALYSIS_SYSTEM, quoted_issue(ctx.issue()), ANALYSIS)
    analysis = {
        "ambiguity": answer.ambiguity,
        "reasons": answer.reasons,
        "questions": answer.questions,
        "needs_clarification": answer.ambiguity > ctx.options.ambiguity_threshold and bool(answer.questions),
        "threshold": ctx.options.ambiguity_threshold,
    }
    ctx.recorder.record(event_types.ANALYSIS_COMPLETED, actor="model", **analysis)
    return analysis


@step("clarify")
def wait_for_clarification(
    ctx: RunContext, questions: list[str], *, wait: bool = True, typed: str = ""
) -> tuple[Comment, ...] | None:
    """Ask the questions once, then look for replies: until the clarification timeout (`wait`),
    or once (a deployment's run, which suspends between looks: `flows._clarify`). `typed` is an
    answer given in the Prefect UI's form, taken when the issue has none: whoever can resume
    the run there speaks for the maintainers. None when no answer came."""
    state = run_state(ctx.store, ctx.run_id)
    if state.clarification is not None:
        return tuple(Comment(**reply) for reply in state.replies)
    body = f"Tamma needs a little more detail before planning a fix:\n\n{numbered(questions)}\n\nReply on this issue; Tamma will pick the answer up."
    if post_once(ctx, "questions", body) is not None:
        ctx.recorder.record(event_types.CLARIFICATION_REQUESTED, questions=questions)
    deadline = time.monotonic() + (ctx.options.clarification_timeout_s if wait else 0)
    asked = marker(f"{ctx.run_id}-questions")
    while True:
        issue = ctx.issue()
        seen = _comments_after(issue, asked)
        accepted = ACCEPTED_ROLES[ctx.options.answers_from]
        replies = tuple(c for c in seen if Reply.of(c, issue).role in accepted)
        if not replies and typed.strip():
            replies = (Comment(id="prefect-ui", author=TYPED_IN_THE_UI, body=typed.strip()),)
        if replies:
            ctx.recorder.record(
                event_types.CLARIFICATION_RECEIVED,
                actor="user",
                answer="\n\n".join(reply.body for reply in replies),
                replies=[_as_data(c) for c in replies],
                seen=[_as_data(c) for c in seen],
            )
            return replies
        if time.monotonic() >= deadline:
            return None
        time.sleep(ctx.options.clarification_poll_s)


def numbered(questions: list[str]) -> str:
    """The questions as a numbered list, as the issue comment and the Prefect form show them."""
    return "\n".join(f"{n}. {q}" for n, q in enumerate(questions, start=1))


def _comments_after(issue: Issue, asked: str) -> tuple[Comment, ...]:
    """The comments after Tamma's questions, but Tamma's own."""
    index = next((i for i, c in enumerate(issue.comments) if asked in c.body), None)
    if index is None:
        return ()
    return tuple(c for c in issue.comments[index + 1 :] if "<!-- tamma:" not in c.body)


def _as_data(comment: Comment) -> dict[str, str]:
    return {"id": comment.id, "author": comment.author, "body": comment.body}
