"""The REST rules of the fake GitLab: routes, parameters, validation and errors of API v4.

Why the rules are spelled out rather than "accept anything": Tamma's GitLab adapter must meet
the answers gitlab.com gives, including its refusals. Where GitLab's status codes surprise, the
fake keeps GitLab's, not the ones a tidy API would use:

- creating a branch that exists is `400 {"message": "Branch already exists"}` (not 409);
- a second open merge request for the same source branch is `409` with the message in a list;
- merging a draft, closed or CI-blocked merge request is `405 Method Not Allowed`, one with
  conflicts `422 Branch cannot be merged` (406 on older releases; see
  `GitLabState.merge_conflict_status`), a stale `sha` `409`;
- a missing required parameter is `400 {"error": "title is missing"}` (Grape's shape);
- `draft` is not a parameter: a merge request is a draft by its title prefix (`Draft: ...`).

Parameters are read as Grape reads them: the JSON body first, then the query string, where a
list arrives as `key[]=a&key[]=b` or, for labels, as `a,b`.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from functools import cached_property
from typing import Any
from urllib.parse import parse_qs, unquote

from tests.fakes import _gitlab_json as entity
from tests.fakes._gitlab_state import (
    GitLabState,
    Issue,
    MergeRequest,
    Project,
    User,
    now,
)
from tests.fakes._server import RecordedRequest

API_PREFIX = "/api/v4/"
UPDATABLE = (
    "title",
    "description",
    "labels",
    "add_labels",
    "remove_labels",
    "assignee_ids",
    "assignee_id",
    "state_event",
    "target_branch",
    "squash",
    "remove_source_branch",
)
"""What a PUT on an issue or merge request may change; it must name at least one."""


class ApiError(Exception):
    """An error answer in GitLab's shape: `{"message": ...}` or, from Grape/OAuth, `{"error": ...}`."""

    def __init__(self, status: int, body: Any, headers: Mapping[str, str] | None = None) -> None:
        super().__init__(f"{status} {body}")
        self.status, self.body, self.headers = status, body, dict(headers or {})


@dataclass(frozen=True)
class Listing:
    """A list answer; the server cuts the page the client asked for and adds the paging headers."""

    items: list[Any]


@dataclass(frozen=True)
class Created:
    """A `201 Created` JSON answer (`202` for requests GitLab only queues, such as a rebase)."""

    body: Any
    status: int = 201


@dataclass(frozen=True)
class Text:
    """A plain-text answer (a job log); `status=204` with no text is DELETE's empty answer."""

    text: str = ""
    status: int = 200


Answer = dict[str, Any] | Listing | Created | Text


@dataclass(frozen=True)
class Call:
    """One request as a handler sees it: path parameters unquoted, the caller, the server root."""

    request: RecordedRequest
    params: Mapping[str, str]
    user: User
    base: str
    state: GitLabState = field(repr=False)

    @cached_property
    def query(self) -> dict[str, list[str]]:
        return parse_qs(self.request.query, keep_blank_values=True)

    def arg(self, name: str) -> Any:
        """A parameter from the JSON body, else the query string (`name[]` gives a list)."""
        body = self.request.body if isinstance(self.request.body, dict) else {}
        if name in body:
            return body[name]
        if f"{name}[]" in self.query:
            return self.query[f"{name}[]"]
        values = self.query.get(name)
        return values[-1] if values else None

    def text(self, name: str, default: str | None = None) -> str | None:
        value = self.arg(name)
        return default if value is None else str(value)

    def flag(self, name: str) -> bool | None:
        value = self.arg(name)
        return None if value is None else str(value).lower() in ("true", "1", "yes")

    def names(self, name: str) -> list[str] | None:
        """A list parameter sent as a JSON array, `name[]=...` or a comma-separated string."""
        value = self.arg(name)
        if value is None:
            return None
        items = value if isinstance(value, list) else str(value).split(",")
        return [str(item).strip() for item in items if str(item).strip()]

    def require(self, *names: str) -> None:
        """Grape's check of required parameters: absent ones are `400 {"error": "x is missing"}`."""
        missing = [name for name in names if self.arg(name) is None]
        if missing:
            raise ApiError(400, {"error": ", ".join(f"{name} is missing" for name in missing)})

    def not_blank(self, name: str, attribute: str | None = None) -> str:
        """The model's check: a blank value is `400 {"message": {"title": ["can't be blank"]}}`."""
        value = self.text(name) or ""
        if not value.strip():
            raise ApiError(400, {"message": {attribute or name: ["can't be blank"]}})
        return value

    @property
    def project(self) -> Project:
        project = self.state.project(self.params["project"])
        if project is None:
            raise ApiError(404, {"message": "404 Project Not Found"})
        return project

    @property
    def issue(self) -> Issue:
        issue = self.project.issues.get(self.number("iid"))
        if issue is None:
            raise not_found("Issue")
        return issue

    @property
    def merge_request(self) -> MergeRequest:
        merge_request = self.project.merge_requests.get(self.number("iid"))
        if merge_request is None:
            raise not_found()
        return merge_request

    def number(self, name: str) -> int:
        value = self.params[name]
        if not value.isdigit():
            raise ApiError(400, {"error": f"{name} is invalid"})
        return int(value)


