"""The REST rules of the fake Gitea: routes, parameters and status codes of API v1.

Why spelled out: Tamma's Gitea adapter must meet what a real server answers, refusals included,
and some of Gitea's answers surprise:

- issues are listed newest first and the list takes no sort; an unknown label name is dropped
  from the `labels` filter (all unknown: no filter at all, every issue is listed);
- the issue-label endpoints take label ids; a comment list is not paged;
- creating a branch that exists is `409 "The branch already exists."`; a second open pull
  request for the same head and base is `409 "pull request already exists for these targets
  [...]"`;
- merging answers `200` with no body; merging a merged or a "WIP:" pull request is `405`, a
  closed one `404`, a conflicting one `409`;
- errors are `{"message": ..., "url": ".../api/swagger"}`; a write with a token lacking its scope
  is `403 "token does not have at least one of required scope(s): [write:issue]"`.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from functools import cached_property
from typing import Any
from urllib.parse import parse_qs, unquote

from tests.fakes import _gitea_json as entity
from tests.fakes._gitea_state import GiteaState, Issue, Pull, Repo, User
from tests.fakes._server import RecordedRequest

API_PREFIX = "/api/v1/"
MERGE_STYLES = frozenset({"merge", "rebase", "rebase-merge", "squash", "fast-forward-only"})


class ApiError(Exception):
    """An error answer: Gitea's `{"message", "url"}` body is built by the server from `message`."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(f"{status} {message}")
        self.status, self.message = status, message


@dataclass(frozen=True)
class Listing:
    """A paged list: the server cuts the page asked for and adds `X-Total-Count` and `Link`."""

    items: list[Any]


@dataclass(frozen=True)
class Created:
    body: Any
    status: int = 201


@dataclass(frozen=True)
class Text:
    """A plain-text answer (a job log); empty with 200 or 204 for merges and deletes."""

    text: str = ""
    status: int = 200


Reply = dict[str, Any] | list[Any] | Listing | Created | Text


@dataclass(frozen=True)
class Call:
    """One request as a handler sees it: path parameters, the caller, the server root."""

    request: RecordedRequest
    params: Mapping[str, str]
    user: User
    base: str
    state: GiteaState = field(repr=False)

    @cached_property
    def query(self) -> dict[str, list[str]]:
        return parse_qs(self.request.query, keep_blank_values=True)

    def arg(self, name: str, default: Any = None) -> Any:
        """A field of the JSON body, else of the query string."""
        body = self.request.body if isinstance(self.request.body, dict) else {}
        if name in body:
            return body[name]
        values = self.query.get(name)
        return values[-1] if values else default

    def required(self, *names: str) -> None:
        missing = [name for name in names if not self.arg(name)]
        if missing:
            raise ApiError(422, f"[{']['.join(missing)}]: Required")

    @property
    def repo(self) -> Repo:
        found = self.state.repo(f"{self.params['owner']}/{self.params['repo']}")
        if found is None:
            raise not_found()
        return found

    @property
    def issue(self) -> Issue:
        index = self.params["index"]
        found = self.repo.issues.get(int(index)) if index.isdigit() else None
        if found is None:
            raise not_found()
        return found

    @property
    def pull(self) -> Issue:
        found = self.issue
        if found.pull is None:
            raise not_found()
        return found


Handler = Callable[[Call], Reply]


@dataclass(frozen=True)
class Route:
    method: str
    pattern: tuple[str, ...]
    handler: Handler
    scope: str | None
    """The token scope a call needs (`write:issue`, `write:repository`); None for reads."""


class Routes:
    """(method, pattern) -> handler; `:name` captures a segment, a last `*name` the rest (a
    branch name has slashes)."""

    def __init__(self) -> None:
        self._table: list[Route] = []

    def add(self, method: str, pattern: str, *, scope: str | None = None) -> Callable[[Handler], Handler]:
        def register(handler: Handler) -> Handler:
            self._table.append(Route(method, tuple(pattern.split("/")), handler, scope))
            return handler

        return register

    def __add__(self, other: Routes) -> Routes:
        joined = Routes()
        joined._table = self._table + other._table
        return joined

    def find(self, method: str, path: str) -> tuple[Route, dict[str, str]] | None:
        if not path.startswith(API_PREFIX):
            return None
        segments = path[len(API_PREFIX) :].rstrip("/").split("/")
        for route in self._table:
            if route.method == method and (params := _match(route.pattern, segments)) is not None:
                return route, params
        return None


def _match(pattern: tuple[str, ...], segments: list[str]) -> dict[str, str] | None:
    rest = pattern[-1].startswith("*")
    if len(segments) < len(pattern) if rest else len(segments) != len(pattern):
        return None
    params: dict[str, str] = {}
    for position, want in enumerate(pattern):
        if want.startswith("*"):
            params[want[1:]] = unquote("/".join(segments[position:]))
        elif want.startswith(":"):
            params[want[1:]] = unquote(segments[position])
        elif want != segments[position]:
            return None
    return params


