"""A fake Bitbucket Cloud REST API 2.0 with state, on 127.0.0.1, for Tamma's httpx adapter.

Stateful like the fake Gitea; scripted replies (`enqueue(...)`) answer first, then the state.

What the wire carries, as Bitbucket sends it:

- Auth: `Authorization: Bearer <access token>` or HTTP Basic with a username and app password.
  Neither: `401`.
- Paging: `values`, `page`, `pagelen` (default 10, at most 100), `size` and a full `next` URL.
- Rate limits: `throttle(n)` answers the next n requests `429` (Bitbucket sends no `Retry-After`
  unless `retry_after` is given).
- Forks: `fork(repo, workspace)`; `open_pull(..., source=fork)` is a contributor's pull request,
  its branch named as the contributor likes.
- Pipelines: `add_pipeline(repo, sha, step)` runs one step and posts the build status Pipelines
  posts (`Pipeline #n for <branch>`, pointing at `/pipelines/results/n`); `finish_pipeline` ends it.
- Git: `create_repo(..., clone_url=...)` points clones at a real git server (see
  `tests.agent.git_http_server`); `adopt_git_refs` copies its branches in after a push.

The REST rules are in `_bitbucket_api`; records and JSON shapes in `_bitbucket_state`.
"""

from __future__ import annotations

import base64
from typing import Any
from urllib.parse import parse_qsl, urlencode

from tests.fakes import _bitbucket_api as api
from tests.fakes import _bitbucket_state as entity
from tests.fakes._bitbucket_state import (
    BitbucketState,
    Issue,
    Pipeline,
    Pull,
    Repo,
    Status,
    Step,
    braced_uuid,
)
from tests.fakes._server import FakeServer, JsonReply, RecordedRequest, ScriptEntry, TextReply, WireReply

__all__ = ["APP_PASSWORD", "TOKEN", "USERNAME", "BitbucketState", "FakeBitbucket", "Pipeline", "Repo"]

TOKEN = "ATCTT3xFfGN0-bitbucket-fake-0123456789abcdef"
"""The repository access token every fresh fake accepts (acting as user `tamma`)."""
USERNAME, APP_PASSWORD = "tamma", "ATBB-fake-app-password-0123456789"
DEFAULT_PAGELEN, MAX_PAGELEN = 10, 100


