"""The REST rules of the fake Azure DevOps: routes, parameters and status codes.

Spelled out because Tamma's adapter must meet what the service answers, refusals included:

- every call needs `api-version` (else `400 VssVersionNotSpecifiedException`); the comments API is
  a preview and needs `7.1-preview.N` (a plain `7.1` is `400 VssInvalidPreviewVersionException`);
- lists are `{"count", "value"}`; refs and statuses page by `$top` with `x-ms-continuationtoken`,
  pull requests by `$top`/`$skip`, comments by a `continuationToken` in their body;
- a work item of another project or none at all: `404 TF401232`; a work item PATCH must be
  `application/json-patch+json`; tags are `"a; b"`, sorted;
- WIQL: the subset Tamma writes (`[System.Tags] CONTAINS`, `[System.State] [NOT] IN`,
  `[System.AssignedTo] =`, `[System.TeamProject] = @project`, `ORDER BY [System.Id]`);
- a second active pull request for the same source and target: `409 TF401179`; a ref update whose
  `oldObjectId` is stale answers `200` with `success: false` per ref;
- completing a pull request needs its current `lastMergeSourceCommit` (else `409 TF401192`), a
  non-active or a draft one is `409`.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any
from urllib.parse import parse_qs

from tests.fakes._azure_state import (
    AzureState,
    Pull,
    Repo,
    WorkItem,
    identity,
    item_json,
    now,
    pull_json,
    repo_json,
)
from tests.fakes._server import RecordedRequest

STRATEGIES = frozenset({"noFastForward", "squash", "rebase", "rebaseMerge"})


class ApiError(Exception):
    def __init__(self, status: int, message: str, type_key: str = "") -> None:
        super().__init__(f"{status} {message}")
        self.status, self.message, self.type_key = status, message, type_key


@dataclass(frozen=True)
class Answer:
    """A JSON body, or a plain-text one (a build log); `items` asks the server to page a list."""

    body: Any = None
    status: int = 200
    text: str | None = None
    items: list[Any] | None = None


@dataclass(frozen=True)
class Call:
    request: RecordedRequest
    params: dict[str, str]
    state: AzureState
    base: str

    @property
    def query(self) -> dict[str, str]:
        return {k: v[-1] for k, v in parse_qs(self.request.query, keep_blank_values=True).items()}

    @property
    def repo(self) -> Repo:
        key = f"{self.params['org']}/{self.params['project']}/{self.params['repo']}".lower()
        found = self.state.repos.get(key) or next(
            (r for r in self.state.repos.values() if r.id == self.params["repo"]), None
        )
        if found is None:
            raise ApiError(
                404,
                f"TF401019: The Git repository with name or identifier {self.params['repo']} does not exist or you do not have permissions for the operation you are attempting.",
                "GitRepositoryNotFoundException",
            )
        return found

    @property
    def item(self) -> WorkItem:
        number = int(self.params["id"])
        found = self.state.items.get(number)
        if found is None or found.project.lower() != self.params["project"].lower():
            raise ApiError(
                404,
                f"TF401232: Work item {number} does not exist, or you do not have permissions to read it.",
                "WorkItemUnauthorizedAccessException",
            )
        return found

    def pull(self, repo: Repo) -> Pull:
        found = self.state.pulls.get(int(self.params["id"]))
        if found is None or found.repo is not repo:
            raise ApiError(
                404, "TF401180: The requested pull request was not found.", "GitPullRequestNotFoundException"
            )
        return found


Handler = Callable[[Call], Answer]
_ROUTES: list[tuple[str, re.Pattern[str], Handler]] = []
_PREFIX = r"^/(?P<org>[^/]+)/(?P<project>[^/]+)/_apis/"


def route(method: str, pattern: str) -> Callable[[Handler], Handler]:
    def register(handler: Handler) -> Handler:
        _ROUTES.append((method, re.compile(_PREFIX + pattern + "/?$", re.IGNORECASE), handler))
        return handler

    return register


def find(method: str, path: str) -> tuple[Handler, dict[str, str]] | None:
    for verb, pattern, handler in _ROUTES:
        if verb == method and (match := pattern.match(path)):
            return handler, match.groupdict()
    return None


GIT = r"git/repositories/(?P<repo>[^/]+)"


@route("GET", GIT)
def get_repo(call: Call) -> Answer:
    return Answer(repo_json(call.base, call.repo))


@route("GET", GIT + r"/refs")
def list_refs(call: Call) -> Answer:
    wanted = call.query.get("filter", "")
    refs = [
        {"name": f"refs/heads/{name}", "objectId": sha, "creator": identity("tamma@example.com")}
        for name, sha in sorted(call.repo.branches.items())
        if f"heads/{name}".startswith(wanted)
    ]
    return Answer(items=refs)


@route("POST", GIT + r"/refs")
def update_refs(call: Call) -> Answer:
    repo, results = call.repo, []
    for update in call.request.body or []:
        name = str(update["name"]).removeprefix("refs/heads/")
        current = repo.branches.get(name, "0" * 40)
        ok = current == update["oldObjectId"]
        if ok:
            if set(update["newObjectId"]) == {"0"}:
                repo.branches.pop(name, None)
            else:
                repo.branches[name] = update["newObjectId"]
        results.append(
            {
                "name": update["name"],
                "oldObjectId": update["oldObjectId"],
                "newObjectId": update["newObjectId"],
                "success": ok,
                "updateStatus": "succeeded" if ok else "staleOldObjectId",
                "repositoryId": repo.id,
            }
        )
    return Answer({"count": len(results), "value": results})


@route("GET", GIT + r"/pullrequests")
def list_pulls(call: Call) -> Answer:
    repo, query = call.repo, call.query
    source = query.get("searchCriteria.sourceRefName", "").removeprefix("refs/heads/")
    status = query.get("searchCriteria.status", "active")
    found = [
        pull_json(call.base, pull)
        for pull in sorted(call.state.pulls.values(), key=lambda p: -p.id)
        if pull.repo is repo and (not source or pull.source == source) and status in ("all", pull.status)
    ]
    skip, top = int(query.get("$skip") or 0), int(query.get("$top") or 101)
    page = found[skip : skip + top]
    return Answer({"count": len(page), "value": page})


@route("POST", GIT + r"/pullrequests")
def create_pull(call: Call) -> Answer:
    repo, body = call.repo, call.request.json
    source = str(body.get("sourceRefName", "")).removeprefix("refs/heads/")
    target = str(body.get("targetRefName", "")).removeprefix("refs/heads/")
    if source not in repo.branches or target not in repo.branches:
        raise ApiError(
            404,
            "TF401398: The pull request cannot be activated because the source and/or the target branch no longer exists, or the requested refs are not branches",
            "GitPullRequestCannotBeActivated",
        )
    if any(
        p.repo is repo
        and p.source_repo is repo
        and p.status == "active"
        and (p.source, p.target) == (source, target)
        for p in call.state.pulls.values()
    ):
        raise ApiError(
            409,
            "TF401179: An active pull request for the source and target branch already exists.",
            "GitPullRequestExistsException",
        )
    pull = Pull(
        call.state.next_id(),
        repo,
        repo,
        source,
        target,
        body["title"],
        body.get("description", ""),
        bool(body.get("isDraft")),
    )
    call.state.pulls[pull.id] = pull
    return Answer(pull_json(call.base, pull), status=201)


@route("GET", GIT + r"/pullrequests/(?P<id>\d+)")
def get_pull(call: Call) -> Answer:
    return Answer(pull_json(call.base, call.pull(call.repo)))


@route("PATCH", GIT + r"/pullrequests/(?P<id>\d+)")
def update_pull(call: Call) -> Answer:
    pull, body = call.pull(call.repo), call.request.json
    if pull.status != "active":
        raise ApiError(
            409,
            "TF401181: The pull request cannot be edited due to its state.",
            "InvalidArgumentValueException",
        )
    pull.description = body.get("description", pull.description)
    pull.title = body.get("title", pull.title)
    pull.draft = bool(body.get("isDraft", pull.draft))
    if body.get("status") == "completed":
        head = pull.source_repo.branches.get(pull.source)
        if pull.draft:
            raise ApiError(
                409, "TF401556: A draft pull request cannot be completed.", "GitPullRequestDraftException"
            )
        if (body.get("lastMergeSourceCommit") or {}).get("commitId") != head:
            raise ApiError(
                409,
                "TF401192: The source branch has been updated since the pull request was last read.",
                "GitPullRequestStaleException",
            )
        options = body.get("completionOptions") or {}
        strategy = options.get("mergeStrategy", "noFastForward")
        if strategy not in STRATEGIES:
            raise ApiError(400, f"Invalid mergeStrategy {strategy!r}", "InvalidArgumentValueException")
        call.state.merge(pull, strategy)
        if options.get("deleteSourceBranch"):
            pull.source_repo.branches.pop(pull.source, None)
    return Answer(pull_json(call.base, pull))


@route("GET", GIT + r"/commits/(?P<sha>[0-9a-f]{40})/statuses")
def list_statuses(call: Call) -> Answer:
    newest_first = list(reversed(call.state.statuses.get(call.params["sha"], [])))
    if call.query.get("latestOnly", "").lower() == "true":
        seen: set[tuple[str, str]] = set()
        latest = []
        for status in newest_first:
            key = (status["context"]["name"], status["context"].get("genre", ""))
            if key not in seen:
                seen.add(key)
                latest.append(status)
        newest_first = latest
    return Answer(items=newest_first)


@route("POST", GIT + r"/commits/(?P<sha>[0-9a-f]{40})/statuses")
def add_status(call: Call) -> Answer:
    status = {
        **call.request.json,
        "id": call.state.next_id(),
        "creationDate": now(),
        "createdBy": identity("tamma@example.com"),
    }
    call.state.statuses.setdefault(call.params["sha"], []).append(status)
    return Answer(status, status=201)


@route("POST", r"wit/wiql")
def wiql(call: Call) -> Answer:
    query = str(call.request.json.get("query", ""))
    tags = [
        t.replace("''", "'").lower() for t in re.findall(r"\[System\.Tags\] CONTAINS '((?:[^']|'')*)'", query)
    ]
    states = re.search(r"\[System\.State\] (NOT )?IN \(([^)]*)\)", query)
    assignee = re.search(r"\[System\.AssignedTo\] = '((?:[^']|'')*)'", query)
    found = []
    for item in sorted(call.state.items.values(), key=lambda i: i.id):
        text = str(item.fields.get("System.Tags") or "").lower()
        if item.project.lower() != call.params["project"].lower() or not all(tag in text for tag in tags):
            continue
        if states:
            listed = {s.strip().strip("'") for s in states.group(2).split(",")}
            if (item.fields.get("System.State") in listed) == bool(states.group(1)):
                continue
        who = (item.fields.get("System.AssignedTo") or {}).get("uniqueName")
        if assignee and who != assignee.group(1).replace("''", "'"):
            continue
        found.append({"id": item.id, "url": f"{call.base}/_apis/wit/workItems/{item.id}"})
    return Answer(
        {"queryType": "flat", "queryResultType": "workItem", "asOf": now(), "columns": [], "workItems": found}
    )


@route("GET", r"wit/workitems")
def get_items(call: Call) -> Answer:
    ids = [int(i) for i in call.query.get("ids", "").split(",") if i]
    if not ids or len(ids) > 200:
        raise ApiError(
            400,
            "VS402337: The number of work items requested exceeds the limit of 200.",
            "WorkItemBatchLimitExceeded",
        )
    omit = call.query.get("errorPolicy", "").lower() == "omit"
    value: list[Any] = []
    for number in ids:
        item = call.state.items.get(number)
        if item is None and not omit:
            raise ApiError(
                404,
                f"TF401232: Work item {number} does not exist, or you do not have permissions to read it.",
            )
        value.append(item_json(call.base, call.params["org"], item) if item else None)
    return Answer({"count": len(value), "value": value})


@route("GET", r"wit/workitems/(?P<id>\d+)")
def get_item(call: Call) -> Answer:
    return Answer(item_json(call.base, call.params["org"], call.item))


@route("PATCH", r"wit/workitems/(?P<id>\d+)")
def update_item(call: Call) -> Answer:
    item = call.item
    if call.request.headers.get("content-type", "").split(";")[0] != "application/json-patch+json":
        raise ApiError(
            415,
            "The request indicated a Content-Type which is not supported. Valid content types for this method are: application/json-patch+json.",
            "VssRequestContentTypeNotSupportedException",
        )
    for op in call.request.body or []:
        field_name = str(op["path"]).removeprefix("/fields/")
        value = op.get("value")
        if field_name == "System.Tags":
            value = "; ".join(sorted({t.strip() for t in str(value).split(";") if t.strip()}, key=str.lower))
        elif field_name == "System.AssignedTo":
            value = identity(str(value))
        item.fields[field_name] = value
    item.rev += 1
    return Answer(item_json(call.base, call.params["org"], item))


@route("GET", r"wit/workitems/(?P<id>\d+)/comments")
def list_comments(call: Call) -> Answer:
    _preview(call)
    comments = list(call.item.comments)
    if call.query.get("order", "desc") != "asc":
        comments.reverse()
    start = int(call.query.get("continuationToken") or 0)
    top = int(call.query.get("$top") or 200)
    page = comments[start : start + top]
    body = {"totalCount": len(comments), "count": len(page), "comments": page}
    if start + top < len(comments):
        body["continuationToken"] = str(start + top)
    return Answer(body)


@route("POST", r"wit/workitems/(?P<id>\d+)/comments")
def add_comment(call: Call) -> Answer:
    _preview(call)
    return Answer(call.state.add_comment(call.item, str(call.request.json["text"])))


def _preview(call: Call) -> None:
    if "preview" not in call.query.get("api-version", ""):
        raise ApiError(
            400,
            "The requested REST API version of 7.1 is out of range for this server; use -preview.",
            "VssInvalidPreviewVersionException",
        )


BUILD = r"build/builds/(?P<id>\d+)"


def _build(call: Call) -> Any:
    found = call.state.builds.get(int(call.params["id"]))
    if found is None:
        raise ApiError(
            404, f"The requested build {call.params['id']} could not be found.", "BuildNotFoundException"
        )
    return found


@route("GET", BUILD + r"/timeline")
def timeline(call: Call) -> Answer:
    build = _build(call)
    record = {
        "id": "job",
        "type": "Job",
        "name": build.name,
        "state": "completed" if build.result else "inProgress",
        "result": build.result or None,
        "log": {"id": 2, "type": "Container"},
    }
    setup = {"id": "init", "type": "Task", "name": "Initialize job", "result": "succeeded", "log": {"id": 1}}
    return Answer({"id": str(build.id), "records": [setup, record]})


@route("GET", BUILD + r"/logs")
def build_logs(call: Call) -> Answer:
    _build(call)
    return Answer(items=[{"id": 1, "lineCount": 1}, {"id": 2, "lineCount": 3}])


@route("GET", BUILD + r"/logs/(?P<log>\d+)")
def build_log(call: Call) -> Answer:
    build = _build(call)
    return Answer(text="Starting: Initialize job\n" if call.params["log"] == "1" else build.log)