Handler = Callable[[Call], Answer]


class Routes:
    """One module's routes: (method, pattern) -> handler; `:name` in a pattern captures a segment."""

    def __init__(self) -> None:
        self._table: list[tuple[str, tuple[str, ...], Handler]] = []

    def add(self, method: str, pattern: str) -> Callable[[Handler], Handler]:
        """Decorate a handler for `pattern`, the path after /api/v4/ (e.g. `projects/:project`)."""

        def register(handler: Handler) -> Handler:
            self._table.append((method, tuple(pattern.split("/")), handler))
            return handler

        return register

    def __add__(self, other: Routes) -> Routes:
        joined = Routes()
        joined._table = self._table + other._table
        return joined

    def find(self, method: str, path: str) -> tuple[Handler, dict[str, str]] | None:
        """The handler and unquoted path parameters for a raw path like `/api/v4/projects/g%2Fp`."""
        if not path.startswith(API_PREFIX):
            return None
        segments = path[len(API_PREFIX) :].rstrip("/").split("/")
        for verb, pattern, handler in self._table:
            if verb != method or len(pattern) != len(segments):
                continue
            params: dict[str, str] = {}
            for want, got in zip(pattern, segments, strict=True):
                if want.startswith(":"):
                    params[want[1:]] = unquote(got)
                elif want != got:
                    break
            else:
                return handler, params
        return None


routes = Routes()


def not_found(what: str | None = None) -> ApiError:
    return ApiError(404, {"message": f"404 {what} Not Found" if what else "404 Not found"})


def ordered(items: list[Any], call: Call, *, default_sort: str = "desc") -> list[Any]:
    """Items by `order_by` (created_at, updated_at or id) in `sort` order, as list endpoints do."""
    key = call.text("order_by", "created_at") or "created_at"
    if key not in ("created_at", "updated_at", "id"):
        key = "created_at"
    descending = (call.text("sort", default_sort) or default_sort) == "desc"
    return sorted(items, key=lambda item: (getattr(item, key), item.id), reverse=descending)


# -- users and projects --------------------------------------------------------------------------


@routes.add("GET", "user")
def current_user(call: Call) -> Answer:
    return entity.user(call.base, call.user)


@routes.add("GET", "users")
def list_users(call: Call) -> Answer:
    wanted = call.text("username")
    users = [u for u in call.state.users.values() if wanted is None or u.username == wanted]
    return Listing([entity.user(call.base, u) for u in users])


@routes.add("GET", "projects/:project")
def get_project(call: Call) -> Answer:
    return entity.project(call.base, call.project)


# -- issues, notes, labels -----------------------------------------------------------------------


def _matches_labels(labels: list[str], wanted: list[str] | None) -> bool:
    if not wanted:
        return True
    if wanted == ["None"]:
        return not labels
    if wanted == ["Any"]:
        return bool(labels)
    return all(name.lower() in {label.lower() for label in labels} for name in wanted)


def _matches_assignee(assignees: list[User], call: Call) -> bool:
    usernames = call.names("assignee_username")
    if usernames and not {u.username for u in assignees} >= set(usernames):
        return False
    assignee_id = call.text("assignee_id")
    if assignee_id in ("None", "none"):
        return not assignees
    if assignee_id in ("Any", "any"):
        return bool(assignees)
    return assignee_id is None or int(assignee_id) in {u.id for u in assignees}


@routes.add("GET", "projects/:project/issues")
def list_issues(call: Call) -> Answer:
    state = call.text("state", "all")
    iids = {int(i) for i in call.names("iids") or []}
    search = (call.text("search") or "").lower()
    author = call.text("author_username")
    issues = [
        issue
        for issue in call.project.issues.values()
        if state in ("all", issue.state)
        and (not iids or issue.iid in iids)
        and _matches_labels(issue.labels, call.names("labels"))
        and _matches_assignee(issue.assignees, call)
        and (author is None or issue.author.username == author)
        and (search in issue.title.lower() or search in issue.description.lower())
    ]
    return Listing([entity.issue(call.base, call.project, issue) for issue in ordered(issues, call)])