routes = Routes()


def not_found() -> ApiError:
    return ApiError(404, "The target couldn't be found.")


# -- repository, issues, comments, labels --------------------------------------------------------


@routes.add("GET", "repos/:owner/:repo")
def get_repo(call: Call) -> Reply:
    return entity.repo(call.base, call.repo)


@routes.add("GET", "repos/:owner/:repo/issues")
def list_issues(call: Call) -> Reply:
    repo, state, kind = call.repo, call.arg("state", "open"), call.arg("type")
    names = [name for name in str(call.arg("labels", "")).split(",") if name]
    known = {label.id for name in names if (label := repo.label_named(name))}
    assigned, author = call.arg("assigned_by"), call.arg("created_by")
    found = [
        issue
        for issue in repo.issues.values()
        if state in ("all", issue.state)
        and kind in (None, "pulls" if issue.pull else "issues")
        and known <= {label.id for label in issue.labels}
        and (assigned is None or assigned in {user.login for user in issue.assignees})
        and (author is None or issue.user.login == author)
    ]
    newest_first = sorted(found, key=lambda issue: (issue.created_at, issue.id), reverse=True)
    return Listing([entity.issue(call.base, repo, issue) for issue in newest_first])


@routes.add("GET", "repos/:owner/:repo/issues/:index")
def get_issue(call: Call) -> Reply:
    return entity.issue(call.base, call.repo, call.issue)


@routes.add("PATCH", "repos/:owner/:repo/issues/:index", scope="write:issue")
def edit_issue(call: Call) -> Reply:
    issue = call.issue
    issue.title = call.arg("title") or issue.title
    issue.body = call.arg("body", issue.body)
    if (logins := call.arg("assignees")) is not None:
        unknown = [login for login in logins if login not in call.state.users]
        if unknown:
            raise ApiError(422, f"user does not exist [uid: 0, name: {unknown[0]}]")
        issue.assignees = [call.state.users[login] for login in logins]
    if call.arg("state") in ("open", "closed"):
        issue.state = call.arg("state")
    return Created(entity.issue(call.base, call.repo, issue))


@routes.add("GET", "repos/:owner/:repo/issues/:index/comments")
def list_comments(call: Call) -> Reply:
    repo, issue = call.repo, call.issue
    return [entity.comment(call.base, repo, issue, comment) for comment in issue.comments]


@routes.add("POST", "repos/:owner/:repo/issues/:index/comments", scope="write:issue")
def create_comment(call: Call) -> Reply:
    call.required("body")
    repo, issue = call.repo, call.issue
    comment = call.state.add_comment(issue, str(call.arg("body")), author=call.user.login)
    return Created(entity.comment(call.base, repo, issue, comment))


@routes.add("GET", "repos/:owner/:repo/labels")
def list_labels(call: Call) -> Reply:
    return Listing([entity.label(label) for label in call.repo.labels.values()])


@routes.add("POST", "repos/:owner/:repo/labels", scope="write:issue")
def create_label(call: Call) -> Reply:
    call.required("name", "color")
    repo, name = call.repo, str(call.arg("name"))
    if repo.label_named(name):
        raise ApiError(409, "label already exists")
    return Created(entity.label(call.state.label(repo, name, str(call.arg("color")))))


@routes.add("POST", "repos/:owner/:repo/issues/:index/labels", scope="write:issue")
def add_issue_labels(call: Call) -> Reply:
    repo, issue = call.repo, call.issue
    for label_id in call.arg("labels") or []:
        label = repo.labels.get(label_id) if isinstance(label_id, int) else None
        if label is None:
            raise ApiError(422, f"label does not exist [id: {label_id}]")
        if label not in issue.labels:
            issue.labels.append(label)
    return [entity.label(label) for label in issue.labels]


@routes.add("DELETE", "repos/:owner/:repo/issues/:index/labels/:id", scope="write:issue")
def delete_issue_label(call: Call) -> Reply:
    issue, label_id = call.issue, call.params["id"]
    label = call.repo.labels.get(int(label_id)) if label_id.isdigit() else None
    if label is None:
        raise ApiError(422, f"label does not exist [id: {label_id}]")
    issue.labels = [kept for kept in issue.labels if kept.id != label.id]
    return Text(status=204)


# -- branches and pull requests ------------------------------------------------------------------


@routes.add("GET", "repos/:owner/:repo/branches/*branch")
def get_branch(call: Call) -> Reply:
    repo, name = call.repo, call.params["branch"]
    if name not in repo.branches:
        raise ApiError(404, "Branch Not Found")
    return entity.branch(call.base, repo, name)


