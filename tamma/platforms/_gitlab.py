"""`GitLabPlatform`: gitlab.com or a self-hosted GitLab through python-gitlab.

Lazy by construction: the project is a lazy object (its path is all a request needs), lists
are python-gitlab's paginated iterators walked only as far as the caller iterates, and a
merge request lookup by head asks the API to filter by source branch.

Forks: GitLab lists a merge request under the project it targets, so a fork's request from a
branch named like Tamma's matches that filter too. The lookup keeps only requests whose source
project is this one, and a merge deletes the source branch only then (GitLab would delete the
fork's branch).

Rate limits: python-gitlab would retry a 429 by itself, up to ten times per call. A response
hook on the session turns every 429 into `Throttled` before that retry sees it, so
`RateLimitPolicy` stays the one retry owner (2/4/8 s or the server's `Retry-After`, then
`PlatformRateLimited`). The same hook remembers the last `RateLimit-*` headers for
`rate_limit()`.

Where GitLab differs from the normalized interface: a draft is a title prefix (Tamma writes
"Draft: "; GitLab also reads "[Draft]", "(Draft)" and, before 14.0, "WIP:" and "[WIP]"); CI
is the commit-statuses API, which lists pipeline jobs and external statuses alike; and a
rebase merge asks GitLab to rebase the source branch first, then merges it (whether a merge
commit is added is the project's merge-method setting).
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from typing import Any, TypeVar

import gitlab
import requests
from gitlab.exceptions import GitlabError

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

__all__ = ["GitLabPlatform"]

T = TypeVar("T")
NAME = "gitlab"
DRAFT_PREFIX = "Draft: "
_DRAFT_PREFIXES = re.compile(
    r"^(?:(?:\[draft\]|\(draft\)|draft:|draft\s-\s|\[wip\]|wip:)\s*)+", re.IGNORECASE
)
"""Every prefix some GitLab release reads as draft (the WIP ones only before 14.0), however
repeated. Cut only from titles GitLab reports as draft: where it reads no prefix, it is the title."""
REBASE_POLLS = 30
_ISSUE_STATES = {"open": "opened", "closed": "closed", "all": "all"}
_PENDING = {"created", "pending", "running", "preparing", "waiting_for_resource", "scheduled"}
_TERMINAL_LOG_NOISE = re.compile(r"section_(?:start|end):\d+:[\w.-]+(?:\[[^\]]*\])?\r?|\x1b\[[0-9;]*[A-Za-z]")
"""ANSI colours and GitLab's collapsible-section markers, which job traces are full of."""


