"""Pushing the issue branch, unless its new commits would publish a configured secret.

A model that was talked into it (by the issue, a comment, a file of the repository) could
write the platform token or the API key into the code; pushing would publish it. So before
each push the lines the branch adds since its base are searched for the configured secrets
in every form `Redactor.leaks` knows (token-shaped test data in a repository is not a reason
to stop, so the shapes are not searched). A hit is recorded as PUSH.REFUSED and nothing is
pushed; the run then escalates with the reason.
"""

from __future__ import annotations

from tamma import event_types
from tamma.agent.workspace import Workspace
from tamma.git import git
from tasks._context import RunContext

__all__ = ["push_branch"]

MAX_DIFF_CHARS = 5_000_000


def push_branch(ctx: RunContext, workspace: Workspace) -> str | None:
    """Push HEAD to the issue branch (BRANCH.PUSHED); or, when refused, the reason why."""
    leaks = ctx.recorder.redactor.leaks(_added_lines(workspace), shapes=False)
    if leaks:
        reason = (
            f"the change adds what looks like a configured secret ({'; '.join(leaks)}); nothing was pushed"
        )
        ctx.recorder.record(event_types.PUSH_REFUSED, head=workspace.head(), leaks=leaks, reason=reason)
        return reason
    workspace.push()
    ctx.recorder.record(event_types.BRANCH_PUSHED, branch=workspace.branch, sha=workspace.head())
    return None


def _added_lines(workspace: Workspace) -> str:
    diff = git(
        "diff", "--no-color", "--no-ext-diff", "--text", "-U0", workspace.base_sha, "HEAD", cwd=workspace.path
    )
    added = (
        line[1:] for line in diff.stdout.splitlines() if line.startswith("+") and not line.startswith("+++")
    )
    return "\n".join(added)[:MAX_DIFF_CHARS]
