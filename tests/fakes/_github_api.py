"""The fake GitHub's REST routes: parse a request, apply `_github_state`'s rules, render with `Wire`.

Why a route table with path templates: GitHub's paths carry owners, numbers and branch names
(`/repos/{owner}/{repo}/issues/{number}/labels/{name}`), so each route is a template, a handler
and the fine-grained token permission it needs (the server answers a token without it the way
GitHub does: 403 with `X-Accepted-GitHub-Permissions`). Lists go through `paginate`, which
honours `per_page`/`page` and writes the `Link` header PyGithub's `PaginatedList` walks.
Routes whose answer depends on the server itself (`/rate_limit`, job log downloads) are served by
`tests.fakes.github.FakeGitHub`.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any
from urllib.parse import parse_qsl, unquote, urlencode

from tests.fakes._github_json import Wire
from tests.fakes._github_records import ApiError, Issue, Repo, custom, invalid, not_found, now
from tests.fakes._github_state import GitHubState
from tests.fakes._server import JsonReply, RecordedRequest, TextReply

DEFAULT_PER_PAGE, MAX_PER_PAGE = 30, 100


@dataclass(frozen=True)
class Call:
    """One request as a handler sees it: path arguments, query, the caller's login, the model."""

    request: RecordedRequest
    args: dict[str, str]
    login: str
    state: GitHubState
    wire: Wire
    log_url: Callable[[Repo, int], str | None]
    """The signed download URL for a job's log, or None when the server answers with the text."""

    @property
    def query(self) -> dict[str, str]:
        return dict(parse_qsl(self.request.query, keep_blank_values=True))

    @property
    def repo(self) -> Repo:
        return self.state.repo(f"{self.args['owner']}/{self.args['repo']}")

    @property
    def number(self) -> int:
        return int(self.args["number"])

    def body(self) -> Any:
        if self.request.raw_body and self.request.body is None:
            raise ApiError(400, "Problems parsing JSON")
        return self.request.body if self.request.body is not None else {}

    def field(self, name: str, kind: type = str, *, required: bool = False, default: Any = None) -> Any:
        body = self.body()
        value = body.get(name, default) if isinstance(body, dict) else default
        if value is None and required:
            raise ApiError(422, f'Invalid request.\n\n"{name}" wasn\'t supplied.')
        if value is not None and not isinstance(value, kind):
            raise ApiError(422, f"Invalid request.\n\nFor '{name}', {value!r} is not a {kind.__name__}.")
        return value


Reply = JsonReply | TextReply
Handler = Callable[[Call], Reply]


@dataclass(frozen=True)
class Route:
    method: str
    pattern: re.Pattern[str]
    handler: Handler
    permission: tuple[str, str] | None
    """(fine-grained permission, "read" or "write"); None for user and meta endpoints."""


ROUTES: list[Route] = []
_PARAM = re.compile(r"\{(\w+)(?::(int|path))?\}")


def route(
    method: str, template: str, permission: tuple[str, str] | None = None
) -> Callable[[Handler], Handler]:
    """Register a handler; `{name}` matches one segment, `{name:int}` digits, `{name:path}` the rest."""
    kinds = {None: "[^/]+", "int": r"\d+", "path": ".+"}
    regex = _PARAM.sub(lambda m: f"(?P<{m[1]}>{kinds[m[2]]})", template)

    def register(handler: Handler) -> Handler:
        ROUTES.append(Route(method, re.compile(f"^{regex}$"), handler, permission))
        return handler

    return register


def match(method: str, path: str) -> tuple[Route, dict[str, str]]:
    for candidate in ROUTES:
        if candidate.method == method and (found := candidate.pattern.match(path)):
            return candidate, {name: unquote(value) for name, value in found.groupdict().items()}
    raise not_found()


