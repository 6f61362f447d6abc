"""A fake GitLab REST API v4 with state, on 127.0.0.1, for the real python-gitlab client.

Why stateful rather than scripted like the model fakes: a platform scenario is a conversation
about objects (create a branch, open a merge request on it, find it again by source branch,
read its pipeline, merge it), so the fake keeps projects, issues, notes, labels, branches,
merge requests (a fork's too: listed by the project it targets, as GitLab lists them), pipelines,
jobs and commit statuses in memory and answers from them. Scripted replies still come first:
`enqueue(error_reply(...))` or `enqueue(Disconnect())` answers the next request verbatim (no
auth, no rate-limit accounting), then the state answers again.

What the wire carries, as gitlab.com sends it (checked against python-gitlab 8.x):

- Auth: `PRIVATE-TOKEN` (what `gitlab.Gitlab(private_token=...)` sends), `Authorization: Bearer`
  or `JOB-TOKEN`. No or unknown token: `401 {"message": "401 Unauthorized"}`, which
  python-gitlab raises as `GitlabAuthenticationError`. A `read_api` token that writes:
  `403 {"error": "insufficient_scope", "error_description": ..., "scope": "api"}`.
- Paging: `page`/`per_page` (default 20, at most 100) and the headers `X-Page`, `X-Per-Page`,
  `X-Next-Page`, `X-Prev-Page`, `X-Total`, `X-Total-Pages` and `Link` (prev/next/first/last).
  python-gitlab's `GitlabList` follows `Link: rel="next"` (`iterator=True`, `get_all=True`).
- Rate limits: every answer carries `RateLimit-Limit`, `-Observed`, `-Remaining`, `-Reset` (epoch
  seconds) and `-ResetTime`. Past the limit, or for the next N requests after `throttle(N)`, the
  answer is `429` with body `Retry later` and `Retry-After` (whole seconds). python-gitlab
  retries a 429 by itself: `http_request(obey_rate_limit=True, max_retries=10)` per call,
  sleeping `int(Retry-After)` seconds, else `RateLimit-Reset - now`, else 0.1 * 2**n; pass
  `obey_rate_limit=False` (or `max_retries=0`) on the call to get the 429 as an error at once
  (`GitlabHttpError`, wrapped by managers as e.g. `GitlabGetError`, `response_code == 429`).
  The Gitlab() constructor has no such switch; `retry_transient_errors` covers 5xx only.

The REST rules (which status for what) are in `_gitlab_api`; the JSON shapes in `_gitlab_json`.
"""

from __future__ import annotations

import math
import time
from collections.abc import Iterable, Mapping
from email.utils import formatdate
from typing import Any
from urllib.parse import parse_qsl, urlencode

from tests.fakes import _gitlab_api, _gitlab_api_repo
from tests.fakes._gitlab_api import ApiError, Call, Created, Listing, Text
from tests.fakes._gitlab_state import (
    DRAFT_TITLE,
    LEGACY_DRAFT_TITLE,
    Commit,
    GitLabState,
    Issue,
    Job,
    MergeRequest,
    Note,
    Pipeline,
    Project,
    User,
    now,
    set_job_status,
)
from tests.fakes._server import FakeServer, JsonReply, RecordedRequest, ScriptEntry, TextReply, WireReply

__all__ = [
    "TOKEN",
    "FakeGitLab",
    "GitLabState",
    "Issue",
    "Job",
    "MergeRequest",
    "Note",
    "Pipeline",
    "Project",
    "User",
]

TOKEN = "glpat-fake-0123456789abcdefghij"
"""The token every fresh fake accepts, with the `api` scope, as user `root`."""

DEFAULT_PER_PAGE, MAX_PER_PAGE = 20, 100
RATE_LIMIT, RATE_WINDOW = 2000, 60
"""GitLab.com's authenticated API limit: 2000 requests a minute."""

ProjectRef = Project | str | int


