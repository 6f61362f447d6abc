"""`GiteaPlatform`: a Gitea or Forgejo server (REST API v1, the same on both) through httpx.

Why httpx and no SDK: no synchronous Gitea client is maintained (`gitea-client` was last
released in 2020, `forgejo` is async), and API v1 is plain JSON over a token header.

Lazy by construction: lists follow `Link: rel="next"` one page per step of the caller's
iteration. Issues are the exception: Gitea lists them newest first and takes no order, so the
labelled list is read whole, then given oldest first (a backlog, not the whole tracker).

Rate limits: Gitea and Forgejo keep no API budget of their own; a proxy in front (Codeberg has
one) answers 429 with `Retry-After`. That becomes `Throttled`, which `RateLimitPolicy` waits
out; httpx never retries by itself, so the policy stays the one retry owner. A 5xx is a
`PlatformError` with its status, which the step that called retries (`tasks._step`).

Where Gitea differs from the normalized interface: a draft is a "WIP: " title prefix; CI is the
commit's statuses (Gitea Actions posts one per job, as external CI does), and a failed Actions
job's log comes from the Actions API (Gitea 1.24+), while other statuses have no log id (the
caller shows their URL); the merge endpoint answers with no body, so the merge commit is read
from the pull request afterwards.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator
from typing import Any
from urllib.parse import parse_qsl, quote, urlsplit

import httpx

from tamma.errors import Conflict, Forbidden, InvalidReference, NotFound, PlatformError
from tamma.platforms import _http as http
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

__all__ = ["GiteaPlatform"]

NAME = "gitea"
PAGE_SIZE = 50
"""Gitea's default `MAX_RESPONSE_ITEMS`: a larger `limit` is cut to it anyway."""
DRAFT_PREFIX = "WIP: "
WIP_PREFIXES = ("WIP:", "[WIP]")
"""Gitea's default `WORK_IN_PROGRESS_PREFIXES`, matched case-insensitively as Gitea does."""
NEW_LABEL_COLOR = "#ededed"
_STATUS_STATES: dict[str, CIState] = {
    "success": "success",
    "warning": "success",
    "skipped": "success",
    "pending": "pending",
    "failure": "failure",
    "error": "failure",
}
_ACTIONS_JOB = re.compile(r"/actions/runs/\d+/jobs/\d+/?$")
_MISSING_SCOPE = re.compile(r"required scope\(s\): \[([^\]]+)\]")