def paginate(call: Call, items: Sequence[Any], *, envelope: str | None = None) -> JsonReply:
    """One page of `items` and a `Link` header (prev, next, last, first) as GitHub writes it."""
    query = call.query
    per_page = min(MAX_PER_PAGE, max(1, _int(query.get("per_page"), DEFAULT_PER_PAGE)))
    page = max(1, _int(query.get("page"), 1))
    last = max(1, -(-len(items) // per_page))
    chunk = list(items[(page - 1) * per_page : page * per_page])
    pairs = [
        (key, value) for key, value in parse_qsl(call.request.query, keep_blank_values=True) if key != "page"
    ]

    def link(number: int, rel: str) -> str:
        return f'<{call.wire.web}{call.request.path}?{urlencode([*pairs, ("page", number)])}>; rel="{rel}"'

    links = [link(page - 1, "prev")] if page > 1 else []
    if page < last:
        links += [link(page + 1, "next"), link(last, "last")]
    if page > 1:
        links.append(link(1, "first"))
    body: Any = {"total_count": len(items), envelope: chunk} if envelope else chunk
    return JsonReply(body, headers={"link": ", ".join(links)} if links else {})


def _int(value: str | None, default: int) -> int:
    return int(value) if value and value.isdigit() else default


def created(body: Any) -> JsonReply:
    return JsonReply(body, status=201)


NO_CONTENT = TextReply(b"", status=204)
REPO = "/repos/{owner}/{repo}"
ISSUE = REPO + "/issues/{number:int}"


# -- users and repositories ---------------------------------------------------------------------


@route("GET", "/user")
def get_authenticated_user(call: Call) -> Reply:
    return JsonReply({**call.wire.user(call.login), "name": call.login, "email": None, "public_repos": 0})


@route("GET", "/users/{login}")
def get_user(call: Call) -> Reply:
    if call.args["login"] not in call.state.users:
        raise not_found()
    return JsonReply(call.wire.user(call.args["login"]))


@route("GET", REPO, ("metadata", "read"))
def get_repo(call: Call) -> Reply:
    return JsonReply(call.wire.repo(call.repo))


# -- issues ---------------------------------------------------------------------------------------


@route("GET", REPO + "/issues", ("issues", "read"))
def list_issues(call: Call) -> Reply:
    """Filters as GitHub's: open by default, every label must match, pull requests included."""
    repo, query = call.repo, call.query
    state = query.get("state", "open")
    wanted = {name.strip().lower() for name in query.get("labels", "").split(",") if name.strip()}
    assignee, creator = query.get("assignee"), query.get("creator")
    since = datetime.fromisoformat(query["since"].replace("Z", "+00:00")) if "since" in query else None

    def keep(issue: Issue) -> bool:
        return (
            (state == "all" or issue.state == state)
            and wanted <= {label.lower() for label in issue.labels}
            and _assigned(issue, assignee)
            and (creator is None or issue.author == creator)
            and (since is None or issue.updated_at >= since)
        )

    key = "updated_at" if query.get("sort") == "updated" else "number"
    found = sorted(filter(keep, repo.issues.values()), key=lambda issue: getattr(issue, key))
    if query.get("direction", "desc") == "desc":
        found.reverse()
    return paginate(call, [call.wire.issue(repo, issue) for issue in found])


def _assigned(issue: Issue, assignee: str | None) -> bool:
    """The `assignee` filter: a login, `*` (anyone) or `none`; absent = no filter."""
    if assignee is None:
        return True
    if assignee in ("*", "none"):
        return bool(issue.assignees) == (assignee == "*")
    return assignee in issue.assignees


@route("POST", REPO + "/issues", ("issues", "write"))
def create_issue(call: Call) -> Reply:
    repo = call.repo
    issue = call.state.create_issue(repo, call.field("title", required=True), call.field("body"), call.login)
    call.state.add_labels(repo, issue, call.field("labels", list, default=[]))
    call.state.add_assignees(repo, issue, call.field("assignees", list, default=[]), strict=True)
    return created(call.wire.issue(repo, issue))


@route("GET", ISSUE, ("issues", "read"))
def get_issue(call: Call) -> Reply:
    return JsonReply(call.wire.issue(call.repo, call.state.issue(call.repo, call.number)))


@route("PATCH", ISSUE, ("issues", "write"))
def edit_issue(call: Call) -> Reply:
    repo = call.repo
    issue = call.state.issue(repo, call.number)
    edit_common(call, repo, issue)
    if call.field("labels", list) is not None:
        issue.labels.clear()
        call.state.add_labels(repo, issue, _label_names(call))
    assignees = call.field("assignees", list)
    if assignees is None and "assignee" in call.body():  # the deprecated single-assignee form
        assignees = [login] if (login := call.field("assignee")) else []
    if assignees is not None:
        issue.assignees.clear()
        call.state.add_assignees(repo, issue, assignees, strict=True)
    return JsonReply(call.wire.issue(repo, issue))


def edit_common(call: Call, repo: Repo, issue: Issue) -> None:
    """Title, body and state: what issue and pull request edits share."""
    issue.title = call.field("title", default=issue.title)
    body = call.body()
    if isinstance(body, dict) and "body" in body:
        issue.body = call.field("body")
    state = call.field("state")
    if state not in (None, "open", "closed"):
        raise invalid("Issue", "state", value=state)
    if state == "closed" and issue.state == "open":
        issue.close(call.field("state_reason", default="completed"))
    elif state == "open" and issue.state == "closed":
        if issue.pull and issue.pull.merged:
            raise custom("PullRequest", "state cannot be changed. The pull request cannot be reopened.")
        issue.state, issue.state_reason, issue.closed_at = "open", "reopened", None
    issue.updated_at = now()


@route("GET", ISSUE + "/comments", ("issues", "read"))
def list_comments(call: Call) -> Reply:
    repo, since = call.repo, call.query.get("since")
    comments = call.state.issue(repo, call.number).comments
    if since:
        comments = [
            c for c in comments if c.updated_at >= datetime.fromisoformat(since.replace("Z", "+00:00"))
        ]
    return paginate(call, [call.wire.comment(repo, comment) for comment in comments])


@route("POST", ISSUE + "/comments", ("issues", "write"))
def create_comment(call: Call) -> Reply:
    repo = call.repo
    issue = call.state.issue(repo, call.number)
    comment = call.state.add_comment(repo, issue, call.field("body", required=True), call.login)
    return created(call.wire.comment(repo, comment))


@route("GET", REPO + "/issues/comments/{id:int}", ("issues", "read"))
def get_comment(call: Call) -> Reply:
    return JsonReply(call.wire.comment(call.repo, call.state.comment(call.repo, int(call.args["id"]))))


@route("PATCH", REPO + "/issues/comments/{id:int}", ("issues", "write"))
def edit_comment(call: Call) -> Reply:
    comment = call.state.comment(call.repo, int(call.args["id"]))
    comment.body = call.field("body", required=True)
    comment.updated_at = now()
    return JsonReply(call.wire.comment(call.repo, comment))


@route("DELETE", REPO + "/issues/comments/{id:int}", ("issues", "write"))
def delete_comment(call: Call) -> Reply:
    comment = call.state.comment(call.repo, int(call.args["id"]))
    call.state.issue(call.repo, comment.issue_number).comments.remove(comment)
    return NO_CONTENT


# -- labels and assignees -------------------------------------------------------------------------


def _label_names(call: Call) -> list[str]:
    """The labels body: a bare list of names, or `{"labels": [names or {"name": ...}]}`."""
    body = call.body()
    names = body.get("labels", []) if isinstance(body, dict) else body
    if not isinstance(names, list):
        raise invalid("Label", "labels")
    return [name["name"] if isinstance(name, dict) else str(name) for name in names]


def _issue_labels(call: Call, repo: Repo, issue: Issue) -> JsonReply:
    return JsonReply([call.wire.label(repo, call.state.label(repo, name)) for name in issue.labels])


@route("GET", ISSUE + "/labels", ("issues", "read"))
def list_issue_labels(call: Call) -> Reply:
    issue = call.state.issue(call.repo, call.number)
    return paginate(call, [call.wire.label(call.repo, call.state.label(call.repo, n)) for n in issue.labels])


@route("POST", ISSUE + "/labels", ("issues", "write"))
def add_issue_labels(call: Call) -> Reply:
    repo = call.repo
    issue = call.state.issue(repo, call.number)
    call.state.add_labels(repo, issue, _label_names(call))
    return _issue_labels(call, repo, issue)


@route("PUT", ISSUE + "/labels", ("issues", "write"))
def set_issue_labels(call: Call) -> Reply:
    repo = call.repo
    issue = call.state.issue(repo, call.number)
    issue.labels.clear()
    call.state.add_labels(repo, issue, _label_names(call))
    return _issue_labels(call, repo, issue)


@route("DELETE", ISSUE + "/labels", ("issues", "write"))
def clear_issue_labels(call: Call) -> Reply:
    call.state.issue(call.repo, call.number).labels.clear()
    return NO_CONTENT


@route("DELETE", ISSUE + "/labels/{name:path}", ("issues", "write"))
def remove_issue_label(call: Call) -> Reply:
    repo = call.repo
    issue = call.state.issue(repo, call.number)
    call.state.remove_label(repo, issue, call.args["name"])
    return _issue_labels(call, repo, issue)


@route("GET", REPO + "/labels", ("issues", "read"))
def list_labels(call: Call) -> Reply:
    repo = call.repo
    return paginate(call, [call.wire.label(repo, label) for label in repo.labels.values()])


@route("POST", REPO + "/labels", ("issues", "write"))
def create_label(call: Call) -> Reply:
    repo, name = call.repo, call.field("name", required=True)
    if name.lower() in repo.labels:
        raise invalid("Label", "name", "already_exists")
    label = call.state.label(repo, name, create=True)
    label.color = call.field("color", default=label.color).lstrip("#")
    label.description = call.field("description")
    return created(call.wire.label(repo, label))


@route("GET", REPO + "/labels/{name:path}", ("issues", "read"))
def get_label(call: Call) -> Reply:
    return JsonReply(call.wire.label(call.repo, call.state.label(call.repo, call.args["name"])))


@route("POST", ISSUE + "/assignees", ("issues", "write"))
def add_assignees(call: Call) -> Reply:
    repo = call.repo
    issue = call.state.issue(repo, call.number)
    call.state.add_assignees(repo, issue, call.field("assignees", list, default=[]))
    return created(call.wire.issue(repo, issue))


@route("DELETE", ISSUE + "/assignees", ("issues", "write"))
def remove_assignees(call: Call) -> Reply:
    repo = call.repo
    issue = call.state.issue(repo, call.number)
    gone = set(call.field("assignees", list, default=[]))
    issue.assignees[:] = [login for login in issue.assignees if login not in gone]
    return JsonReply(call.wire.issue(repo, issue))
