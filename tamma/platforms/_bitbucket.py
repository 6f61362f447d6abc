"""`BitbucketPlatform`: a Bitbucket Cloud repository (REST API 2.0) through httpx.

Why httpx and not `atlassian-python-api`: its Cloud module (5.x) has no issue comments, pages
eagerly through `requests` (a second HTTP stack beside httpx), raises `requests.HTTPError`, and
brings its own `backoff_and_retry`; API 2.0 is plain JSON, so a thin client keeps
`RateLimitPolicy` the one retry owner and the errors translated in one place.

Lazy by construction: lists follow the `next` link of each page one request per step of the
caller's iteration; only the query of `next` is taken, so the credentials never travel to a host
a response names.

Where Bitbucket differs from the normalized interface:

- Issues have no labels. A label is a line `Labels: a, b` closing the issue's content (a person
  writes it in the web editor as easily as Tamma does), plus the issue's `component`, if any.
  `Issue.body` is the content without that line. `list_issues(labels=...)` asks for the state
  (and assignee) with a BBQL `q` and filters the labels on the client.
- An issue has one assignee; "open" means the states `new`, `open` and `on hold`.
- Pull requests carry 12-character commit hashes; the full sha is looked up (`/commit/{hash}`).
- CI is the commit's build statuses; a failed Bitbucket Pipelines status points at
  `/pipelines/results/{n}`, whose failed steps give the log id `{pipeline}/{step}`.
- `merge` maps merge/squash/rebase onto `merge_commit`/`squash`/`fast_forward`.
- Bitbucket answers 429 (no `Retry-After` as a rule) when the hourly budget is spent: `Throttled`.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator
from typing import Any
from urllib.parse import parse_qsl, quote, urlsplit, urlunsplit

import httpx

from tamma.errors import (
    ConfigError,
    Conflict,
    Forbidden,
    InvalidReference,
    NotFound,
    PlatformError,
)
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

__all__ = ["BitbucketPlatform"]

NAME = "bitbucket"
DEFAULT_BASE_URL = "https://api.bitbucket.org/2.0"
PAGE_SIZE = 50
"""Bitbucket's largest `pagelen` for most lists."""
OPEN_STATES = ("new", "open", "on hold")
LABELS_LINE = re.compile(r"(?:\A|\n\n)Labels:[ \t]*([^\n]*)\s*\Z")
MERGE_STRATEGIES: dict[str, str] = {"merge": "merge_commit", "squash": "squash", "rebase": "fast_forward"}
_STATUS_STATES: dict[str, CIState] = {
    "SUCCESSFUL": "success",
    "INPROGRESS": "pending",
    "FAILED": "failure",
    "STOPPED": "failure",
}
_PIPELINE_RESULT = re.compile(r"/pipelines/(?:home#!/)?results/(\d+)")
"""A Pipelines result page: `/pipelines/results/12`, or the older `/addon/pipelines/home#!/results/12`."""