@routes.add("POST", "projects/:project/issues")
def create_issue(call: Call) -> Answer:
    call.require("title")
    project = call.project
    issue = call.state.add_issue(
        project,
        call.not_blank("title"),
        description=call.text("description", "") or "",
        labels=call.names("labels") or [],
        author=call.user.username,
    )
    _assign(call, issue)
    return Created(entity.issue(call.base, project, issue))


@routes.add("GET", "projects/:project/issues/:iid")
def get_issue(call: Call) -> Answer:
    return entity.issue(call.base, call.project, call.issue)


@routes.add("PUT", "projects/:project/issues/:iid")
def update_issue(call: Call) -> Answer:
    issue = call.issue
    update_issuable(call, issue)
    return entity.issue(call.base, call.project, issue)


def update_issuable(call: Call, item: Issue | MergeRequest) -> None:
    """Title, description, labels, assignees and `state_event`, shared by issues and MRs."""
    if not any(call.arg(name) is not None for name in UPDATABLE):
        missing = ", ".join(UPDATABLE)
        raise ApiError(400, {"error": f"{missing} are missing, at least one parameter must be provided"})
    item.title = call.text("title", item.title) or item.title
    item.description = call.text("description", item.description) or ""
    labels = call.names("labels")
    if labels is not None:
        item.labels = list(dict.fromkeys(labels))
    item.labels += [name for name in call.names("add_labels") or [] if name not in item.labels]
    removed = {name.lower() for name in call.names("remove_labels") or []}
    item.labels = [name for name in item.labels if name.lower() not in removed]
    for name in item.labels:
        call.state.label(call.project, name)
    _assign(call, item)
    event = call.text("state_event")
    if event == "close" and item.state == "opened":
        item.state, item.closed_at = "closed", now()
    elif event == "reopen" and item.state == "closed":
        item.state, item.closed_at = "opened", None
    item.updated_at = now()


def _assign(call: Call, item: Issue | MergeRequest) -> None:
    ids = call.names("assignee_ids")
    single = call.text("assignee_id")
    if ids is None and single is not None:
        ids = [single]
    if ids is None:
        return
    users = [call.state.user_by_id(int(i)) for i in ids if int(i) != 0]
    item.assignees = [user for user in users if user is not None]


def _noteable(call: Call) -> Issue | MergeRequest:
    return call.issue if "issues" in call.request.path.split("/") else call.merge_request


@routes.add("GET", "projects/:project/issues/:iid/notes")
@routes.add("GET", "projects/:project/merge_requests/:iid/notes")
def list_notes(call: Call) -> Answer:
    notes = ordered(_noteable(call).notes, call)
    return Listing([entity.note(call.base, call.project, note) for note in notes])


@routes.add("POST", "projects/:project/issues/:iid/notes")
@routes.add("POST", "projects/:project/merge_requests/:iid/notes")
def create_note(call: Call) -> Answer:
    call.require("body")
    note = call.state.add_note(_noteable(call), call.not_blank("body", "note"), author=call.user.username)
    return Created(entity.note(call.base, call.project, note))


@routes.add("GET", "projects/:project/issues/:iid/notes/:note")
@routes.add("GET", "projects/:project/merge_requests/:iid/notes/:note")
@routes.add("PUT", "projects/:project/issues/:iid/notes/:note")
@routes.add("PUT", "projects/:project/merge_requests/:iid/notes/:note")
def get_or_update_note(call: Call) -> Answer:
    note = next((n for n in _noteable(call).notes if n.id == call.number("note")), None)
    if note is None:
        raise not_found("Note")
    if call.request.method == "PUT":
        call.require("body")
        note.body, note.updated_at = call.not_blank("body", "note"), now()
    return entity.note(call.base, call.project, note)


@routes.add("GET", "projects/:project/labels")
def list_labels(call: Call) -> Answer:
    project = call.project
    return Listing(
        [entity.label(project, label) for label in sorted(project.labels.values(), key=lambda x: x.name)]
    )


@routes.add("POST", "projects/:project/labels")
def create_label(call: Call) -> Answer:
    call.require("name", "color")
    project, name = call.project, str(call.text("name"))
    if name in project.labels:
        raise ApiError(409, {"message": "Label already exists"})
    label = call.state.label(project, name, str(call.text("color")), call.text("description", "") or "")
    return Created(entity.label(project, label))