@routes.add("POST", "repos/:owner/:repo/branches", scope="write:repository")
def create_branch(call: Call) -> Reply:
    call.required("new_branch_name")
    repo, name = call.repo, str(call.arg("new_branch_name"))
    source = call.arg("old_ref_name") or call.arg("old_branch_name") or repo.default_branch
    sha = repo.branches.get(source) or next((s for s in repo.branches.values() if s == source), None)
    if sha is None:
        raise ApiError(404, "The old branch does not exist")
    if name in repo.branches:
        raise ApiError(409, "The branch already exists.")
    repo.branches[name] = sha
    return Created(entity.branch(call.base, repo, name))


@routes.add("DELETE", "repos/:owner/:repo/branches/*branch", scope="write:repository")
def delete_branch(call: Call) -> Reply:
    repo, name = call.repo, call.params["branch"]
    if name == repo.default_branch:
        raise ApiError(403, "can not delete default branch")
    if repo.branches.pop(name, None) is None:
        raise ApiError(404, "Branch Not Found")
    return Text(status=204)


@routes.add("GET", "repos/:owner/:repo/pulls")
def list_pulls(call: Call) -> Reply:
    repo, state = call.repo, call.arg("state", "open")
    pulls = [issue for issue in repo.issues.values() if issue.pull and state in ("all", issue.state)]
    pulls.sort(key=lambda issue: (issue.created_at, issue.id), reverse=call.arg("sort") != "oldest")
    return Listing([entity.pull_request(call.base, repo, issue) for issue in pulls])


@routes.add("POST", "repos/:owner/:repo/pulls", scope="write:repository")
def create_pull(call: Call) -> Reply:
    call.required("head", "base", "title")
    repo, head, base = call.repo, str(call.arg("head")), str(call.arg("base"))
    if head == base:
        raise ApiError(422, "Invalid PullRequest: There are no changes between the head and the base")
    owner, _, branch = head.rpartition(":")
    head_repo = _head_repo(call, repo, owner)
    if branch not in head_repo.branches or base not in repo.branches:
        raise not_found()
    for issue in repo.issues.values():
        pull = issue.pull
        if (
            pull
            and not pull.merged
            and (pull.head_repo, pull.head_branch, pull.base_branch)
            == (
                head_repo,
                branch,
                base,
            )
        ):
            raise ApiError(
                409,
                f"pull request already exists for these targets [id: {issue.id}, issue_id: {issue.number}, "
                f"head_repo_id: {head_repo.id}, base_repo_id: {repo.id}, head_branch: {branch}, base_branch: {base}]",
            )
    issue = call.state.add_issue(
        repo,
        str(call.arg("title")),
        body=str(call.arg("body", "")),
        author=call.user.login,
        pull=Pull(head_repo, branch, base),
    )
    return Created(entity.pull_request(call.base, repo, issue))


def _head_repo(call: Call, repo: Repo, owner: str) -> Repo:
    """`head` is `branch` (this repository) or `owner:branch` (that owner's fork of it)."""
    if not owner or owner == repo.owner.login:
        return repo
    fork = next((r for r in call.state.repos.values() if r.parent is repo and r.owner.login == owner), None)
    if fork is None:
        raise not_found()
    return fork


@routes.add("GET", "repos/:owner/:repo/pulls/:index")
def get_pull(call: Call) -> Reply:
    return entity.pull_request(call.base, call.repo, call.pull)


@routes.add("PATCH", "repos/:owner/:repo/pulls/:index", scope="write:repository")
def edit_pull(call: Call) -> Reply:
    pull = call.pull
    pull.title = call.arg("title") or pull.title
    pull.body = call.arg("body", pull.body)
    return Created(entity.pull_request(call.base, call.repo, pull))


@routes.add("POST", "repos/:owner/:repo/pulls/:index/merge", scope="write:repository")
def merge_pull(call: Call) -> Reply:
    repo, issue = call.repo, call.pull
    assert issue.pull is not None
    style = call.arg("Do") or "merge"
    if issue.pull.merged:
        raise ApiError(405, "")
    if issue.state == "closed":
        raise not_found()
    if issue.work_in_progress:
        raise ApiError(405, "Work in progress PRs cannot be merged")
    if style not in MERGE_STYLES:
        raise ApiError(405, f"{style} is not allowed an allowed merge style for this repository")
    if issue.pull.has_conflicts:
        raise ApiError(409, "Merge conflict")
    call.state.merge(repo, issue, style)
    if call.arg("delete_branch_after_merge") and issue.pull.head_repo is repo:
        repo.branches.pop(issue.pull.head_branch, None)
    return Text()