class GitLabPlatform:
    """One GitLab project, `group/sub/project`, with a token from env or keychain."""

    name = NAME

    def __init__(
        self,
        project: str,
        *,
        token: str,
        base_url: str = "https://gitlab.com",
        rate_limits: RateLimitPolicy | None = None,
        timeout_s: float = 30.0,
    ) -> None:
        if "/" not in project.strip("/"):
            raise InvalidReference(
                f"a GitLab project is written group[/subgroup...]/project, got {project!r}", platform=NAME
            )
        session = requests.Session()
        session.hooks["response"].append(self._watch_limits)
        self._client = gitlab.Gitlab(
            url=base_url.rstrip("/").removesuffix("/api/v4"),
            private_token=token,
            session=session,
            timeout=timeout_s,
        )
        self._path = project.strip("/")
        self._project = self._client.projects.get(self._path, lazy=True)
        self._rate_limits = rate_limits or RateLimitPolicy()
        self._last_limits: RateLimitState | None = None

    def _watch_limits(self, response: requests.Response, *args: Any, **kwargs: Any) -> None:
        """Session hook: remember the budget, and raise `Throttled` on a 429 (see module docstring)."""
        headers = response.headers
        if "RateLimit-Limit" in headers and "RateLimit-Remaining" in headers:
            reset = headers.get("RateLimit-Reset")
            self._last_limits = RateLimitState(
                limit=int(headers["RateLimit-Limit"]),
                remaining=int(headers["RateLimit-Remaining"]),
                reset_at=datetime.fromtimestamp(int(reset), UTC) if reset else None,
            )
        if response.status_code == 429:
            raise Throttled.from_headers(NAME, headers.get("Retry-After"), headers.get("RateLimit-Reset"))

    def _call(self, operation: Callable[[], T]) -> T:
        def attempt() -> T:
            with _translate_errors():
                return operation()

        return self._rate_limits.call(attempt)

    def repository(self) -> Repository:
        def fetch() -> Repository:
            project = self._client.projects.get(self._path)
            return Repository(
                full_name=project.path_with_namespace,
                default_branch=project.default_branch,
                clone_url=project.http_url_to_repo,
                web_url=project.web_url,
            )

        return self._call(fetch)

    def list_issues(
        self, *, labels: Iterable[str] = (), state: str = "open", assignee: str | None = None
    ) -> Iterator[Issue]:
        options: dict[str, Any] = {
            "state": _ISSUE_STATES.get(state, state),
            "order_by": "created_at",
            "sort": "asc",
            "iterator": True,
        }
        if wanted := list(labels):
            options["labels"] = wanted
        if assignee:
            options["assignee_username"] = assignee
        pages = self._call(lambda: iter(self._project.issues.list(**options)))
        while (item := self._call(lambda: next(pages, None))) is not None:
            yield self._issue(item, ())

    def get_issue(self, number: int, *, with_comments: bool = True) -> Issue:
        def fetch() -> Issue:
            item = self._project.issues.get(number)
            notes = item.notes.list(iterator=True, order_by="created_at", sort="asc") if with_comments else ()
            return self._issue(item, tuple(_comment(note) for note in notes if not note.system))

        return self._call(fetch)

    def add_comment(self, number: int, body: str) -> Comment:
        return self._call(
            lambda: _comment(self._project.issues.get(number, lazy=True).notes.create({"body": body}))
        )

    def find_comment(self, number: int, marker: str) -> Comment | None:
        return self.get_issue(number).comment_with(marker)

    def add_labels(self, number: int, labels: Iterable[str]) -> None:
        wanted = ",".join(labels)
        self._call(lambda: self._project.issues.update(number, {"add_labels": wanted}))

    def remove_labels(self, number: int, labels: Iterable[str]) -> None:
        unwanted = ",".join(labels)
        self._call(lambda: self._project.issues.update(number, {"remove_labels": unwanted}))

    def assign(self, number: int, users: Iterable[str]) -> None:
        wanted = list(users)

        def assign() -> None:
            current = [user["id"] for user in self._project.issues.get(number).assignees]
            added = [self._user_id(username) for username in wanted]
            self._project.issues.update(number, {"assignee_ids": list(dict.fromkeys(current + added))})

        self._call(assign)

    def _user_id(self, username: str) -> int:
        found = self._client.users.list(username=username, get_all=False)
        if not found:
            raise NotFound(f"no GitLab user {username!r}", platform=NAME, status=404)
        return int(found[0].id)

    def create_branch(self, name: str, from_ref: str) -> str:
        def create() -> str:
            branch = self._project.branches.create({"branch": name, "ref": from_ref})
            return str(branch.commit["id"])

        return self._call(create)

    def open_pull_request(
        self, *, title: str, body: str, head: str, base: str, draft: bool = False
    ) -> PullRequest:
        request = {
            "source_branch": head,
            "target_branch": base,
            "title": f"{DRAFT_PREFIX}{title}" if draft else title,
            "description": body,
        }
        return self._call(lambda: _merge_request(self._project.mergerequests.create(request).attributes))

    def find_pull_request(self, head: str) -> PullRequest | None:
        """This project's open merge request from `head`, never a fork's (see module docstring)."""

        def find() -> PullRequest | None:
            listed = self._project.mergerequests.list(state="opened", source_branch=head, iterator=True)
            own = (item.attributes for item in listed if _from_this_project(item.attributes))
            return next((_merge_request(attributes) for attributes in own), None)

        return self._call(find)

    def update_pull_request_body(self, number: int, body: str) -> PullRequest:
        return self._call(
            lambda: _merge_request(self._project.mergerequests.update(number, {"description": body}))
        )

    def ci_status(self, sha: str) -> CIStatus:
        def fetch() -> CIStatus:
            statuses = self._project.commits.get(sha, lazy=True).statuses.list(iterator=True)
            return CIStatus(
                sha=sha,
                checks=tuple(
                    Check(
                        name=status.name,
                        state=_check_state(status.status, bool(status.allow_failure)),
                        url=status.target_url or "",
                        log_id=str(status.id),
                    )
                    for status in statuses
                ),
            )

        return self._call(fetch)

    def failed_job_log(self, log_id: str, *, max_chars: int = 20_000) -> str:
        """The job's trace, plain (no ANSI colours or section markers), redacted, its tail kept.

        External commit statuses have no trace: GitLab answers 404, raised as `NotFound`.
        """
        trace = self._call(lambda: self._project.jobs.get(int(log_id), lazy=True).trace())
        text = trace.decode("utf-8", "replace") if isinstance(trace, bytes) else str(trace)
        return redact(_TERMINAL_LOG_NOISE.sub("", text))[-max_chars:]

    def merge(self, number: int, *, method: MergeMethod = "squash", delete_branch: bool = True) -> str:
        """`delete_branch` deletes the source branch only if it is this project's (see module docstring)."""

        def merge() -> str:
            path = f"{self._project.manager.path}/{self._project.encoded_id}/merge_requests/{number}"
            remove_branch = delete_branch and _from_this_project(
                self._project.mergerequests.get(number).attributes
            )
            if method == "rebase":
                self._rebase(path, number)
            merged = self._client.http_put(
                f"{path}/merge",
                post_data={"squash": method == "squash", "should_remove_source_branch": remove_branch},
            )
            assert isinstance(merged, dict)
            if merged.get("state") != "merged":
                raise Conflict(
                    f"merge request !{number} was not merged (state {merged.get('state')!r})",
                    platform=NAME,
                    status=405,
                )
            return str(merged.get("merge_commit_sha") or merged.get("squash_commit_sha") or merged["sha"])

        try:
            return self._call(merge)
        except Conflict as refused:
            raise Conflict(
                f"{refused}; merge request !{number} may be a draft, closed, conflicting or waiting for CI",
                platform=NAME,
                status=refused.status,
            ) from None

    def _rebase(self, path: str, number: int) -> None:
        """Ask GitLab to rebase the source branch, then wait until it has (it runs in the background)."""
        self._client.http_put(f"{path}/rebase")
        for _ in range(REBASE_POLLS):
            state = self._client.http_get(path, query_data={"include_rebase_in_progress": True})
            assert isinstance(state, dict)
            if state.get("merge_error"):
                raise Conflict(
                    f"merge request !{number} did not rebase: {state['merge_error']}",
                    platform=NAME,
                    status=409,
                )
            if not state.get("rebase_in_progress"):
                return
            self._rate_limits.sleep(1.0)
        raise Conflict(f"merge request !{number} is still rebasing; try again later", platform=NAME)

    def rate_limit(self) -> RateLimitState | None:
        """The budget the last answer reported; None where the server sends none (limits off)."""
        if self._last_limits is None:
            self.repository()
        return self._last_limits

    def _issue(self, item: Any, comments: tuple[Comment, ...]) -> Issue:
        return Issue(
            ref=IssueRef(platform="gitlab", repo=self._path, number=item.iid),
            title=item.title,
            body=item.description or "",
            state="open" if item.state == "opened" else "closed",
            labels=tuple(item.labels),
            assignees=tuple(user["username"] for user in item.assignees or ()),
            author=(item.author or {}).get("username", ""),
            url=item.web_url or "",
            comments=comments,
        )