class BitbucketPlatform:
    """One repository, `workspace/repo`, on Bitbucket Cloud; a token (Bearer) or an app password."""

    name = NAME

    def __init__(
        self,
        repo: str,
        *,
        token: str | None = None,
        app_password: tuple[str, str] | None = None,
        base_url: str = DEFAULT_BASE_URL,
        rate_limits: RateLimitPolicy | None = None,
        timeout_s: float = 30.0,
    ) -> None:
        if repo.count("/") != 1:
            raise InvalidReference(
                f"a Bitbucket repository is written workspace/repo, got {repo!r}", platform=NAME
            )
        if not token and not app_password:
            raise ConfigError("Bitbucket needs an access token, or a username and an app password")
        self._root = base_url.rstrip("/")
        self._client = httpx.Client(
            base_url=self._root,
            headers={"Accept": "application/json"} | ({"Authorization": f"Bearer {token}"} if token else {}),
            auth=app_password if not token else None,
            timeout=timeout_s,
        )
        self._full_name = repo
        self._path = f"/repositories/{quote(repo, safe='/')}"
        self._rate_limits = rate_limits or RateLimitPolicy()

    # -- HTTP ------------------------------------------------------------------------------------

    def _request(self, method: str, path: str, **options: Any) -> httpx.Response:
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
        query: dict[str, Any] | None = {**(params or {}), "pagelen": PAGE_SIZE}
        while query is not None:
            page = self._json("GET", path, params=query)
            yield from page.get("values") or ()
            following = page.get("next")
            query = dict(parse_qsl(urlsplit(following).query)) if following else None

    # -- repository and issues -------------------------------------------------------------------

    def repository(self) -> Repository:
        repo = self._json("GET", "")
        links = repo.get("links") or {}
        https = next((c["href"] for c in links.get("clone") or () if c.get("name") == "https"), "")
        return Repository(
            full_name=repo["full_name"],
            default_branch=(repo.get("mainbranch") or {}).get("name") or "main",
            clone_url=_without_userinfo(https),
            web_url=(links.get("html") or {}).get("href") or "",
        )

    def list_issues(
        self, *, labels: Iterable[str] = (), state: str = "open", assignee: str | None = None
    ) -> Iterator[Issue]:
        wanted = set(labels)
        clauses = []
        if state in ("open", "closed"):
            negate = "" if state == "open" else "!"
            joiner = " OR " if state == "open" else " AND "
            clauses.append("(" + joiner.join(f'state {negate}= "{s}"' for s in OPEN_STATES) + ")")
        if assignee:
            clauses.append(f'assignee.nickname = "{_bbql(assignee)}"')
        params = {"sort": "created_on"} | ({"q": " AND ".join(clauses)} if clauses else {})
        for item in self._pages("/issues", params):
            issue = self._issue(item, ())
            if wanted <= set(issue.labels):
                yield issue

    def get_issue(self, number: int, *, with_comments: bool = True) -> Issue:
        item = self._json("GET", f"/issues/{number}")
        comments = (
            tuple(
                _comment(c)
                for c in self._pages(f"/issues/{number}/comments", {"sort": "created_on"})
                if (c.get("content") or {}).get("raw") is not None
            )
            if with_comments
            else ()
        )
        return self._issue(item, comments)

    def add_comment(self, number: int, body: str) -> Comment:
        return _comment(self._json("POST", f"/issues/{number}/comments", json={"content": {"raw": body}}))

    def find_comment(self, number: int, marker: str) -> Comment | None:
        return self.get_issue(number).comment_with(marker)

    def add_labels(self, number: int, labels: Iterable[str]) -> None:
        item = self._json("GET", f"/issues/{number}")
        body, current = split_labels(_raw(item))
        self._set_labels(number, body, [*current, *labels])

    def remove_labels(self, number: int, labels: Iterable[str]) -> None:
        """A label that is the issue's component clears the component."""
        unwanted = set(labels)
        item = self._json("GET", f"/issues/{number}")
        body, current = split_labels(_raw(item))
        if (item.get("component") or {}).get("name") in unwanted:
            self._request("PUT", f"/issues/{number}", json={"component": None})
        self._set_labels(number, body, [label for label in current if label not in unwanted])

    def _set_labels(self, number: int, body: str, labels: list[str]) -> None:
        self._request("PUT", f"/issues/{number}", json={"content": {"raw": join_labels(body, labels)}})

    def assign(self, number: int, users: Iterable[str]) -> None:
        """Bitbucket issues have one assignee: the first of `users` (an account id or a nickname)."""
        user = next(iter(users), None)
        if user is not None:
            who = {"account_id": user} if ":" in user else {"nickname": user}
            self._request("PUT", f"/issues/{number}", json={"assignee": who})

    # -- branches and pull requests --------------------------------------------------------------

    def create_branch(self, name: str, from_ref: str) -> str:
        target = from_ref if _looks_like_sha(from_ref) else self._branch_sha(from_ref)
        branch = self._json("POST", "/refs/branches", json={"name": name, "target": {"hash": target}})
        return str(branch["target"]["hash"])

    def _branch_sha(self, name: str) -> str:
        return str(self._json("GET", f"/refs/branches/{quote(name, safe='')}")["target"]["hash"])

    def open_pull_request(
        self, *, title: str, body: str, head: str, base: str, draft: bool = False
    ) -> PullRequest:
        request = {
            "title": title,
            "description": body,
            "source": {"branch": {"name": head}},
            "destination": {"branch": {"name": base}},
            "draft": draft,
        }
        return self._pull(self._json("POST", "/pullrequests", json=request))

    def find_pull_request(self, head: str) -> PullRequest | None:
        """The open pull request from `head` of this repository; a fork's branch of the same name
        is another contributor's work, told apart by `source.repository.full_name`."""
        params = {"state": "OPEN", "q": f'source.branch.name = "{_bbql(head)}"'}
        for item in self._pages("/pullrequests", params):
            source = item["source"]
            if source["branch"]["name"] == head and _same_repo(source.get("repository"), self._full_name):
                return self._pull(item)
        return None

    def update_pull_request_body(self, number: int, body: str) -> PullRequest:
        return self._pull(self._json("PUT", f"/pullrequests/{number}", json={"description": body}))

    def _pull(self, item: dict[str, Any]) -> PullRequest:
        state = {"OPEN": "open", "MERGED": "merged"}.get(item["state"], "closed")
        short = (item["source"].get("commit") or {}).get("hash") or ""
        return PullRequest(
            number=item["id"],
            title=item["title"],
            body=item.get("description") or "",
            head=item["source"]["branch"]["name"],
            base=item["destination"]["branch"]["name"],
            state=state,
            draft=bool(item.get("draft")),
            head_sha=self._full_sha(short),
            url=((item.get("links") or {}).get("html") or {}).get("href") or "",
        )

    def _full_sha(self, short: str) -> str:
        if not short or len(short) >= 40:
            return short
        return str(self._json("GET", f"/commit/{short}")["hash"])

    # -- CI ----------------------------------------------------------------------------------------

    def ci_status(self, sha: str) -> CIStatus:
        checks = []
        for status in self._pages(f"/commit/{sha}/statuses"):
            state = _STATUS_STATES.get(status["state"], "pending")
            url = status.get("url") or ""
            log_id = self._failed_step(url) if state == "failure" else ""
            checks.append(
                Check(name=status.get("name") or status["key"], state=state, url=url, log_id=log_id)
            )
        return CIStatus(sha=sha, checks=tuple(checks))

    def _failed_step(self, url: str) -> str:
        """`{pipeline uuid}/{step uuid}` of the first failed step of a Pipelines result, else ""."""
        found = _PIPELINE_RESULT.search(url)
        if not found:
            return ""
        try:
            pipeline = self._json("GET", f"/pipelines/{found.group(1)}")
            steps = self._pages(f"/pipelines/{pipeline['uuid']}/steps")
            failed = next((s for s in steps if _step_failed(s)), None)
        except NotFound:
            return ""
        return f"{pipeline['uuid']}/{failed['uuid']}" if failed else ""

    def failed_job_log(self, log_id: str, *, max_chars: int = 20_000) -> str:
        """Logs are redirected to storage; httpx drops the Authorization header on the way."""
        pipeline, _, step = log_id.partition("/")
        if not pipeline or not step:
            raise InvalidReference(f"not a Bitbucket Pipelines step: {log_id!r}", platform=NAME)
        path = f"/pipelines/{quote(pipeline)}/steps/{quote(step)}/log"
        return redact(self._request("GET", path, follow_redirects=True).text)[-max_chars:]

    # -- merge and limits --------------------------------------------------------------------------

    def merge(self, number: int, *, method: MergeMethod = "squash", delete_branch: bool = True) -> str:
        options = {
            "type": "pullrequest",
            "merge_strategy": MERGE_STRATEGIES[method],
            "close_source_branch": delete_branch,
        }
        try:
            merged = self._json("POST", f"/pullrequests/{number}/merge", json=options)
        except PlatformError as refused:
            if refused.status not in (400, 409):
                raise
            raise Conflict(
                f"{refused}; pull request #{number} may be merged or declined already, conflicting, "
                "or the strategy is not allowed (fast_forward needs a branch that is not behind)",
                platform=NAME,
                status=refused.status,
            ) from None
        return self._full_sha((merged.get("merge_commit") or {}).get("hash") or "")

    def rate_limit(self) -> RateLimitState | None:
        """None: Bitbucket publishes no budget headers; its 429 is waited out instead."""
        return None

    def _issue(self, item: dict[str, Any], comments: tuple[Comment, ...]) -> Issue:
        body, labels = split_labels(_raw(item))
        component = (item.get("component") or {}).get("name")
        assignee = item.get("assignee") or {}
        return Issue(
            ref=IssueRef(platform=NAME, repo=self._full_name, number=item["id"]),
            title=item["title"],
            body=body,
            state="open" if item["state"] in OPEN_STATES else "closed",
            labels=tuple(dict.fromkeys([*([component] if component else []), *labels])),
            assignees=(_login(assignee),) if assignee else (),
            author=_login(item.get("reporter") or {}),
            url=((item.get("links") or {}).get("html") or {}).get("href") or "",
            comments=comments,
        )