class FakeGitLab(FakeServer):
    """GitLab API v4 under `{url}/api/v4`, answering from a `GitLabState`; see the module docstring.

    Point python-gitlab at it with `gitlab.Gitlab(url=fake.url, private_token=TOKEN)`. Seed and
    inspect state with the methods below (they take the server lock, so they are safe while a
    client is talking); the returned records are live: read them after the client call returns.
    """

    def __init__(self, *, merge_conflict_status: int = 422, wip_drafts: bool = False) -> None:
        """`wip_drafts=True` answers as GitLab before 14.0, which read `WIP:` and `[WIP]` titles as
        drafts; `merge_conflict_status=406` as older releases answered a conflicting merge."""
        super().__init__()
        self._routes = _gitlab_api.routes + _gitlab_api_repo.routes
        self._merge_conflict_status = merge_conflict_status
        self._draft_title = LEGACY_DRAFT_TITLE if wip_drafts else DRAFT_TITLE
        self._clear()

    def _clear(self) -> None:
        self.state = GitLabState()
        self.state.merge_conflict_status = self._merge_conflict_status
        self.state.draft_title = self._draft_title
        self._tokens: dict[str, tuple[str, frozenset[str]]] = {TOKEN: ("root", frozenset({"api"}))}
        self._limit, self._used, self._window_end = RATE_LIMIT, 0, time.time() + RATE_WINDOW
        self._throttled, self._retry_after = 0, 0

    def reset(self) -> None:
        """Forget script and log (see `FakeServer.reset`), and all state, tokens and limits."""
        super().reset()
        with self._lock:
            self._clear()

    @property
    def api_url(self) -> str:
        """`{url}/api/v4`, the root python-gitlab builds its paths on."""
        return f"{self.url}/api/v4"

    # -- seeding and reading state -------------------------------------------------------------

    def add_token(self, token: str, *, scopes: Iterable[str] = ("api",), username: str = "root") -> None:
        """Accept `token` as `username` with these scopes (`read_api` may only GET)."""
        with self._lock:
            self.state.add_user(username)
            self._tokens[token] = (username, frozenset(scopes))

    def add_user(self, username: str, name: str | None = None) -> User:
        with self._lock:
            return self.state.add_user(username, name)

    def add_project(
        self,
        path: str,
        *,
        default_branch: str = "main",
        only_allow_merge_if_pipeline_succeeds: bool = False,
        clone_url: str | None = None,
    ) -> Project:
        """A project at `group/sub/project` with one commit on its default branch; `clone_url`
        makes `http_url_to_repo` point at a real git server."""
        with self._lock:
            project = self.state.add_project(path, default_branch=default_branch)
            project.only_allow_merge_if_pipeline_succeeds = only_allow_merge_if_pipeline_succeeds
            project.clone_url = clone_url
            return project

    def adopt_git_refs(self, project: ProjectRef, refs: dict[str, tuple[str, tuple[str, ...], str]]) -> None:
        """Make branches point where a real git repository has them: `refs` maps branch names to
        (sha, parent shas, title), as GitLab records a `git push` to it."""
        with self._lock:
            owner = self._project(project)
            for branch, (sha, parents, title) in refs.items():
                owner.commits.setdefault(sha, Commit(sha, title, list(parents), now()))
                if owner.branches.get(branch) != sha:
                    self.state.move_branch(owner, branch, sha)

    def project(self, ref: ProjectRef) -> Project:
        """A project by record, id or path; KeyError when there is none."""
        with self._lock:
            return self._project(ref)

    def _project(self, ref: ProjectRef) -> Project:
        found = ref if isinstance(ref, Project) else self.state.project(ref)
        if found is None:
            raise KeyError(f"FakeGitLab has no project {ref!r}")
        return found

    def add_label(
        self, project: ProjectRef, name: str, *, color: str = "#428BCA", description: str = ""
    ) -> None:
        with self._lock:
            self.state.label(self._project(project), name, color, description)

    def add_issue(self, project: ProjectRef, title: str, **fields: Any) -> Issue:
        """An issue; `fields`: description, labels, assignees (usernames), author, state."""
        with self._lock:
            return self.state.add_issue(self._project(project), title, **fields)

    def add_issues(self, project: ProjectRef, count: int, *, labels: tuple[str, ...] = ()) -> list[Issue]:
        """`count` issues titled `Issue 1`..., for paging scenarios."""
        return [self.add_issue(project, f"Issue {n}", labels=labels) for n in range(1, count + 1)]

    def add_note(
        self, project: ProjectRef, iid: int, body: str, *, author: str = "root", on_mr: bool = False
    ) -> Note:
        """A comment on issue `iid` (or on merge request `iid` with `on_mr=True`)."""
        with self._lock:
            owner = self._project(project)
            noteable = owner.merge_requests[iid] if on_mr else owner.issues[iid]
            return self.state.add_note(noteable, body, author=author)

    def push(self, project: ProjectRef, branch: str, title: str = "Work in progress") -> str:
        """A new commit on `branch` (created if missing), as a `git push` would; its sha."""
        with self._lock:
            return self.state.commit(self._project(project), branch, title)

    def add_merge_request(
        self,
        project: ProjectRef,
        *,
        source_branch: str,
        target_branch: str | None = None,
        title: str = "Change",
        source_project: ProjectRef | None = None,
    ) -> MergeRequest:
        """A merge request into `project`, pushing a commit to `source_branch` first if it does not
        exist; `source_project` makes it a fork's request from that project's branch."""
        with self._lock:
            owner = self._project(project)
            target = target_branch or owner.default_branch
            source = None if source_project is None else self._project(source_project)
            return self.state.add_merge_request(
                owner, title=title, source_branch=source_branch, target_branch=target, source=source
            )

    def set_merge_request(self, project: ProjectRef, iid: int, *, has_conflicts: bool) -> MergeRequest:
        """Mark merge request `iid` as conflicting (merge then answers `merge_conflict_status`)."""
        with self._lock:
            merge_request = self._project(project).merge_requests[iid]
            merge_request.has_conflicts = has_conflicts
            return merge_request

    def add_pipeline(
        self,
        project: ProjectRef,
        *,
        ref: str | None = None,
        sha: str | None = None,
        status: str | None = None,
        merge_request: int | None = None,
        jobs: Mapping[str, str] | None = None,
    ) -> Pipeline:
        """A pipeline on `ref` (default branch by default) at `sha` (the ref's head by default).

        `merge_request=IID` makes a merge request pipeline (`refs/merge-requests/IID/head`, source
        `merge_request_event`, at the MR's sha). `jobs` maps job names to statuses; add jobs with
        logs through `add_job`. `status=None` derives the status from the jobs.
        """
        with self._lock:
            owner = self._project(project)
            if merge_request is not None:
                mr = owner.merge_requests[merge_request]
                pipeline = self.state.add_pipeline(
                    owner, ref=mr.pipeline_ref, sha=sha or mr.sha, status=status, source="merge_request_event"
                )
            else:
                pipeline = self.state.add_pipeline(
                    owner, ref=ref or owner.default_branch, sha=sha, status=status
                )
            for name, job_status in (jobs or {}).items():
                self.state.add_job(pipeline, name, status=job_status)
            return pipeline

    def add_job(self, pipeline: Pipeline, name: str, **fields: Any) -> Job:
        """A job in `pipeline`; `fields`: stage, status, trace (its log), allow_failure."""
        with self._lock:
            return self.state.add_job(pipeline, name, **fields)

    def set_job(self, job: Job | int, *, status: str | None = None, trace: str | None = None) -> Job:
        """Move a job to `status` and/or replace its log; the pipeline status follows."""
        with self._lock:
            found = self.state.find_job(job if isinstance(job, int) else job.id)
            if found is None:
                raise KeyError(f"FakeGitLab has no job {job!r}")
            record = found[2]
            if status is not None:
                set_job_status(record, status)
            if trace is not None:
                record.trace = trace
            found[1].updated_at = record.finished_at or record.created_at
            return record

    def set_pipeline(self, pipeline: Pipeline | int, *, status: str | None) -> Pipeline:
        """Pin a pipeline's status, or with `status=None` let its jobs decide again."""
        with self._lock:
            found = self.state.find_pipeline(pipeline if isinstance(pipeline, int) else pipeline.id)
            if found is None:
                raise KeyError(f"FakeGitLab has no pipeline {pipeline!r}")
            found[1].pinned_status = status
            return found[1]

    # -- rate limits -----------------------------------------------------------------------------

    def throttle(self, times: int = 1, *, retry_after: int = 0) -> None:
        """Answer the next `times` requests with 429, `Retry-After: retry_after` and a matching reset."""
        with self._lock:
            self._throttled, self._retry_after = times, retry_after

    def set_rate_limit(
        self, limit: int, *, remaining: int | None = None, reset_in: float = RATE_WINDOW
    ) -> None:
        """A request budget of `limit` per window, `remaining` of it left, refilled in `reset_in` s."""
        with self._lock:
            self._limit = limit
            self._used = limit - (limit if remaining is None else remaining)
            self._window_end = time.time() + reset_in

    def _rate_headers(self) -> dict[str, str]:
        current = time.time()
        if current >= self._window_end:
            self._used, self._window_end = 0, current + RATE_WINDOW
        self._used += 1
        reset = math.ceil(self._window_end)
        return {
            "RateLimit-Limit": str(self._limit),
            "RateLimit-Observed": str(self._used),
            "RateLimit-Remaining": str(max(0, self._limit - self._used)),
            "RateLimit-Reset": str(reset),
            "RateLimit-ResetTime": formatdate(reset, usegmt=True),
        }

    def _rate_limited(self, headers: dict[str, str]) -> TextReply | None:
        if self._throttled > 0:
            self._throttled -= 1
            wait = self._retry_after
        elif self._used > self._limit:
            wait = max(0, math.ceil(self._window_end - time.time()))
        else:
            return None
        reset = math.ceil(time.time()) + wait
        headers |= {"RateLimit-Remaining": "0", "RateLimit-Reset": str(reset), "Retry-After": str(wait)}
        headers["RateLimit-ResetTime"] = formatdate(reset, usegmt=True)
        return TextReply("Retry later\n", status=429, headers=headers)

    # -- serving ---------------------------------------------------------------------------------

    def _serves(self, request: RecordedRequest) -> bool:
        return True  # every path reaches the script, then the state (which 404s unknown routes)

    def _fallback(self, request: RecordedRequest) -> ScriptEntry | None:
        return self.default_reply if self.default_reply is not None else self._serve

    def _error(self, status: int, message: str) -> JsonReply:
        return JsonReply({"message": message}, status=status)

    def _serve(self, request: RecordedRequest) -> WireReply:
        """Answer from state; runs under the server lock, so each request sees a consistent state."""
        headers = self._rate_headers()
        limited = self._rate_limited(headers)
        if limited is not None:
            return limited
        try:
            user = self._authenticate(request)
            found = self._routes.find(request.method, request.path)
            if found is None:
                raise ApiError(404, {"error": "404 Not Found"})
            handler, params = found
            answer = handler(Call(request, params, user, self.url, self.state))
        except ApiError as error:
            return JsonReply(error.body, status=error.status, headers={**headers, **error.headers})
        if isinstance(answer, Listing):
            return self._page(request, answer.items, headers)
        if isinstance(answer, Text):
            return TextReply(answer.text, status=answer.status, headers=headers)
        if isinstance(answer, Created):
            return JsonReply(answer.body, status=answer.status, headers=headers)
        return JsonReply(answer, headers=headers)

    def _authenticate(self, request: RecordedRequest) -> User:
        bearer = request.headers.get("authorization", "").removeprefix("Bearer ").strip()
        token = request.headers.get("private-token") or request.headers.get("job-token") or bearer
        if token not in self._tokens:
            raise ApiError(401, {"message": "401 Unauthorized"})
        username, scopes = self._tokens[token]
        if request.method not in ("GET", "HEAD") and "api" not in scopes:
            description = "The request requires higher privileges than provided by the access token."
            challenge = (
                f'Bearer realm="", error="insufficient_scope", error_description="{description}", scope="api"'
            )
            body = {"error": "insufficient_scope", "error_description": description, "scope": "api"}
            raise ApiError(403, body, {"WWW-Authenticate": challenge})
        return self.state.users[username]

    def _page(self, request: RecordedRequest, items: list[Any], headers: dict[str, str]) -> JsonReply:
        """One page of `items` with GitLab's offset-pagination headers and `Link` relations."""
        query = dict(parse_qsl(request.query, keep_blank_values=True))
        try:
            per_page = min(MAX_PER_PAGE, max(1, int(query.get("per_page", DEFAULT_PER_PAGE))))
            page = max(1, int(query.get("page", 1)))
        except ValueError:
            return JsonReply({"error": "page is invalid"}, status=400, headers=headers)
        total_pages = max(1, math.ceil(len(items) / per_page))

        def link(number: int, rel: str) -> str:
            params = [(k, v) for k, v in parse_qsl(request.query, keep_blank_values=True) if k != "page"]
            return f'<{self.url}{request.path}?{urlencode([*params, ("page", str(number))])}>; rel="{rel}"'

        links = [link(page - 1, "prev")] if 1 < page <= total_pages else []
        links += [link(page + 1, "next")] if page < total_pages else []
        links += [link(1, "first"), link(total_pages, "last")]
        headers |= {
            "X-Page": str(page),
            "X-Per-Page": str(per_page),
            "X-Total": str(len(items)),
            "X-Total-Pages": str(total_pages),
            "X-Next-Page": str(page + 1) if page < total_pages else "",
            "X-Prev-Page": str(page - 1) if 1 < page <= total_pages else "",
            "Link": ", ".join(links),
        }
        return JsonReply(items[(page - 1) * per_page : page * per_page], headers=headers)