def _comment(note: Any) -> Comment:
    return Comment(
        id=str(note.id),
        author=(note.author or {}).get("username", ""),
        body=note.body or "",
        created_at=note.created_at,
    )


def _merge_request(attributes: dict[str, Any]) -> PullRequest:
    title = str(attributes["title"])
    draft = bool(attributes.get("draft") or attributes.get("work_in_progress"))
    state = attributes["state"]
    return PullRequest(
        number=attributes["iid"],
        title=_DRAFT_PREFIXES.sub("", title) if draft else title,
        body=attributes.get("description") or "",
        head=attributes["source_branch"],
        base=attributes["target_branch"],
        state="open" if state == "opened" else ("merged" if state == "merged" else "closed"),
        draft=draft,
        head_sha=attributes.get("sha") or "",
        url=attributes.get("web_url") or "",
    )


def _from_this_project(attributes: dict[str, Any]) -> bool:
    """Whether a merge request's source branch lives in the project it targets, not in a fork.

    Tamma reads merge requests through its project, which they target: comparing with
    `target_project_id` spares a request for the project's numeric id.
    """
    return bool(attributes["source_project_id"] == attributes["target_project_id"])


def _check_state(status: str, allow_failure: bool) -> CIState:
    """A job or external status; an allowed failure or a skipped job does not fail the commit."""
    if status in ("success", "skipped"):
        return "success"
    if status == "manual":
        return "success" if allow_failure else "pending"
    if status in _PENDING:
        return "pending"
    return "success" if allow_failure else "failure"


@contextmanager
def _translate_errors() -> Iterator[None]:
    """python-gitlab exceptions to Tamma's (429s never get here: the session hook raised them)."""
    try:
        yield
    except (requests.ConnectionError, requests.Timeout) as exc:  # refused, reset, timed out
        raise PlatformUnreachable(redact(f"no answer: {type(exc).__name__}"), platform=NAME) from None
    except GitlabError as exc:
        raise _typed(exc.response_code or 0, redact(_message(exc)), _body(exc)) from None


def _typed(status: int, message: str, body: dict[str, Any]) -> PlatformError:
    lowered = message.lower()
    if status == 401:
        return Forbidden(
            f"unauthorized (401): {message}; the token is missing, expired or revoked",
            platform=NAME,
            status=status,
        )
    if status == 403:
        scope = body.get("scope")
        hint = f"; the token needs the {scope!r} scope" if scope else ""
        return Forbidden(
            f"forbidden (403): {message}{hint}", platform=NAME, status=status, missing_scope=scope
        )
    if status == 404 or (status == 422 and "does not exist" in lowered):
        return NotFound(f"not found ({status}): {message}", platform=NAME, status=status)
    if status in (405, 406, 409) or "already exists" in lowered or "cannot be merged" in lowered:
        return Conflict(f"conflict ({status}): {message}", platform=NAME, status=status)
    return PlatformError(f"request failed ({status}): {message}", platform=NAME, status=status)


def _message(exc: GitlabError) -> str:
    message = exc.error_message
    if isinstance(message, bytes):
        message = message.decode("utf-8", "replace")
    if isinstance(message, list):
        message = "; ".join(str(part) for part in message)
    return str(message or "no message")


def _body(exc: GitlabError) -> dict[str, Any]:
    try:
        body = json.loads(exc.response_body or b"")
    except (ValueError, TypeError):
        return {}
    return body if isinstance(body, dict) else {}
