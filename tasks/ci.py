"""Watching CI and repairing it.

The watch polls the commit's combined status (every `ci_poll_s`, 30 s by default, or at once
when a forge's webhook says the commit's CI moved), records each change as CI.STATUS.CHANGED, and waits out a platform's rate limit until the time it
named. On failure, the repair reads the failed jobs' logs (redacted by the platform adapters),
asks the agent to fix the code in the same workspace, checks the suite locally, commits and
pushes: one CI.FIX.ATTEMPTED per attempt, at most `max_ci_fixes`.
"""

from __future__ import annotations

import time
from typing import Any

from event_store import EventStore, Query
from tamma import event_types
from tamma.agent.loop import record_command, record_commit
from tamma.agent.prompts import UNTRUSTED_DATA_RULE, quoted_issue, untrusted
from tamma.audit.run_state import run_state
from tamma.errors import NotFound, PlatformRateLimited
from tamma.platforms import CIStatus
from tamma.providers import Message
from tasks._agent import open_agent
from tasks._context import RunContext
from tasks._push import push_branch
from tasks._resume import has_commit
from tasks._step import step

__all__ = ["fix_ci", "wait_for_ci_news", "watch_ci"]

LOG_CHARS_PER_JOB = 6_000
NEWS_CHECK_S = 1.0
"""How often a watch waiting for its next poll checks for a webhook's news about its commit."""
CI_FIX_SYSTEM = f"""You are Tamma's coding agent, repairing a pull request whose CI failed.
Rules:
{UNTRUSTED_DATA_RULE}
- Use only the tools. Read the failed jobs' logs below, find the cause in the code, fix it.
Done when: run_tests passes. Then call finish(summary) with what you changed and why."""


@step("watch-ci")
def watch_ci(ctx: RunContext, sha: str) -> dict[str, Any]:
    """Poll until the commit's CI is not pending: {"state", "failed": [{"name", "log_id"}]},
    or state "timeout" after `ci_timeout_s`."""
    deadline = time.monotonic() + ctx.options.ci_timeout_s
    last = None
    news = max((event.position for event in ctx.store.read(ci_news(sha))), default=0)
    while time.monotonic() < deadline:
        try:
            status = ctx.platform.ci_status(sha)
        except PlatformRateLimited as limited:
            time.sleep(max(1.0, min((limited.retry_at or 0) - time.time(), deadline - time.monotonic())))
            continue
        if status.state != last:
            last = status.state
            ctx.recorder.record(
                event_types.CI_STATUS_CHANGED, sha=sha, state=status.state, checks=_checks(status)
            )
        if status.state != "pending":
            return {"state": status.state, "failed": [c.model_dump() for c in status.failed]}
        news = wait_for_ci_news(ctx.store, sha, news, min(ctx.options.ci_poll_s, deadline - time.monotonic()))
    return {"state": "timeout", "failed": []}


def ci_news(sha: str) -> Query:
    """The forge's webhook deliveries about `sha`'s CI (WEBHOOK.RECEIVED tagged `ci:<sha>`)."""
    return Query.of(types=[event_types.WEBHOOK_RECEIVED], tags=[f"ci:{sha}"])


def wait_for_ci_news(store: EventStore, sha: str, after: int, timeout_s: float) -> int:
    """Sleep until a webhook delivery about `sha`'s CI arrives after position `after` (see
    `tamma webhooks`), or `timeout_s` passes; the position read up to. With webhooks, the watch
    looks again within a second of the news instead of at its next poll."""
    deadline = time.monotonic() + max(0.0, timeout_s)
    while True:
        news = next(iter(store.read(ci_news(sha), after=after, limit=1)), None)
        if news is not None:
            return news.position
        remaining = deadline - time.monotonic()
        if remaining <= 0:
            return after
        time.sleep(min(NEWS_CHECK_S, remaining))


@step("fix-ci")
def fix_ci(ctx: RunContext, failed: list[dict[str, Any]]) -> str | None:
    """One repair attempt; the new head sha, or None when the agent could not produce a fix (or
    its push was refused: see `tasks._push`). A repair committed by an interrupted run is pushed
    instead of attempted again; an attempt interrupted before its commit starts over from the
    pushed head."""
    state = run_state(ctx.store, ctx.run_id)
    issue = ctx.issue()
    kit = open_agent(ctx, issue)
    if state.unpushed_repair is not None and has_commit(kit.workspace, state.unpushed_repair):
        kit.workspace.reset_to(state.unpushed_repair)
        return None if push_branch(ctx, kit.workspace) is not None else state.unpushed_repair
    assert state.head_sha is not None
    kit.workspace.reset_to(state.head_sha)
    attempt = state.ci_fixes + 1
    fetched = {check["name"]: _log(ctx, check) for check in failed}
    logs = untrusted("ci-log", [{"job": name, "log_tail": log} for name, log in fetched.items()])
    prompt = f"{quoted_issue(issue)}\n\nCI failed on the pull request (repair attempt {attempt}).\n\n{logs}"
    outcome = kit.loop.run("ci-fix", CI_FIX_SYSTEM, [Message.user(prompt)])
    tests = kit.toolbox.run_tests()
    record_command(ctx.recorder, event_types.TESTS_RAN, tests, phase="ci-fix", by="tamma")
    message = f"Fix CI for {ctx.ref} (attempt {attempt})"
    sha = kit.workspace.commit(message) if outcome.finished else None
    if sha is not None:
        record_commit(ctx.recorder, kit.workspace, sha, phase="ci-fix", message=message)
    ctx.recorder.record(
        event_types.CI_FIX_ATTEMPTED,
        attempt=attempt,
        sha=sha,
        stop=outcome.stop,
        reason=outcome.reason,
        summary=outcome.summary,
        tests_passed_locally=tests.passed,
        logs=fetched,
    )
    if sha is None or push_branch(ctx, kit.workspace) is not None:
        return None
    return sha


def _log(ctx: RunContext, check: dict[str, Any]) -> str:
    if not check.get("log_id"):
        return f"(no log; see {check.get('url') or 'the CI page'})"
    try:
        return ctx.platform.failed_job_log(check["log_id"], max_chars=LOG_CHARS_PER_JOB)
    except NotFound:
        return "(the log is not available)"


def _checks(status: CIStatus) -> list[dict[str, str]]:
    return [{"name": c.name, "state": c.state, "url": c.url} for c in status.checks]