def split_labels(content: str) -> tuple[str, tuple[str, ...]]:
    """The content without its closing `Labels:` line, and the labels that line names."""
    found = LABELS_LINE.search(content)
    if not found:
        return content, ()
    names = tuple(dict.fromkeys(n.strip() for n in found.group(1).split(",") if n.strip()))
    return content[: found.start()], names


def join_labels(body: str, labels: Iterable[str]) -> str:
    names = list(dict.fromkeys(labels))
    return f"{body}\n\nLabels: {', '.join(names)}" if names else body


def _raw(item: dict[str, Any]) -> str:
    return str((item.get("content") or {}).get("raw") or "")


def _login(user: dict[str, Any]) -> str:
    return str(user.get("nickname") or user.get("display_name") or user.get("account_id") or "")


def _comment(item: dict[str, Any]) -> Comment:
    return Comment(
        id=str(item["id"]),
        author=_login(item.get("user") or {}),
        body=_raw(item),
        created_at=item.get("created_on"),
    )


def _same_repo(repository: dict[str, Any] | None, full_name: str) -> bool:
    return str((repository or {}).get("full_name") or "").lower() == full_name.lower()


def _step_failed(step: dict[str, Any]) -> bool:
    result = ((step.get("state") or {}).get("result") or {}).get("name")
    return result in ("FAILED", "ERROR")


