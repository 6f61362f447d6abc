"""`GitHubPlatform`: github.com or GitHub Enterprise (`https://host/api/v3`) through PyGithub.

Lazy by construction: the client is `lazy=True` (objects are fetched only when a field is
read, so every conversion happens inside the rate-limit policy, from the fields the answer
carries), lists are PyGithub's paginated lists walked by index only as far as the caller
iterates (see `_walk`), and a PR lookup by head asks the API to filter instead of listing
every PR. PyGithub's own retry is off; `RateLimitPolicy` waits out primary
(`X-RateLimit-Remaining: 0`) and secondary (403/429 with `Retry-After`) limits.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager, suppress
from functools import partial
from typing import Any, TypeVar

import github
import requests
from github import Auth, Github, GithubException
from github.PaginatedList import PaginatedList

from tamma.errors import Conflict, Forbidden, InvalidReference, NotFound, PlatformError, PlatformUnreachable
from tamma.platforms._models import (
    Check,
    CIState,
    CIStatus,
    Comment,
    Issue,
    MergeMethod,
    PullRequest,
    RateLimitState,
    Repository,
)
from tamma.platforms._ratelimit import RateLimitPolicy, Throttled
from tamma.platforms._refs import IssueRef
from tamma.redaction import redact

__all__ = ["GitHubPlatform"]

T = TypeVar("T")
NAME = "github"
_STATUS_STATES: dict[str, CIState] = {
    "success": "success",
    "pending": "pending",
    "failure": "failure",
    "error": "failure",
}
_CHECK_CONCLUSIONS: dict[str | None, CIState] = {
    "success": "success",
    "neutral": "success",
    "skipped": "success",
    None: "pending",
}


class GitHubPlatform:
    """One GitHub repository, `owner/repo`, with a token from env or keychain."""

    name = NAME

    def __init__(
        self,
        repo: str,
        *,
        token: str,
        base_url: str = "https://api.github.com",
        rate_limits: RateLimitPolicy | None = None,
        seconds_between_requests: float | None = 0.25,
        seconds_between_writes: float | None = 1.0,
    ) -> None:
        if repo.count("/") != 1:
            raise InvalidReference(f"a GitHub repository is written owner/repo, got {repo!r}", platform=NAME)
        self._client = Github(
            base_url=base_url,
            auth=Auth.Token(token),
            retry=None,
            seconds_between_requests=seconds_between_requests,
            seconds_between_writes=seconds_between_writes,
            lazy=True,
        )
        self._repo = self._client.get_repo(repo)
        self._full_name = repo
        self._rate_limits = rate_limits or RateLimitPolicy()

    def _call(self, operation: Callable[[], T], *, doing: str = "") -> T:
        def attempt() -> T:
            with _translate_errors():
                return operation()

        return self._rate_limits.call(attempt, doing=doing)

    def _walk(self, noun: str, pages: PaginatedList[Any], keep: Callable[[Any], T | None]) -> Iterator[T]:
        """The items of a paginated listing that `keep` converts (None skips one), each step a call.

        Why by index and not by iterating: `PaginatedList.__iter__` is a generator, so a rate
        limit raised while it fetches a page closes it and the retried `next()` ends the list
        (0 or 30 of 48 issues after a wait, and `find_pull_request` answering None: issue 23).
        `pages[i]` keeps what it read and fetches the missing page again on the retry; a step
        that fails converting an item retries that item instead of skipping it.
        """
        position = 0
        while True:
            doing = f"listing {noun} stopped after {position} items"
            found = self._call(partial(_next_kept, pages, position, keep), doing=doing)
            if found is None:
                return
            position, item = found
            yield item

    def repository(self) -> Repository:
        def fetch() -> Repository:
            repo = self._client.get_repo(self._full_name)
            return Repository(
                full_name=repo.full_name,
                default_branch=repo.default_branch,
                clone_url=repo.clone_url,
                web_url=repo.html_url,
            )

        return self._call(fetch)

    def list_issues(
        self, *, labels: Iterable[str] = (), state: str = "open", assignee: str | None = None
    ) -> Iterator[Issue]:
        options: dict[str, Any] = {
            "state": state,
            "labels": list(labels),
            "sort": "created",
            "direction": "asc",
        }
        if assignee:
            options["assignee"] = assignee
        yield from self._walk("issues", self._repo.get_issues(**options), self._listed_issue)

    def get_issue(self, number: int, *, with_comments: bool = True) -> Issue:
        # With a lazy client every attribute read may be a request: convert inside _call.
        item = self._repo.get_issue(number)
        comments = tuple(self._walk("comments", item.get_comments(), _comment)) if with_comments else ()
        return self._call(lambda: self._issue(item, comments))

    def add_comment(self, number: int, body: str) -> Comment:
        return self._call(lambda: _comment(self._repo.get_issue(number).create_comment(body)))

    def find_comment(self, number: int, marker: str) -> Comment | None:
        return self.get_issue(number).comment_with(marker)

    def add_labels(self, number: int, labels: Iterable[str]) -> None:
        wanted = list(labels)
        self._call(lambda: self._repo.get_issue(number).add_to_labels(*wanted))

    def remove_labels(self, number: int, labels: Iterable[str]) -> None:
        unwanted = list(labels)

        def remove() -> None:
            issue = self._repo.get_issue(number)
            for label in unwanted:
                issue.remove_from_labels(label)

        self._call(remove)

    def assign(self, number: int, users: Iterable[str]) -> None:
        wanted = list(users)
        self._call(lambda: self._repo.get_issue(number).add_to_assignees(*wanted))

    def create_branch(self, name: str, from_ref: str) -> str:
        def create() -> str:
            sha = (
                from_ref
                if _looks_like_sha(from_ref)
                else self._repo.get_git_ref(f"heads/{from_ref}").object.sha
            )
            self._repo.create_git_ref(ref=f"refs/heads/{name}", sha=sha)
            return sha

        return self._call(create)

    def open_pull_request(
        self, *, title: str, body: str, head: str, base: str, draft: bool = False
    ) -> PullRequest:
        return self._call(
            lambda: _pull(self._repo.create_pull(title=title, body=body, head=head, base=base, draft=draft))
        )

    def find_pull_request(self, head: str) -> PullRequest | None:
        owner = self._full_name.split("/")[0]
        pulls = self._repo.get_pulls(state="open", head=f"{owner}:{head}")
        return next(self._walk("pull requests", pulls, _pull), None)

    def update_pull_request_body(self, number: int, body: str) -> PullRequest:
        def update() -> PullRequest:
            pull = self._repo.get_pull(number)
            pull.edit(body=body)  # the answer is the whole pull request: nothing left to fetch
            return _pull(pull)

        return self._call(update)

    def ci_status(self, sha: str) -> CIStatus:
        commit = self._repo.get_commit(sha)
        statuses = self._call(
            lambda: tuple(
                Check(name=s.context, state=_STATUS_STATES.get(s.state, "pending"), url=s.target_url or "")
                for s in commit.get_combined_status().statuses
            )
        )
        runs = tuple(self._walk("check runs", commit.get_check_runs(), _check_run))
        return CIStatus(sha=sha, checks=statuses + runs)

    def failed_job_log(self, log_id: str, *, max_chars: int = 20_000) -> str:
        def fetch() -> str:
            # Check runs of GitHub Actions share their id with the job; its log is plain text.
            status, headers, body = self._client.requester.requestJson(
                "GET", f"{self._repo.url}/actions/jobs/{int(log_id)}/logs", follow_302_redirect=True
            )
            if status >= 400:
                raise GithubException(status, body, headers)
            return body

        return redact(self._call(fetch))[-max_chars:]

    def merge(self, number: int, *, method: MergeMethod = "squash", delete_branch: bool = True) -> str:
        pull = self._repo.get_pull(number)

        def merge() -> str:
            result = pull.merge(merge_method=method)
            if not result.merged:
                raise Conflict(
                    f"pull request #{number} was not merged: {result.message}", platform=NAME, status=405
                )
            return str(result.sha)

        sha = self._call(merge)  # apart from the deletion: a retried deletion must not merge again
        if delete_branch:
            with suppress(NotFound):  # gone already: the repository deletes merged head branches
                self._call(lambda: self._delete_head_branch(pull))
        return sha

    def _delete_head_branch(self, pull: Any) -> None:
        """Delete a merged pull request's head branch, if it is this repository's to delete.

        Why the checks: `head.ref` names a branch of the head repository, which may be a fork
        (or a deleted one: `head.repo` is null), so `heads/<ref>` here may be another branch of
        ours, `master` say (issue 23). The default branch and protected branches stay too.
        """
        head, base = pull.head, pull.base
        if head.repo is None or head.repo.id != base.repo.id or head.ref == base.repo.default_branch:
            return
        if not self._repo.get_branch(head.ref).protected:
            # The documented path; a lazily built GitRef would DELETE .../git/ref/... instead.
            self._client.requester.requestJsonAndCheck(
                "DELETE", f"{self._repo.url}/git/refs/heads/{head.ref}"
            )

    def rate_limit(self) -> RateLimitState | None:
        """None where the server does not limit (GitHub Enterprise with limits off: 404)."""

        def fetch() -> RateLimitState:
            core = self._client.get_rate_limit().resources.core
            return RateLimitState(limit=core.limit, remaining=core.remaining, reset_at=core.reset)

        try:
            return self._call(fetch)
        except NotFound:
            return None

    def _listed_issue(self, item: Any) -> Issue | None:
        """An issue of the issues list, None for a pull request (the list has both). Told apart by
        the `pull_request` key of the answer: a plain issue has none, so reading
        `Issue.pull_request` would refetch every issue to look for it (PyGithub#2423)."""
        return None if "pull_request" in item._rawData else self._issue(item, ())

    def _issue(self, item: Any, comments: tuple[Comment, ...]) -> Issue:
        return Issue(
            ref=IssueRef(platform="github", repo=self._full_name, number=item.number),
            title=item.title,
            body=item.body or "",
            state="open" if item.state == "open" else "closed",
            labels=tuple(label.name for label in item.labels),
            assignees=tuple(user.login for user in item.assignees),
            author=item.user.login if item.user else "",
            url=item.html_url or "",
            comments=comments,
        )


def _next_kept(
    pages: PaginatedList[Any], start: int, keep: Callable[[Any], T | None]
) -> tuple[int, T] | None:
    """The first item from index `start` that `keep` converts, with the index after it; None at
    the end of the listing."""
    index = start
    while True:
        try:
            item = pages[index]
        except IndexError:
            return None
        index += 1
        if (kept := keep(item)) is not None:
            return index, kept


def _comment(item: Any) -> Comment:
    return Comment(
        id=str(item.id),
        author=item.user.login if item.user else "",
        body=item.body or "",
        created_at=item.created_at,
    )


def _pull(item: Any) -> PullRequest:
    """From the fields a listed pull request carries: `merged_at`, since the list has no `merged`."""
    state = "merged" if item.merged_at is not None else ("open" if item.state == "open" else "closed")
    return PullRequest(
        number=item.number,
        title=item.title,
        body=item.body or "",
        head=item.head.ref,
        base=item.base.ref,
        state=state,
        draft=bool(item.draft),
        head_sha=item.head.sha,
        url=item.html_url or "",
    )


def _check_run(run: Any) -> Check:
    return Check(
        name=run.name,
        state=_run_state(run.status, run.conclusion),
        url=run.html_url or "",
        log_id=str(run.id),
    )


def _run_state(status: str, conclusion: str | None) -> CIState:
    if status != "completed":
        return "pending"
    return _CHECK_CONCLUSIONS.get(conclusion, "failure")


def _looks_like_sha(ref: str) -> bool:
    return len(ref) == 40 and all(c in "0123456789abcdef" for c in ref)


@contextmanager
def _translate_errors() -> Iterator[None]:
    """PyGithub exceptions to Tamma's; a rate-limited answer becomes `Throttled` (retried)."""
    try:
        yield
    except (requests.ConnectionError, requests.Timeout) as exc:  # refused, reset, timed out
        raise PlatformUnreachable(redact(f"no answer: {type(exc).__name__}"), platform=NAME) from None
    except GithubException as exc:
        headers = {k.lower(): v for k, v in (exc.headers or {}).items()}
        message = redact(_message(exc))
        if isinstance(exc, github.RateLimitExceededException) or _is_rate_limited(
            exc.status, headers, message
        ):
            raise Throttled.from_headers(
                NAME, headers.get("retry-after"), headers.get("x-ratelimit-reset"), status=exc.status
            ) from None
        raise _typed(exc.status, message, headers) from None


def _is_rate_limited(status: int, headers: dict[str, str], message: str) -> bool:
    if status == 429:
        return True
    return status == 403 and (
        headers.get("x-ratelimit-remaining") == "0"
        or "retry-after" in headers
        or "rate limit" in message.lower()
    )


def _typed(status: int, message: str, headers: dict[str, str]) -> PlatformError:
    if status == 404:
        return NotFound(f"not found (404): {message}", platform=NAME, status=status)
    if status in (401, 403):
        scope = headers.get("x-accepted-github-permissions") or headers.get("x-accepted-oauth-scopes")
        hint = f"; the token needs {scope}" if scope else ""
        return Forbidden(
            f"forbidden ({status}): {message}{hint}", platform=NAME, status=status, missing_scope=scope
        )
    if status in (405, 409) or (status == 422 and "already exists" in message.lower()):
        return Conflict(f"conflict ({status}): {message}", platform=NAME, status=status)
    return PlatformError(f"request failed ({status}): {message}", platform=NAME, status=status)


def _message(exc: GithubException) -> str:
    data = exc.data if isinstance(exc.data, dict) else {}
    errors = data.get("errors") or []
    details = "; ".join(str(e.get("message", e)) if isinstance(e, dict) else str(e) for e in errors)
    return (
        " ".join(part for part in (str(data.get("message") or exc.message or ""), details) if part)
        or "no message"
    )
