"""A fake Gitea (or Forgejo) REST API v1 with state, on 127.0.0.1, for Tamma's httpx adapter.

Stateful like the fake GitLab, for the same reason: a platform scenario is a conversation about
objects (a branch, a pull request on it, its commit statuses, the merge). Scripted replies come
first: `enqueue(error_reply(...))` or `enqueue(Disconnect())` answers the next request verbatim,
then the state answers again.

What the wire carries, as Gitea sends it:

- Auth: `Authorization: token <t>` (or `Bearer <t>`). No or an unknown token: `401`. A write
  whose token lacks the scope (`write:issue` for issues, comments and labels, `write:repository`
  for branches and pull requests): `403`, naming the scope.
- Paging: `page` (from 1) and `limit` (default 30, at most 50: Gitea's DEFAULT_PAGING_NUM and
  MAX_RESPONSE_ITEMS), with `X-Total-Count` and `Link` (next, last, first, prev).
- Rate limits: Gitea has none of its own; `throttle(n)` plays the proxy in front of it, answering
  the next n requests `429 Too Many Requests` with `Retry-After` (whole seconds).
- Forks: `fork(repo, owner)` makes `owner/<name>` with `parent` set; `open_pull(..., head_repo=fork)`
  is a contributor's pull request from it, its head branch named as the contributor likes.

The REST rules (which status for what) are in `_gitea_api` and `_gitea_api_ci`; the JSON shapes
in `_gitea_json`.
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from typing import Any
from urllib.parse import parse_qsl, urlencode

from tests.fakes import _gitea_api, _gitea_api_ci
from tests.fakes._gitea_api import ApiError, Call, Created, Listing, Text
from tests.fakes._gitea_api_ci import find_job, sync_job_status
from tests.fakes._gitea_state import Comment, GiteaState, Issue, Job, Pull, Repo, Run
from tests.fakes._server import FakeServer, JsonReply, RecordedRequest, ScriptEntry, TextReply, WireReply

__all__ = ["TOKEN", "FakeGitea", "GiteaState", "Issue", "Job", "Repo"]

TOKEN = "gitea-fake-0123456789abcdef0123456789abcdef"
"""The token every fresh fake accepts, as user `root`, with every scope."""
ALL_SCOPES = frozenset({"write:issue", "write:repository"})
DEFAULT_LIMIT, MAX_LIMIT = 30, 50


class FakeGitea(FakeServer):
    """Gitea API v1 under `{url}/api/v1`, answering from a `GiteaState`; see the module docstring.

    Seed and inspect state with the methods below (they take the server lock); the records they
    return are live: read them after the client call returns.
    """

    def __init__(self) -> None:
        super().__init__()
        self._routes = _gitea_api.routes + _gitea_api_ci.routes
        self._clear()

    def _clear(self) -> None:
        self.state = GiteaState()
        self._tokens: dict[str, tuple[str, frozenset[str]]] = {TOKEN: ("root", ALL_SCOPES)}
        self._throttled, self._retry_after = 0, 0

    def reset(self) -> None:
        """Forget script and log (see `FakeServer.reset`), and all state, tokens and throttling."""
        super().reset()
        with self._lock:
            self._clear()

    @property
    def api_url(self) -> str:
        return f"{self.url}/api/v1"

    # -- seeding and reading state -------------------------------------------------------------

    def add_token(self, token: str, *, scopes: Iterable[str] = ALL_SCOPES, login: str = "root") -> None:
        with self._lock:
            self.state.user(login)
            self._tokens[token] = (login, frozenset(scopes))

    def add_user(self, login: str) -> None:
        with self._lock:
            self.state.user(login)

    def create_repo(
        self, full_name: str, *, default_branch: str = "main", clone_url: str | None = None
    ) -> Repo:
        """`owner/name` with one commit on its default branch; `clone_url` points `git clone` at a
        real git server."""
        with self._lock:
            repo = self.state.add_repo(full_name, default_branch=default_branch)
            repo.clone_url = clone_url
            return repo

    def fork(self, full_name: str, owner: str) -> Repo:
        with self._lock:
            parent = self._repo(full_name)
            return self.state.add_repo(
                f"{owner}/{parent.name}", default_branch=parent.default_branch, parent=parent
            )

    def repo(self, full_name: str) -> Repo:
        with self._lock:
            return self._repo(full_name)

    def _repo(self, full_name: str) -> Repo:
        found = self.state.repo(full_name)
        if found is None:
            raise KeyError(f"FakeGitea has no repository {full_name!r}")
        return found

    def create_issue(self, full_name: str, title: str, body: str = "", **fields: Any) -> int:
        """An issue; `fields`: labels, author, state. Its number."""
        with self._lock:
            return self.state.add_issue(self._repo(full_name), title, body=body, **fields).number

    def add_comment(self, full_name: str, number: int, body: str, *, author: str = "root") -> Comment:
        with self._lock:
            return self.state.add_comment(self._repo(full_name).issues[number], body, author=author)

    def push(self, full_name: str, branch: str, title: str = "Work in progress") -> str:
        """A new commit on `branch` (created if missing), as a `git push` would; its sha."""
        with self._lock:
            return self.state.push(self._repo(full_name), branch, title)

    def adopt_git_refs(self, full_name: str, refs: dict[str, tuple[str, tuple[str, ...], str]]) -> None:
        """Branches where a real git repository has them: `refs` maps names to (sha, parents, title)."""
        with self._lock:
            self._repo(full_name).branches.update({branch: sha for branch, (sha, _, _) in refs.items()})

    def branch_sha(self, full_name: str, branch: str) -> str | None:
        with self._lock:
            return self._repo(full_name).branches.get(branch)

    def open_pull(
        self,
        full_name: str,
        *,
        head: str,
        base: str = "main",
        title: str = "Change",
        head_repo: Repo | None = None,
    ) -> Issue:
        """A pull request from `head` of `head_repo` (this repository by default, or a fork)."""
        with self._lock:
            repo = self._repo(full_name)
            source = head_repo or repo
            if head not in source.branches:
                self.state.push(source, head, title)
            return self.state.add_issue(repo, title, author=source.owner.login, pull=Pull(source, head, base))

    def add_status(self, full_name: str, sha: str, context: str, status: str, target_url: str = "") -> None:
        """A commit status as external CI (Woodpecker, Drone, ...) posts it."""
        with self._lock:
            self.state.add_status(self._repo(full_name), sha, context, status, target_url)

    def add_actions_job(
        self, full_name: str, sha: str, name: str, *, workflow: str = "ci", branch: str = ""
    ) -> Job:
        """A Gitea Actions job for `sha`, in progress, in a new run; its commit status follows it."""
        with self._lock:
            repo = self._repo(full_name)
            run = Run(self.state.next_id(), len(repo.runs) + 1, workflow, sha, branch or repo.default_branch)
            job = Job(self.state.next_id(), len(run.jobs), name, status="in_progress")
            run.jobs.append(job)
            repo.runs.append(run)
            sync_job_status(self.url, repo, run, job, self.state)
            return job

    def finish_job(self, full_name: str, job: Job, *, conclusion: str, log: str = "") -> None:
        """Complete `job` (success, failure, cancelled, skipped) with its log."""
        with self._lock:
            repo = self._repo(full_name)
            found = find_job(repo, str(job.id))
            if found is None:
                raise KeyError(f"FakeGitea has no job {job.id} in {full_name}")
            job.status, job.conclusion, job.log = "completed", conclusion, log
            sync_job_status(self.url, repo, found[0], job, self.state)

    def set_conflicts(self, full_name: str, number: int) -> None:
        with self._lock:
            pull = self._repo(full_name).issues[number].pull
            assert pull is not None
            pull.has_conflicts = True

    def throttle(self, times: int = 1, *, retry_after: int = 0) -> None:
        """Answer the next `times` requests 429 with `Retry-After: retry_after`, as a proxy would."""
        with self._lock:
            self._throttled, self._retry_after = times, retry_after

    # -- serving ---------------------------------------------------------------------------------

    def _serves(self, request: RecordedRequest) -> bool:
        return True  # every path reaches the script, then the state (which 404s unknown routes)

    def _fallback(self, request: RecordedRequest) -> ScriptEntry | None:
        return self.default_reply if self.default_reply is not None else self._serve

    def _error(self, status: int, message: str) -> JsonReply:
        return JsonReply({"message": message, "url": f"{self.url}/api/swagger"}, status=status)

    def _serve(self, request: RecordedRequest) -> WireReply:
        """Answer from state; runs under the server lock, so each request sees one consistent state."""
        if self._throttled > 0:
            self._throttled -= 1
            return TextReply(
                "Too Many Requests\n", status=429, headers={"Retry-After": str(self._retry_after)}
            )
        try:
            login, scopes = self._authenticate(request)
            found = self._routes.find(request.method, request.path)
            if found is None:
                raise ApiError(404, "Not Found")
            route, params = found
            if route.scope is not None and route.scope not in scopes:
                raise ApiError(403, f"token does not have at least one of required scope(s): [{route.scope}]")
            answer = route.handler(Call(request, params, self.state.user(login), self.url, self.state))
        except ApiError as error:
            return self._error(error.status, error.message)
        if isinstance(answer, Listing):
            return self._page(request, answer.items)
        if isinstance(answer, Text):
            return TextReply(answer.text, status=answer.status)
        if isinstance(answer, Created):
            return JsonReply(answer.body, status=answer.status)
        return JsonReply(answer)

    def _authenticate(self, request: RecordedRequest) -> tuple[str, frozenset[str]]:
        scheme, _, token = request.headers.get("authorization", "").partition(" ")
        if scheme.lower() not in ("token", "bearer") or token.strip() not in self._tokens:
            raise ApiError(401, "token is required")
        return self._tokens[token.strip()]

    def _page(self, request: RecordedRequest, items: list[Any]) -> JsonReply:
        """One page of `items`, with Gitea's `X-Total-Count` and `Link` headers."""
        query = dict(parse_qsl(request.query, keep_blank_values=True))
        try:
            limit = min(MAX_LIMIT, max(1, int(query.get("limit") or DEFAULT_LIMIT)))
            page = max(1, int(query.get("page") or 1))
        except ValueError:
            return self._error(422, "page and limit must be numbers")
        last = max(1, math.ceil(len(items) / limit))

        def link(number: int, rel: str) -> str:
            return f'<{self.url}{request.path}?{urlencode({**query, "page": number, "limit": limit})}>; rel="{rel}"'

        links = [link(page + 1, "next"), link(last, "last")] if page < last else []
        links += [link(1, "first"), link(page - 1, "prev")] if page > 1 else []
        headers = {"X-Total-Count": str(len(items))} | ({"Link": ",".join(links)} if links else {})
        return JsonReply(items[(page - 1) * limit : page * limit], headers=headers)