class GiteaPlatform:
    """One repository, `owner/repo`, on the Gitea or Forgejo server at `base_url`."""

    name = NAME

    def __init__(
        self,
        repo: str,
        *,
        token: str,
        base_url: str,
        rate_limits: RateLimitPolicy | None = None,
        timeout_s: float = 30.0,
    ) -> None:
        if repo.count("/") != 1:
            raise InvalidReference(f"a Gitea repository is written owner/repo, got {repo!r}", platform=NAME)
        self._root = base_url.rstrip("/").removesuffix("/api/v1")
        self._client = httpx.Client(
            base_url=f"{self._root}/api/v1",
            headers={"Authorization": f"token {token}", "Accept": "application/json"},
            timeout=timeout_s,
        )
        self._full_name = repo
        self._path = f"/repos/{quote(repo, safe='/')}"
        self._rate_limits = rate_limits or RateLimitPolicy()

    # -- HTTP ------------------------------------------------------------------------------------

    def _request(self, method: str, path: str, **options: Any) -> httpx.Response:
        """One call under the rate-limit policy, its errors translated (see `_raise_for_status`)."""

        return http.call(
            self._client,
            self._rate_limits,
            _raise_for_status,
            platform=NAME,
            method=method,
            url=f"{self._path}{path}",
            **options,
        )

    def _json(self, method: str, path: str, **options: Any) -> Any:
        return self._request(method, path, **options).json()

    def _pages(self, path: str, params: dict[str, Any] | None = None) -> Iterator[Any]:
        """The items of a paged list, one request per page as the caller iterates. The next
        page's query comes from `Link: rel="next"`; its host is the server's ROOT_URL, which
        need not be the address Tamma reaches it by, so only the query is taken."""
        query: dict[str, Any] | None = {**(params or {}), "limit": PAGE_SIZE}
        while query is not None:
            response = self._request("GET", path, params=query)
            yield from response.json()
            following = response.links.get("next")
            query = dict(parse_qsl(urlsplit(following["url"]).query)) if following else None

    # -- repository and issues -------------------------------------------------------------------

    def repository(self) -> Repository:
        repo = self._json("GET", "")
        return Repository(
            full_name=repo["full_name"],
            default_branch=repo["default_branch"],
            clone_url=repo["clone_url"],
            web_url=repo.get("html_url") or "",
        )

    def list_issues(
        self, *, labels: Iterable[str] = (), state: str = "open", assignee: str | None = None
    ) -> Iterator[Issue]:
        wanted = tuple(labels)
        if wanted and not set(wanted) <= set(self._label_ids()):
            return  # Gitea drops unknown label names from the filter and would list every issue
        params: dict[str, Any] = {"state": state, "type": "issues"}
        if wanted:
            params["labels"] = ",".join(wanted)
        if assignee:
            params["assigned_by"] = assignee
        newest_first = list(self._pages("/issues", params))
        for item in reversed(newest_first):
            if set(wanted) <= {label["name"] for label in item.get("labels") or ()}:
                yield self._issue(item, ())

    def get_issue(self, number: int, *, with_comments: bool = True) -> Issue:
        item = self._json("GET", f"/issues/{number}")
        comments = (
            tuple(_comment(c) for c in self._pages(f"/issues/{number}/comments")) if with_comments else ()
        )
        return self._issue(item, comments)

    def add_comment(self, number: int, body: str) -> Comment:
        return _comment(self._json("POST", f"/issues/{number}/comments", json={"body": body}))

    def find_comment(self, number: int, marker: str) -> Comment | None:
        return self.get_issue(number).comment_with(marker)

    def add_labels(self, number: int, labels: Iterable[str]) -> None:
        """Labels the repository lacks are created first, as GitHub does on its own."""
        wanted = list(dict.fromkeys(labels))
        known = self._label_ids()
        for name in wanted:
            if name not in known:
                created = self._json("POST", "/labels", json={"name": name, "color": NEW_LABEL_COLOR})
                known[name] = created["id"]
        self._request("POST", f"/issues/{number}/labels", json={"labels": [known[name] for name in wanted]})

    def remove_labels(self, number: int, labels: Iterable[str]) -> None:
        known = self._label_ids()
        for name in labels:
            if name in known:
                self._request("DELETE", f"/issues/{number}/labels/{known[name]}")

    def _label_ids(self) -> dict[str, int]:
        """The repository's labels by name: the issue-label endpoints take ids on every release."""
        return {label["name"]: label["id"] for label in self._pages("/labels")}

    def assign(self, number: int, users: Iterable[str]) -> None:
        """Gitea replaces the assignee list it is sent, so the current assignees are sent too."""
        current = [user["login"] for user in self._json("GET", f"/issues/{number}").get("assignees") or ()]
        everyone = list(dict.fromkeys([*current, *users]))
        self._request("PATCH", f"/issues/{number}", json={"assignees": everyone})

    # -- branches and pull requests --------------------------------------------------------------

    def create_branch(self, name: str, from_ref: str) -> str:
        """A branch goes as `old_branch_name`, which every release reads; a sha as `old_ref_name`,
        which only newer ones do (older ones would branch off the default branch instead)."""
        source = "old_ref_name" if _looks_like_sha(from_ref) else "old_branch_name"
        branch = self._json("POST", "/branches", json={"new_branch_name": name, source: from_ref})
        return str(branch["commit"]["id"])

    def open_pull_request(
        self, *, title: str, body: str, head: str, base: str, draft: bool = False
    ) -> PullRequest:
        request = {
            "head": head,
            "base": base,
            "title": f"{DRAFT_PREFIX}{title}" if draft else title,
            "body": body,
        }
        return _pull(self._json("POST", "/pulls", json=request))

    def find_pull_request(self, head: str) -> PullRequest | None:
        """The open pull request from `head` of this repository: a fork's branch of the same name is
        another contributor's work, and the list cannot be filtered by head, so it is walked."""
        for item in self._pages("/pulls", {"state": "open", "sort": "oldest"}):
            if item["head"]["ref"] == head and item["head"]["repo_id"] == item["base"]["repo_id"]:
                return _pull(item)
        return None

    def update_pull_request_body(self, number: int, body: str) -> PullRequest:
        return _pull(self._json("PATCH", f"/pulls/{number}", json={"body": body}))

    # -- CI ----------------------------------------------------------------------------------------

    def ci_status(self, sha: str) -> CIStatus:
        checks = tuple(
            Check(
                name=status["context"],
                state=_STATUS_STATES.get(status["status"], "pending"),
                url=status.get("target_url") or "",
            )
            for status in self._statuses(sha)
        )
        return CIStatus(sha=sha, checks=self._with_log_ids(sha, checks))

    def _statuses(self, sha: str) -> list[dict[str, Any]]:
        """The latest status of each context; the combined status pages them by `total_count`."""
        statuses: list[dict[str, Any]] = []
        page = 1
        while True:
            combined = self._json("GET", f"/commits/{sha}/status", params={"page": page, "limit": PAGE_SIZE})
            batch = combined.get("statuses") or []
            statuses += batch
            if not batch or len(statuses) >= int(combined.get("total_count") or 0):
                return statuses
            page += 1

    def _with_log_ids(self, sha: str, checks: tuple[Check, ...]) -> tuple[Check, ...]:
        """Failed Gitea Actions jobs get their job id as `log_id` (looked up only when one failed)."""
        if not any(check.state == "failure" and _ACTIONS_JOB.search(check.url) for check in checks):
            return checks
        jobs = self._actions_jobs(sha)
        return tuple(
            check.model_copy(update={"log_id": jobs.get(urlsplit(check.url).path.rstrip("/"), "")})
            if check.state == "failure"
            else check
            for check in checks
        )

    def _actions_jobs(self, sha: str) -> dict[str, str]:
        """Job ids of the commit's Actions runs by their page's path; none where the server has no
        Actions API (Gitea before 1.24, Forgejo)."""
        try:
            runs = self._json("GET", "/actions/runs", params={"head_sha": sha, "limit": PAGE_SIZE})
            return {
                urlsplit(job["html_url"]).path.rstrip("/"): str(job["id"])
                for run in runs.get("workflow_runs") or ()
                for job in self._json("GET", f"/actions/runs/{run['id']}/jobs").get("jobs") or ()
            }
        except NotFound:
            return {}

    def failed_job_log(self, log_id: str, *, max_chars: int = 20_000) -> str:
        """A server storing logs in object storage redirects there; httpx drops the token on the way."""
        text = self._request("GET", f"/actions/jobs/{int(log_id)}/logs", follow_redirects=True).text
        return redact(text)[-max_chars:]

    # -- merge and limits --------------------------------------------------------------------------

    def merge(self, number: int, *, method: MergeMethod = "squash", delete_branch: bool = True) -> str:
        options = {"Do": method, "delete_branch_after_merge": delete_branch}
        try:
            self._request("POST", f"/pulls/{number}/merge", json=options)
        except Conflict as refused:
            raise Conflict(
                f"{refused}; pull request #{number} may be merged already, a draft (WIP), "
                "conflicting or blocked by branch protection",
                platform=NAME,
                status=refused.status,
            ) from None
        return str(self._json("GET", f"/pulls/{number}")["merge_commit_sha"])

    def rate_limit(self) -> RateLimitState | None:
        """None: Gitea and Forgejo report no request budget (a proxy's 429 is waited out instead)."""
        return None

    def _issue(self, item: dict[str, Any], comments: tuple[Comment, ...]) -> Issue:
        return Issue(
            ref=IssueRef(platform=NAME, repo=self._full_name, number=item["number"]),
            title=item["title"],
            body=item.get("body") or "",
            state="open" if item["state"] == "open" else "closed",
            labels=tuple(label["name"] for label in item.get("labels") or ()),
            assignees=tuple(user["login"] for user in item.get("assignees") or ()),
            author=(item.get("user") or {}).get("login", ""),
            url=item.get("html_url") or "",
            comments=comments,
        )


