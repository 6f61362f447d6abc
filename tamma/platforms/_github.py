"""`GitHubPlatform`: github.com or GitHub Enterprise (`https://host/api/v3`) through PyGithub.

Lazy by construction: the client is `lazy=True` (objects are fetched only when a field is
read, so every conversion happens inside the rate-limit policy), lists are PyGithub's paginated lists walked only as far as the caller iterates, and a
PR lookup by head asks the API to filter instead of listing every PR. PyGithub's own retry
is off; `RateLimitPolicy` waits out primary (`X-RateLimit-Remaining: 0`) and secondary
(403/429 with `Retry-After`) limits.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from typing import Any, TypeVar

import github
from github import Auth, Github, GithubException

from tamma.errors import Conflict, Forbidden, InvalidReference, NotFound, PlatformError
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

    def _call(self, operation: Callable[[], T]) -> T:
        def attempt() -> T:
            with _translate_errors():
                return operation()

        return self._rate_limits.call(attempt)

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
        pages = self._call(lambda: iter(self._repo.get_issues(**options)))
        while (issue := self._call(lambda: _next_issue(pages, self._issue))) is not None:
            yield issue

    def get_issue(self, number: int, *, with_comments: bool = True) -> Issue:
        def fetch() -> Issue:
            # With a lazy client every attribute read may be a request: convert inside _call.
            item = self._repo.get_issue(number)
            return self._issue(item, tuple(_comment(c) for c in item.get_comments()) if with_comments else ())

        return self._call(fetch)

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
        pages = self._call(lambda: iter(self._repo.get_pulls(state="open", head=f"{owner}:{head}")))
        return self._call(lambda: next((_pull(found) for found in pages), None))

    def update_pull_request_body(self, number: int, body: str) -> PullRequest:
        def update() -> PullRequest:
            pull = self._repo.get_pull(number)
            pull.edit(body=body)
            return _pull(self._repo.get_pull(number))

        return self._call(update)

    def ci_status(self, sha: str) -> CIStatus:
        def fetch() -> CIStatus:
            commit = self._repo.get_commit(sha)
            statuses = [
                Check(name=s.context, state=_STATUS_STATES.get(s.state, "pending"), url=s.target_url or "")
                for s in commit.get_combined_status().statuses
            ]
            runs = [
                Check(
                    name=r.name,
                    state=_run_state(r.status, r.conclusion),
                    url=r.html_url or "",
                    log_id=str(r.id),
                )
                for r in commit.get_check_runs()
            ]
            return CIStatus(sha=sha, checks=tuple(statuses + runs))

        return self._call(fetch)

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
        def merge() -> str:
            pull = self._repo.get_pull(number)
            result = pull.merge(merge_method=method)
            if not result.merged:
                raise Conflict(
                    f"pull request #{number} was not merged: {result.message}", platform=NAME, status=405
                )
            if delete_branch:
                # The documented path; a lazily built GitRef would DELETE .../git/ref/... instead.
                self._client.requester.requestJsonAndCheck(
                    "DELETE", f"{self._repo.url}/git/refs/heads/{pull.head.ref}"
                )
            return str(result.sha)

        return self._call(merge)

    def rate_limit(self) -> RateLimitState | None:
        """None where the server does not limit (GitHub Enterprise with limits off: 404)."""

        def fetch() -> RateLimitState:
            core = self._client.get_rate_limit().resources.core
            return RateLimitState(limit=core.limit, remaining=core.remaining, reset_at=core.reset)

        try:
            return self._call(fetch)
        except NotFound:
            return None

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


def _next_issue(pages: Iterator[Any], convert: Callable[[Any, tuple[Comment, ...]], Issue]) -> Issue | None:
    """The next real issue of a page walk (the issues API lists pull requests too)."""
    for item in pages:
        if item.pull_request is None:
            return convert(item, ())
    return None


def _comment(item: Any) -> Comment:
    return Comment(
        id=str(item.id),
        author=item.user.login if item.user else "",
        body=item.body or "",
        created_at=item.created_at,
    )


def _pull(item: Any) -> PullRequest:
    state = "merged" if item.merged else ("open" if item.state == "open" else "closed")
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
    except GithubException as exc:
        headers = {k.lower(): v for k, v in (exc.headers or {}).items()}
        message = redact(_message(exc))
        if isinstance(exc, github.RateLimitExceededException) or _is_rate_limited(
            exc.status, headers, message
        ):
            raise Throttled.from_headers(
                NAME, headers.get("retry-after"), headers.get("x-ratelimit-reset")
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
