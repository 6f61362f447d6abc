"""What every platform returns: issues, comments, pull requests, CI status, rate limits.

SDK objects never leave an adapter. URLs here never carry credentials; clone URLs are
plain and the workspace passes the token through a credential helper.
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Literal

from pydantic import AfterValidator, BaseModel, ConfigDict

from tamma.platforms._refs import IssueRef
from tamma.text import encodable

__all__ = [
    "CIState",
    "CIStatus",
    "Check",
    "Comment",
    "Issue",
    "MergeMethod",
    "PullRequest",
    "RateLimitState",
    "Repository",
    "marker",
]

MergeMethod = Literal["merge", "squash", "rebase"]
CIState = Literal["pending", "success", "failure"]


def marker(key: str) -> str:
    """The hidden marker a retried step searches for to find what an earlier attempt wrote."""
    return f"<!-- tamma:{key} -->"


class _Frozen(BaseModel):
    model_config = ConfigDict(frozen=True)


class Repository(_Frozen):
    full_name: str
    default_branch: str
    clone_url: str
    web_url: str = ""


EncodableText = Annotated[str, AfterValidator(encodable)]
"""Text from a forge, lone surrogates replaced (see `tamma.text`)."""


class Comment(_Frozen):
    id: str
    author: str
    body: EncodableText
    created_at: datetime | None = None


class Issue(_Frozen):
    ref: IssueRef
    title: EncodableText
    body: EncodableText
    state: Literal["open", "closed"]
    labels: tuple[str, ...] = ()
    assignees: tuple[str, ...] = ()
    author: str = ""
    url: str = ""
    comments: tuple[Comment, ...] = ()

    def comment_with(self, marker: str) -> Comment | None:
        """The first comment carrying `marker`: what `GitPlatform.find_comment` answers."""
        return next((c for c in self.comments if marker in c.body), None)


class PullRequest(_Frozen):
    number: int
    title: str
    body: str
    head: str
    base: str
    state: Literal["open", "closed", "merged"]
    draft: bool = False
    head_sha: str = ""
    url: str = ""


class Check(_Frozen):
    """One status or check run (GitHub) or job (GitLab); `log_id` fetches its log."""

    name: str
    state: CIState
    url: str = ""
    log_id: str = ""


class CIStatus(_Frozen):
    """All checks of a commit, combined: any failure fails, any pending is pending."""

    sha: str
    checks: tuple[Check, ...] = ()

    @property
    def state(self) -> CIState:
        states = {check.state for check in self.checks}
        if "failure" in states:
            return "failure"
        if "pending" in states or not states:
            return "pending"
        return "success"

    @property
    def failed(self) -> tuple[Check, ...]:
        return tuple(check for check in self.checks if check.state == "failure")


class RateLimitState(_Frozen):
    limit: int
    remaining: int
    reset_at: datetime | None = None
