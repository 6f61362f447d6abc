"""The REST rules of the fake Bitbucket Cloud API 2.0: routes, a small BBQL, status codes.

What a real Bitbucket answers, refusals included:

- lists are `{"values", "page", "pagelen", "size", "next"}`; `q` takes BBQL (here: `field = "v"`,
  `field != "v"`, `field ~ "v"`, joined by AND / OR, parentheses), `sort` a field name;
- a repository without an issue tracker answers 404 "Repository has no issue tracker.";
- a branch that exists is `400 "BRANCH_ALREADY_EXISTS"`; merging a pull request that is not open
  is `400 "You can't merge a pull request that is not open."`;
- errors are `{"type": "error", "error": {"message": ..., "detail": ...}}`.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any
from urllib.parse import parse_qs, unquote

from tests.fakes import _bitbucket_state as entity
from tests.fakes._bitbucket_state import BitbucketState, Comment, Repo, Status, User
from tests.fakes._server import RecordedRequest

Json = dict[str, Any]
PREFIX = "/2.0/repositories/"
MERGE_STRATEGIES = frozenset({"merge_commit", "squash", "fast_forward"})
OPEN_STATES = frozenset({"new", "open", "on hold"})


class ApiError(Exception):
    def __init__(self, status: int, message: str, detail: Any = None) -> None:
        super().__init__(f"{status} {message}")
        self.status, self.message, self.detail = status, message, detail


@dataclass(frozen=True)
class Listing:
    items: list[Any]


@dataclass(frozen=True)
class Text:
    text: str = ""
    status: int = 200


@dataclass(frozen=True)
class Call:
    request: RecordedRequest
    params: dict[str, str]
    user: User
    base: str
    state: BitbucketState

    @property
    def query(self) -> dict[str, list[str]]:
        return parse_qs(self.request.query, keep_blank_values=True)

    def arg(self, name: str, default: Any = None) -> Any:
        values = self.query.get(name)
        return values[-1] if values else default

    @property
    def body(self) -> dict[str, Any]:
        return self.request.body if isinstance(self.request.body, dict) else {}

    @property
    def repo(self) -> Repo:
        found = self.state.repo(f"{self.params['ws']}/{self.params['repo']}")
        if found is None:
            raise ApiError(404, "Repository not found")
        return found


Handler = Callable[[Call], Any]
_table: list[tuple[str, re.Pattern[str], Handler]] = []


def route(method: str, pattern: str) -> Callable[[Handler], Handler]:
    regex = re.compile(
        "^" + re.sub(r":(\w+)", r"(?P<\1>[^/]+)", pattern).replace("*", "(?P<rest>.+)") + "/?$"
    )

    def register(handler: Handler) -> Handler:
        _table.append((method, regex, handler))
        return handler

    return register


def find(method: str, path: str) -> tuple[Handler, dict[str, str]] | None:
    if not path.startswith(PREFIX):
        return None
    rest = path[len(PREFIX) :]
    for wanted, regex, handler in _table:
        if wanted == method and (match := regex.match(rest)):
            return handler, {k: unquote(v) for k, v in match.groupdict().items()}
    return None


# -- BBQL ------------------------------------------------------------------------------------------

_CLAUSE = re.compile(r'\s*([\w.]+)\s*(!=|=|~)\s*"((?:[^"\\]|\\.)*)"\s*')


def matches(query: str, record: Json) -> bool:
    """Whether `record` passes BBQL `query` (the subset in the module docstring)."""
    text = query.strip()
    if not text:
        return True
    depth = 0
    for position, char in enumerate(text):
        depth += {"(": 1, ")": -1}.get(char, 0)
        for joiner, combine in ((" OR ", any), (" AND ", all)):
            if depth == 0 and text.startswith(joiner, position):
                left, right = text[:position], text[position + len(joiner) :]
                return combine(matches(part, record) for part in (left, right))
    if text.startswith("(") and text.endswith(")"):
        return matches(text[1:-1], record)
    clause = _CLAUSE.fullmatch(text)
    if clause is None:
        raise ApiError(400, f"Invalid query: {text}")
    field, op, value = clause.group(1), clause.group(2), re.sub(r"\\(.)", r"\1", clause.group(3))
    actual: Any = record
    for part in field.split("."):
        actual = actual.get(part) if isinstance(actual, dict) else None
    if op == "~":
        return value.lower() in str(actual or "").lower()
    return (str(actual) == value) == (op == "=")


def _filtered(call: Call, items: list[Json]) -> Listing:
    wanted = [item for item in items if matches(call.arg("q", ""), item)]
    sort = call.arg("sort")
    if sort:
        key = sort.lstrip("-")
        wanted.sort(key=lambda item: str(item.get(key) or ""), reverse=sort.startswith("-"))
    return Listing(wanted)


# -- repository, issues, comments --------------------------------------------------------------------


@route("GET", ":ws/:repo")
def get_repo(call: Call) -> Any:
    return entity.repo(call.base, call.repo)


def _tracker(call: Call) -> Repo:
    repo = call.repo
    if not repo.has_issues:
        raise ApiError(404, "Repository has no issue tracker.")
    return repo


def _issue(call: Call) -> entity.Issue:
    found = _tracker(call).issues.get(int(call.params["id"])) if call.params["id"].isdigit() else None
    if found is None:
        raise ApiError(404, "Issue not found")
    return found


@route("GET", ":ws/:repo/issues")
def list_issues(call: Call) -> Any:
    repo = _tracker(call)
    return _filtered(call, [entity.issue(call.base, repo, issue) for issue in repo.issues.values()])


@route("POST", ":ws/:repo/issues")
def create_issue(call: Call) -> Any:
    repo = _tracker(call)
    record = call.state.add_issue(
        repo, call.body["title"], (call.body.get("content") or {}).get("raw", ""), reporter=call.user.nickname
    )
    return entity.issue(call.base, repo, record), 201


@route("GET", ":ws/:repo/issues/:id")
def get_issue(call: Call) -> Any:
    return entity.issue(call.base, call.repo, _issue(call))


@route("PUT", ":ws/:repo/issues/:id")
def update_issue(call: Call) -> Any:
    record, body = _issue(call), call.body
    record.title = body.get("title", record.title)
    if "content" in body:
        record.raw = (body["content"] or {}).get("raw", "")
    if "state" in body:
        record.state = body["state"]
    if "component" in body:
        record.component = (body["component"] or {}).get("name")
    if "assignee" in body:
        who = body["assignee"] or {}
        found = next(
            (
                u
                for u in call.state.users.values()
                if who.get("nickname") == u.nickname or who.get("account_id") == u.account_id
            ),
            None,
        )
        if body["assignee"] and found is None:
            raise ApiError(400, "Bad request", {"assignee": ["invalid user"]})
        record.assignee = found
    return entity.issue(call.base, call.repo, record)


@route("GET", ":ws/:repo/issues/:id/comments")
def list_comments(call: Call) -> Any:
    return _filtered(call, [entity.comment(c) for c in _issue(call).comments])


@route("POST", ":ws/:repo/issues/:id/comments")
def create_comment(call: Call) -> Any:
    record = _issue(call)
    raw = (call.body.get("content") or {}).get("raw")
    if not raw:
        raise ApiError(400, "content: This field is required.")
    posted = Comment(len(record.comments) + 1000 * record.id, raw, call.user)
    record.comments.append(posted)
    return entity.comment(posted), 201


# -- branches, commits, pull requests ------------------------------------------------------------------


@route("GET", ":ws/:repo/refs/branches/*")
def get_branch(call: Call) -> Any:
    repo, name = call.repo, call.params["rest"]
    if name not in repo.branches:
        raise ApiError(404, f"Branch not found: {name}")
    return entity.branch(repo, name)


@route("POST", ":ws/:repo/refs/branches")
def create_branch(call: Call) -> Any:
    repo, name = call.repo, call.body.get("name", "")
    target = (call.body.get("target") or {}).get("hash", "")
    sha = call.state.full_sha(repo, target)
    if sha is None:
        raise ApiError(400, f'Commit "{target}" does not exist')
    if name in repo.branches:
        raise ApiError(400, "BRANCH_ALREADY_EXISTS", f'Branch "{name}" already exists')
    repo.branches[name] = sha
    return entity.branch(repo, name), 201


@route("GET", ":ws/:repo/commit/:sha")
def get_commit(call: Call) -> Any:
    sha = call.state.full_sha(call.repo, call.params["sha"])
    if sha is None:
        raise ApiError(404, f"Commit not found: {call.params['sha']}")
    return {"type": "commit", "hash": sha}


@route("GET", ":ws/:repo/pullrequests")
def list_pulls(call: Call) -> Any:
    repo, states = call.repo, call.query.get("state") or ["OPEN"]
    pulls = [entity.pull(repo, p) for p in repo.pulls.values() if p.state in states]
    return _filtered(call, pulls)


@route("POST", ":ws/:repo/pullrequests")
def create_pull(call: Call) -> Any:
    repo, body = call.repo, call.body
    branch = body["source"]["branch"]["name"]
    destination = ((body.get("destination") or {}).get("branch") or {}).get("name") or repo.mainbranch
    if branch not in repo.branches:
        raise ApiError(400, "source: Branch not found", {"source": [f"branch {branch} not found"]})
    record = call.state.add_pull(
        repo,
        repo,
        branch,
        destination,
        body["title"],
        description=body.get("description", ""),
        draft=bool(body.get("draft")),
    )
    return entity.pull(repo, record), 201


def _pull(call: Call) -> entity.Pull:
    found = call.repo.pulls.get(int(call.params["id"])) if call.params["id"].isdigit() else None
    if found is None:
        raise ApiError(404, "Pull request not found")
    return found


@route("GET", ":ws/:repo/pullrequests/:id")
def get_pull(call: Call) -> Any:
    return entity.pull(call.repo, _pull(call))


@route("PUT", ":ws/:repo/pullrequests/:id")
def update_pull(call: Call) -> Any:
    record = _pull(call)
    record.title = call.body.get("title", record.title)
    record.description = call.body.get("description", record.description)
    return entity.pull(call.repo, record)


@route("POST", ":ws/:repo/pullrequests/:id/merge")
def merge_pull(call: Call) -> Any:
    repo, record = call.repo, _pull(call)
    strategy = call.body.get("merge_strategy") or "merge_commit"
    if record.state != "OPEN":
        raise ApiError(400, "You can't merge a pull request that is not open.")
    if strategy not in MERGE_STRATEGIES:
        raise ApiError(400, f"merge_strategy: {strategy} is not a valid choice")
    if strategy == "fast_forward" and repo.branches[record.destination] != record.base_sha:
        raise ApiError(400, "Unable to fast-forward: the destination branch has moved on.")
    close = bool(call.body.get("close_source_branch", record.close_source_branch))
    call.state.merge(repo, record, strategy)
    if close and record.source_repo is repo and record.source_branch != repo.mainbranch:
        repo.branches.pop(record.source_branch, None)
    return entity.pull(repo, record)


# -- CI --------------------------------------------------------------------------------------------


@route("GET", ":ws/:repo/commit/:sha/statuses")
def list_statuses(call: Call) -> Any:
    sha = call.state.full_sha(call.repo, call.params["sha"]) or call.params["sha"]
    return _filtered(call, [entity.status(s) for s in call.repo.statuses.get(sha, {}).values()])


@route("POST", ":ws/:repo/commit/:sha/statuses/build")
def post_status(call: Call) -> Any:
    body = call.body
    record = Status(body["key"], body.get("name") or body["key"], body["state"], body.get("url", ""))
    call.repo.statuses.setdefault(call.params["sha"], {})[record.key] = record
    return entity.status(record), 201


def _pipeline(call: Call) -> entity.Pipeline:
    wanted = call.params["pipeline"]
    found = next((p for p in call.repo.pipelines if wanted in (p.uuid, str(p.build_number))), None)
    if found is None:
        raise ApiError(404, f"Pipeline not found: {wanted}")
    return found


@route("GET", ":ws/:repo/pipelines/:pipeline")
def get_pipeline(call: Call) -> Any:
    return entity.pipeline(call.repo, _pipeline(call))


@route("GET", ":ws/:repo/pipelines/:pipeline/steps")
def list_steps(call: Call) -> Any:
    return Listing([entity.step(s) for s in _pipeline(call).steps])


@route("GET", ":ws/:repo/pipelines/:pipeline/steps/:step/log")
def step_log(call: Call) -> Any:
    found = next((s for s in _pipeline(call).steps if s.uuid == call.params["step"]), None)
    if found is None:
        raise ApiError(404, "Step not found")
    return Text(found.log)
