"""The `GitPlatform` protocol: everything Tamma does on GitHub, GitLab, Gitea or the local platform.

One instance serves one repository. Writes that a retried step could repeat (comments, pull
requests) are made findable: `find_comment(number, marker)` and `find_pull_request(head)`
return what an earlier attempt already did, so the caller records it instead of redoing it.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from typing import Protocol, runtime_checkable

from tamma.platforms._models import (
    CIStatus,
    Comment,
    Issue,
    MergeMethod,
    PullRequest,
    RateLimitState,
    Repository,
)

__all__ = ["GitPlatform"]


@runtime_checkable
class GitPlatform(Protocol):
    """Lists are oldest first (a backlog is worked in the order it was filed)."""

    name: str
    """The platform kind: "github", "gitlab", "gitea", "azure", "bitbucket" or "local", as in issue references."""

    def repository(self) -> Repository: ...

    def list_issues(
        self, *, labels: Iterable[str] = (), state: str = "open", assignee: str | None = None
    ) -> Iterator[Issue]: ...

    def get_issue(self, number: int, *, with_comments: bool = True) -> Issue: ...

    def add_comment(self, number: int, body: str) -> Comment: ...

    def find_comment(self, number: int, marker: str) -> Comment | None: ...

    def add_labels(self, number: int, labels: Iterable[str]) -> None: ...

    def remove_labels(self, number: int, labels: Iterable[str]) -> None: ...

    def assign(self, number: int, users: Iterable[str]) -> None: ...

    def create_branch(self, name: str, from_ref: str) -> str: ...

    def open_pull_request(
        self, *, title: str, body: str, head: str, base: str, draft: bool = False
    ) -> PullRequest: ...

    def find_pull_request(self, head: str) -> PullRequest | None: ...

    def update_pull_request_body(self, number: int, body: str) -> PullRequest: ...

    def ci_status(self, sha: str) -> CIStatus: ...

    def failed_job_log(self, log_id: str, *, max_chars: int = 20_000) -> str: ...

    def merge(self, number: int, *, method: MergeMethod = "squash", delete_branch: bool = True) -> str: ...

    def rate_limit(self) -> RateLimitState | None: ...