class FakeBitbucket(FakeServer):
    """Bitbucket Cloud API 2.0 under `{url}/2.0`; see the module docstring."""

    def __init__(self) -> None:
        super().__init__()
        self._clear()

    def _clear(self) -> None:
        self.state = BitbucketState()
        self._throttled, self._retry_after = 0, None

    def reset(self) -> None:
        super().reset()
        with self._lock:
            self._clear()

    @property
    def api_url(self) -> str:
        return f"{self.url}/2.0"

    # -- seeding and reading state ---------------------------------------------------------------

    def create_repo(self, full_name: str, *, mainbranch: str = "main", clone_url: str | None = None) -> Repo:
        with self._lock:
            repo = self.state.add_repo(full_name, mainbranch=mainbranch)
            repo.clone_url = clone_url
            return repo

    def fork(self, full_name: str, workspace: str) -> Repo:
        with self._lock:
            parent = self._repo(full_name)
            return self.state.add_repo(
                f"{workspace}/{parent.slug}", mainbranch=parent.mainbranch, parent=parent
            )

    def _repo(self, full_name: str) -> Repo:
        found = self.state.repo(full_name)
        if found is None:
            raise KeyError(f"FakeBitbucket has no repository {full_name!r}")
        return found

    def create_issue(self, full_name: str, title: str, content: str = "", **fields: Any) -> int:
        """An issue; `fields`: state, component, reporter. Its id."""
        with self._lock:
            return self.state.add_issue(self._repo(full_name), title, content, **fields).id

    def issue(self, full_name: str, number: int) -> Issue:
        with self._lock:
            return self._repo(full_name).issues[number]

    def push(self, full_name: str, branch: str, title: str = "Work in progress") -> str:
        with self._lock:
            return self.state.push(self._repo(full_name), branch, title)

    def adopt_git_refs(self, full_name: str, refs: dict[str, tuple[str, tuple[str, ...], str]]) -> None:
        """Branches where a real git repository has them: `refs` maps names to (sha, parents, title)."""
        with self._lock:
            repo = self._repo(full_name)
            for branch, (sha, _, _) in refs.items():
                self.state.commit(repo, branch, sha)

    def branch_sha(self, full_name: str, branch: str) -> str | None:
        with self._lock:
            return self._repo(full_name).branches.get(branch)

    def open_pull(
        self, full_name: str, *, branch: str, source: Repo | None = None, title: str = "Change"
    ) -> Pull:
        with self._lock:
            repo = self._repo(full_name)
            origin = source or repo
            if branch not in origin.branches:
                self.state.push(origin, branch, title)
            return self.state.add_pull(repo, origin, branch, repo.mainbranch, title)

    def add_pipeline(self, full_name: str, sha: str, step: str, *, branch: str = "") -> Pipeline:
        """A running Pipelines build of `sha` with one step, and the build status it posts."""
        with self._lock:
            repo = self._repo(full_name)
            number = len(repo.pipelines) + 1
            pipeline = Pipeline(
                braced_uuid(), number, sha, branch or repo.mainbranch, [Step(braced_uuid(), step)]
            )
            repo.pipelines.append(pipeline)
            self._post_pipeline_status(repo, pipeline)
            return pipeline

    def finish_pipeline(self, full_name: str, pipeline: Pipeline, *, passed: bool, log: str = "") -> None:
        with self._lock:
            for step in pipeline.steps:
                step.result, step.log = ("SUCCESSFUL" if passed else "FAILED"), log
            self._post_pipeline_status(self._repo(full_name), pipeline)

    def _post_pipeline_status(self, repo: Repo, pipeline: Pipeline) -> None:
        results = [step.result for step in pipeline.steps]
        state = "INPROGRESS" if not all(results) else ("FAILED" if "FAILED" in results else "SUCCESSFUL")
        url = f"{entity.WEB}/{repo.full_name}/pipelines/results/{pipeline.build_number}"
        name = f"Pipeline #{pipeline.build_number} for {pipeline.branch}"
        repo.statuses.setdefault(pipeline.sha, {})[pipeline.uuid] = Status(pipeline.uuid, name, state, url)

    def throttle(self, times: int = 1, *, retry_after: int | None = None) -> None:
        with self._lock:
            self._throttled, self._retry_after = times, retry_after

    # -- serving ---------------------------------------------------------------------------------

    def _serves(self, request: RecordedRequest) -> bool:
        return True

    def _fallback(self, request: RecordedRequest) -> ScriptEntry | None:
        return self.default_reply if self.default_reply is not None else self._serve

    def _error(self, status: int, message: str, detail: Any = None) -> JsonReply:
        error: dict[str, Any] = {"message": message} | ({"detail": detail} if detail is not None else {})
        return JsonReply({"type": "error", "error": error}, status=status)

    def _serve(self, request: RecordedRequest) -> WireReply:
        if self._throttled > 0:
            self._throttled -= 1
            headers = {"Retry-After": str(self._retry_after)} if self._retry_after is not None else {}
            return TextReply("Rate limit for this resource has been exceeded", status=429, headers=headers)
        try:
            user = self._authenticate(request)
            found = api.find(request.method, request.path)
            if found is None:
                raise api.ApiError(404, "Resource not found")
            handler, params = found
            answer = handler(api.Call(request, params, user, self.api_url, self.state))
        except api.ApiError as error:
            return self._error(error.status, error.message, error.detail)
        if isinstance(answer, api.Listing):
            return self._page(request, answer.items)
        if isinstance(answer, api.Text):
            return TextReply(answer.text, status=answer.status)
        if isinstance(answer, tuple):
            return JsonReply(answer[0], status=answer[1])
        return JsonReply(answer)

    def _authenticate(self, request: RecordedRequest) -> entity.User:
        scheme, _, credentials = request.headers.get("authorization", "").partition(" ")
        if scheme.lower() == "bearer" and credentials.strip() == TOKEN:
            return self.state.user(USERNAME)
        if scheme.lower() == "basic":
            username, _, password = base64.b64decode(credentials).decode().partition(":")
            if (username, password) == (USERNAME, APP_PASSWORD):
                return self.state.user(USERNAME)
        raise api.ApiError(401, "Access token expired or invalid; or no credentials given.")

    def _page(self, request: RecordedRequest, items: list[Any]) -> JsonReply:
        query = dict(parse_qsl(request.query, keep_blank_values=True))
        try:
            pagelen = min(MAX_PAGELEN, max(1, int(query.get("pagelen") or DEFAULT_PAGELEN)))
            page = max(1, int(query.get("page") or 1))
        except ValueError:
            return self._error(400, "page and pagelen must be numbers")
        body: dict[str, Any] = {
            "values": items[(page - 1) * pagelen : page * pagelen],
            "page": page,
            "pagelen": pagelen,
            "size": len(items),
        }
        if page * pagelen < len(items):
            body["next"] = f"https://api.bitbucket.org{request.path}?{urlencode({**query, 'page': page + 1})}"
        return JsonReply(body)