def _bbql(value: str) -> str:
    """A string for a BBQL query: quotes and backslashes escaped."""
    return value.replace("\\", "\\\\").replace('"', '\\"')


def _without_userinfo(url: str) -> str:
    """Bitbucket's clone links carry the caller's username (`https://me@bitbucket.org/...`)."""
    parts = urlsplit(url)
    return urlunsplit(parts._replace(netloc=parts.netloc.rpartition("@")[2])) if parts.netloc else url


def _looks_like_sha(ref: str) -> bool:
    return len(ref) in (40, 64) and all(c in "0123456789abcdef" for c in ref)


def _raise_for_status(response: httpx.Response) -> None:
    if response.is_success:
        return
    status, headers = response.status_code, response.headers
    if status == 429:
        raise Throttled.from_headers(NAME, headers.get("retry-after"), None, status=status)
    raise _typed(status, response)


def _typed(status: int, response: httpx.Response) -> PlatformError:
    message, required = _message(response)
    message = redact(message)
    if status == 401:
        return Forbidden(
            f"unauthorized (401): {message}; the token or app password is missing, expired or revoked",
            platform=NAME,
            status=status,
        )
    if status == 403:
        hint = f"; the credentials need the {required!r} scope" if required else ""
        return Forbidden(
            f"forbidden (403): {message}{hint}", platform=NAME, status=status, missing_scope=required
        )
    if status == 404:
        return NotFound(f"not found (404): {message}", platform=NAME, status=status)
    if status == 409 or "already exists" in message.lower():
        return Conflict(f"conflict ({status}): {message}", platform=NAME, status=status)
    return PlatformError(f"request failed ({status}): {message}", platform=NAME, status=status)


def _message(response: httpx.Response) -> tuple[str, str | None]:
    """Bitbucket's `{"type": "error", "error": {"message", "detail"}}`, and a scope it requires."""
    try:
        body = response.json()
    except ValueError:
        return response.text.strip()[:200] or "no message", None
    error = body.get("error") if isinstance(body, dict) else None
    if not isinstance(error, dict):
        return str(body)[:200], None
    detail = error.get("detail")
    required = None
    if isinstance(detail, dict):
        required = ", ".join(detail.get("required") or ()) or None
        detail = None
    text = " ".join(str(part) for part in (error.get("message"), detail) if part)
    return text or "no message", required
