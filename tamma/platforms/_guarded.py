"""`GuardedPlatform`: a platform whose every write passes through a `Publisher` first.

A run wraps its platform once, so no step can post a comment, a pull request or a label that
skipped redaction and the leak check (see `tamma.publishing`); reads pass straight through.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator

from tamma.platforms._models import (
    CIStatus,
    Comment,
    Issue,
    MergeMethod,
    PullRequest,
    RateLimitState,
    Repository,
)
from tamma.platforms._protocol import GitPlatform
from tamma.publishing import Publisher

__all__ = ["GuardedPlatform"]


class GuardedPlatform:
    def __init__(self, platform: GitPlatform, publisher: Publisher) -> None:
        self.inner, self.publisher = platform, publisher
        self.name = platform.name

    # -- writes: published text goes through the publisher --------------------------------------

    def add_comment(self, number: int, body: str) -> Comment:
        return self.inner.add_comment(number, self.publisher.text("comment", body))

    def open_pull_request(
        self, *, title: str, body: str, head: str, base: str, draft: bool = False
    ) -> PullRequest:
        return self.inner.open_pull_request(
            title=self.publisher.text("pull request title", title),
            body=self.publisher.text("pull request body", body),
            head=head,
            base=base,
            draft=draft,
        )

    def update_pull_request_body(self, number: int, body: str) -> PullRequest:
        return self.inner.update_pull_request_body(number, self.publisher.text("pull request body", body))

    def add_labels(self, number: int, labels: Iterable[str]) -> None:
        self.inner.add_labels(number, [self.publisher.text("label", label) for label in labels])

    # -- everything else as it is ---------------------------------------------------------------

    def repository(self) -> Repository:
        return self.inner.repository()

    def list_issues(
        self, *, labels: Iterable[str] = (), state: str = "open", assignee: str | None = None
    ) -> Iterator[Issue]:
        return self.inner.list_issues(labels=labels, state=state, assignee=assignee)

    def get_issue(self, number: int, *, with_comments: bool = True) -> Issue:
        return self.inner.get_issue(number, with_comments=with_comments)

    def find_comment(self, number: int, marker: str) -> Comment | None:
        return self.inner.find_comment(number, marker)

    def remove_labels(self, number: int, labels: Iterable[str]) -> None:
        self.inner.remove_labels(number, labels)

    def assign(self, number: int, users: Iterable[str]) -> None:
        self.inner.assign(number, users)

    def create_branch(self, name: str, from_ref: str) -> str:
        return self.inner.create_branch(name, from_ref)

    def find_pull_request(self, head: str) -> PullRequest | None:
        return self.inner.find_pull_request(head)

    def ci_status(self, sha: str) -> CIStatus:
        return self.inner.ci_status(sha)

    def failed_job_log(self, log_id: str, *, max_chars: int = 20_000) -> str:
        return self.inner.failed_job_log(log_id, max_chars=max_chars)

    def merge(self, number: int, *, method: MergeMethod = "squash", delete_branch: bool = True) -> str:
        return self.inner.merge(number, method=method, delete_branch=delete_branch)

    def rate_limit(self) -> RateLimitState | None:
        return self.inner.rate_limit()
