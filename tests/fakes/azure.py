"""A fake Azure DevOps Services REST API (Repos, Boards, Pipelines logs) on 127.0.0.1.

Stateful like the fake Gitea: a scenario is a conversation about objects (a work item, a branch,
a pull request on it, commit statuses, the completion). Scripted replies come first
(`enqueue(...)`), then the state answers.

What the wire carries, as Azure DevOps sends it:

- Paths: `/{org}/{project}/_apis/...`, matched case-insensitively; `api-version` required.
- Auth: HTTP basic with an empty user and the PAT as password. No `Authorization` at all: `203`
  with an HTML sign-in page (what a browser-less client gets); a wrong PAT: `401`.
- Paging: `x-ms-continuationtoken` on refs and statuses (`page_size` per page), `$top`/`$skip`
  on pull requests, a body `continuationToken` on comments.
- Rate limits: `throttle(n)` answers the next n requests `429` with `Retry-After` and the
  `X-RateLimit-*` headers Azure DevOps sends.
- Forks: `fork(repo, "org/project/name")` and `open_fork_pull(...)` make a pull request into
  the parent whose `sourceRefName` may equal one of ours; it carries `forkSource`.
- CI: `add_build(...)` is an Azure Pipelines run posting a commit status whose `targetUrl` is
  the build's results page; `finish_build(...)` completes it with a log.

Git over HTTP is a real git server in front (`create_repo(clone_url=...)`, `adopt_git_refs`),
as for the fake Gitea.
"""

from __future__ import annotations

import base64
from typing import Any

from tests.fakes import _azure_api
from tests.fakes._azure_api import ApiError, Call
from tests.fakes._azure_state import AzureState, Build, Pull, Repo, WorkItem
from tests.fakes._server import FakeServer, JsonReply, RecordedRequest, ScriptEntry, TextReply, WireReply

__all__ = ["TOKEN", "AzureState", "Build", "FakeAzureDevOps", "Repo", "WorkItem"]

TOKEN = "azdo-fake-pat-0123456789abcdefghijklmnopqrstuvwxyz0123"
SIGN_IN_PAGE = "<html><head><title>Azure DevOps Services | Sign In</title></head><body></body></html>"