def _comment(item: dict[str, Any]) -> Comment:
    return Comment(
        id=str(item["id"]),
        author=(item.get("user") or {}).get("login", ""),
        body=item.get("body") or "",
        created_at=item.get("created_at"),
    )


def _pull(item: dict[str, Any]) -> PullRequest:
    title = str(item["title"])
    prefix = next((p for p in WIP_PREFIXES if title.upper().startswith(p)), None)
    state = "merged" if item.get("merged") else ("open" if item["state"] == "open" else "closed")
    return PullRequest(
        number=item["number"],
        title=title[len(prefix) :].lstrip() if prefix else title,
        body=item.get("body") or "",
        head=item["head"]["ref"],
        base=item["base"]["ref"],
        state=state,
        draft=bool(item.get("draft") or prefix),
        head_sha=item["head"].get("sha") or "",
        url=item.get("html_url") or "",
    )


def _looks_like_sha(ref: str) -> bool:
    return len(ref) in (40, 64) and all(c in "0123456789abcdef" for c in ref)


def _raise_for_status(response: httpx.Response) -> None:
    """Gitea's answer to Tamma's errors; 429, or 503 with `Retry-After`, becomes `Throttled`."""
    if response.is_success:
        return
    status, headers = response.status_code, response.headers
    if status == 429 or (status == 503 and "retry-after" in headers):
        raise Throttled.from_headers(NAME, headers.get("retry-after"), None, status=status)
    raise _typed(status, redact(_message(response)))


def _typed(status: int, message: str) -> PlatformError:
    lowered = message.lower()
    if status == 401:
        return Forbidden(
            f"unauthorized (401): {message}; the token is missing, expired or revoked",
            platform=NAME,
            status=status,
        )
    if status == 403:
        found = _MISSING_SCOPE.search(message)
        scope = found.group(1) if found else None
        hint = f"; the token needs the {scope!r} scope" if scope else ""
        return Forbidden(
            f"forbidden (403): {message}{hint}", platform=NAME, status=status, missing_scope=scope
        )
    if status == 404 or (status == 422 and "does not exist" in lowered):
        return NotFound(f"not found ({status}): {message}", platform=NAME, status=status)
    if status in (405, 409) or "already exists" in lowered:
        return Conflict(f"conflict ({status}): {message}", platform=NAME, status=status)
    return PlatformError(f"request failed ({status}): {message}", platform=NAME, status=status)


def _message(response: httpx.Response) -> str:
    """Gitea's `{"message", "errors"}` error body, else the start of whatever text came back."""
    try:
        body = response.json()
    except ValueError:
        return response.text.strip()[:200] or "no message"
    if not isinstance(body, dict):
        return str(body)[:200]
    details = "; ".join(str(error) for error in body.get("errors") or ())
    return " ".join(part for part in (str(body.get("message") or ""), details) if part) or "no message"