class FakeAzureDevOps(FakeServer):
    """Azure DevOps under `{url}/{org}/{project}/_apis`; see the module docstring."""

    def __init__(self) -> None:
        super().__init__()
        self._clear()

    def _clear(self) -> None:
        self.state = AzureState()
        self.tokens = {TOKEN}
        self.page_size = 100
        self._throttled, self._retry_after = 0, 0

    def reset(self) -> None:
        super().reset()
        with self._lock:
            self._clear()

    # -- seeding and reading state -------------------------------------------------------------

    def create_repo(
        self, full_name: str, *, default_branch: str = "main", clone_url: str | None = None
    ) -> Repo:
        """`org/project/repo` with one commit on its default branch; `clone_url` points `git clone`
        at a real git server."""
        with self._lock:
            repo = self.state.add_repo(full_name, default_branch=default_branch)
            repo.clone_url = clone_url
            return repo

    def adopt_git_refs(self, full_name: str, refs: dict[str, tuple[str, tuple[str, ...], str]]) -> None:
        """Branches where a real git repository has them: `refs` maps names to (sha, parents, title)."""
        with self._lock:
            self._repo(full_name).branches.update({branch: sha for branch, (sha, _, _) in refs.items()})

    def fork(self, full_name: str, fork_name: str) -> Repo:
        with self._lock:
            return self.state.add_repo(fork_name, parent=self._repo(full_name))

    def _repo(self, full_name: str) -> Repo:
        found = self.state.repos.get(full_name.lower())
        if found is None:
            raise KeyError(f"FakeAzureDevOps has no repository {full_name!r}")
        return found

    def create_work_item(
        self, project: str, title: str, description: str = "", *, tags: list[str] | None = None, **extra: Any
    ) -> int:
        """A work item in `project`; `extra`: state, author. Its id."""
        if tags is None:
            tags = []
        with self._lock:
            return self.state.add_item(project, title, description, list(tags), **extra).id

    def work_item(self, number: int) -> WorkItem:
        with self._lock:
            return self.state.items[number]

    def push(self, full_name: str, branch: str, title: str = "Work in progress") -> str:
        with self._lock:
            return self.state.push(self._repo(full_name), branch, title)

    def branch_sha(self, full_name: str, branch: str) -> str | None:
        with self._lock:
            return self._repo(full_name).branches.get(branch)

    def open_fork_pull(
        self, full_name: str, fork: Repo, branch: str, *, target: str = "main", title: str = "Fork work"
    ) -> Pull:
        """A contributor's active pull request from `branch` of `fork` into `full_name`."""
        with self._lock:
            repo = self._repo(full_name)
            self.state.push(fork, branch, title)
            pull = Pull(
                self.state.next_id(), repo, fork, branch, target, title, "", created_by="someone@example.com"
            )
            self.state.pulls[pull.id] = pull
            return pull

    def pull(self, number: int) -> Pull:
        with self._lock:
            return self.state.pulls[number]

    def add_build(self, full_name: str, sha: str, name: str) -> Build:
        """An Azure Pipelines run of `sha`, in progress, posting its commit status."""
        with self._lock:
            repo = self._repo(full_name)
            build = Build(self.state.next_id(), sha, name)
            self.state.builds[build.id] = build
            self._post_status(repo, build, "pending")
            return build

    def finish_build(self, full_name: str, build: Build, *, result: str, log: str = "") -> None:
        """Complete `build` (succeeded, failed, canceled) with its job's log."""
        with self._lock:
            build.result, build.log = result, log
            self._post_status(
                self._repo(full_name), build, "succeeded" if result == "succeeded" else "failed"
            )

    def _post_status(self, repo: Repo, build: Build, state: str) -> None:
        self.state.statuses.setdefault(build.sha, []).append(
            {
                "id": self.state.next_id(),
                "state": state,
                "description": f"Build {build.id} {state}",
                "context": {"name": build.name, "genre": "continuous-integration"},
                "targetUrl": f"{self.url}/{repo.org}/{repo.project}/_build/results?buildId={build.id}",
            }
        )

    def add_status(self, sha: str, name: str, state: str, *, genre: str = "", target_url: str = "") -> None:
        """A commit status as any other service posts it."""
        with self._lock:
            status = {
                "id": self.state.next_id(),
                "state": state,
                "context": {"name": name, "genre": genre},
                "targetUrl": target_url,
            }
            self.state.statuses.setdefault(sha, []).append(status)

    def throttle(self, times: int = 1, *, retry_after: int = 0) -> None:
        with self._lock:
            self._throttled, self._retry_after = times, retry_after

    # -- serving ---------------------------------------------------------------------------------

    def _serves(self, request: RecordedRequest) -> bool:
        return True

    def _fallback(self, request: RecordedRequest) -> ScriptEntry | None:
        return self.default_reply if self.default_reply is not None else self._serve

    def _error(self, status: int, message: str, type_key: str = "") -> JsonReply:
        return JsonReply(
            {
                "$id": "1",
                "innerException": None,
                "message": message,
                "typeName": f"Microsoft.VisualStudio.Services.{type_key or 'VssServiceException'}",
                "typeKey": type_key or "VssServiceException",
                "errorCode": 0,
                "eventId": 3000,
            },
            status=status,
        )

    def _serve(self, request: RecordedRequest) -> WireReply:
        if self._throttled > 0:
            self._throttled -= 1
            headers = {
                "Retry-After": str(self._retry_after),
                "X-RateLimit-Resource": "Core",
                "X-RateLimit-Delay": "0.5",
                "X-RateLimit-Limit": "200",
                "X-RateLimit-Remaining": "0",
            }
            return TextReply("Too Many Requests\n", status=429, headers=headers)
        auth = request.headers.get("authorization", "")
        if not auth:
            return TextReply(SIGN_IN_PAGE, status=203, content_type="text/html; charset=utf-8")
        scheme, _, encoded = auth.partition(" ")
        password = base64.b64decode(encoded).decode().partition(":")[2] if scheme.lower() == "basic" else ""
        if password not in self.tokens:
            return TextReply("Access Denied: The Personal Access Token used has expired.", status=401)
        found = _azure_api.find(request.method, request.path)
        if found is None:
            return self._error(
                404,
                f"The controller for path '{request.path}' was not found or does not implement IController.",
                "HttpException",
            )
        handler, params = found
        call = Call(request, params, self.state, self.url)
        if "api-version" not in call.query:
            return self._error(
                400,
                f'No api-version was supplied for the "{request.method}" request.',
                "VssVersionNotSpecifiedException",
            )
        try:
            answer = handler(call)
        except ApiError as error:
            return self._error(error.status, error.message, error.type_key)
        if answer.text is not None:
            return TextReply(answer.text, status=answer.status)
        if answer.items is not None:
            return self._page(call, answer.items)
        return JsonReply(answer.body, status=answer.status)

    def _page(self, call: Call, items: list[Any]) -> JsonReply:
        start = int(call.query.get("continuationToken") or 0)
        size = min(self.page_size, int(call.query.get("$top") or self.page_size))
        page = items[start : start + size]
        headers = {"x-ms-continuationtoken": str(start + size)} if start + size < len(items) else {}
        return JsonReply({"count": len(page), "value": page}, headers=headers)
