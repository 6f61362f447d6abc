"""A stateful fake GitHub REST API v3 on 127.0.0.1, for the real PyGithub client.

Why: the GitHub platform adapter must be tested through PyGithub itself (STYLE pattern 7), so its
URL building, lazy completion, `PaginatedList` walking, exception mapping and rate-limit bookkeeping
run as they would against GitHub Enterprise. Point the client at `base_url` (…/api/v3):

    gh = github.Github(base_url=fake.base_url, auth=github.Auth.Token("ghp_test"), retry=None,
                       seconds_between_requests=None, seconds_between_writes=None)

What it serves (`_github_api`, `_github_api_git`): repositories, issues (labels, assignees,
comments; pull requests appear in the issue list, as on GitHub), labels, branches and git refs,
pull requests (create, list by `head=owner:branch`, edit, merge with 405/409/422), commits,
commit statuses and the combined status, check runs, Actions jobs and their logs (a 302 to a
signed URL on this server, or the text itself), `/user` and `/rate_limit`. Errors are GitHub's
`{"message", "documentation_url", "status"}`; an unknown path or resource is a 404.

Every API response carries `X-RateLimit-Limit/Remaining/Reset/Used/Resource`; each request spends
one from a 5000-per-hour quota (`/rate_limit` is free). `rate_limit_primary(n)` and
`rate_limit_secondary(n)` make the next n requests hit the limits the way GitHub does (403 or 429,
remaining 0 and a reset time; or a `Retry-After`), or with `at=` the next n to one path and page;
`set_quota` runs the quota down for real.

Forks: `create_repo(name, fork_of=...)` copies a repository's branches; a pull request into the
parent may take its head from it (`head="owner:branch"`); `delete_repo` then leaves the pull request
with `head.repo: null`, as GitHub does for a deleted fork.

Tokens: any token works as `default_login` with every permission, unless `accept_any_token` is
off (then an unknown one gets 401 "Bad credentials"); `add_token` registers a fine-grained token
whose missing permission yields 403 with `X-Accepted-GitHub-Permissions`.

The FIFO script of `FakeServer` still takes precedence: `enqueue(error_reply(502, ...))` answers
the next request with that reply instead of the model (no rate-limit headers: a proxy said it).
Test-side builders (`create_repo`, `push`, `create_issue`, `set_status`, `add_check_run`, ...)
change the same state the API serves; readers (`repo`, `issue`) return copies.
"""

from __future__ import annotations

import copy
import secrets
import time
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, replace
from typing import Any
from urllib.parse import parse_qs

from tests.fakes import _github_api_git  # noqa: F401  (registers the code-side routes)
from tests.fakes._github_api import Call, match
from tests.fakes._github_json import Wire
from tests.fakes._github_limits import HOURLY_LIMIT, Quota, RateLimits, request_id
from tests.fakes._github_records import (
    CHECK_STATUSES,
    MERGE_METHODS,
    ApiError,
    Commit,
    Issue,
    Repo,
    not_found,
    now,
)
from tests.fakes._github_state import GitHubState
from tests.fakes._server import FakeServer, JsonReply, RecordedRequest, ScriptEntry, TextReply, WireReply

API_PREFIX = "/api/v3"
LOG_BLOBS = "/api/_blobs/job-logs/"
"""Where a job log redirect points: under `/api/` so PyGithub's URL check lets it follow there."""
DEFAULT_LOGIN = "tamma-bot"
DOCS = "https://docs.github.com/rest"
RATE_DOCS = "https://docs.github.com/rest/overview/rate-limits-for-the-rest-api"


@dataclass(frozen=True)
class TokenGrant:
    """Who a token acts as and, for a fine-grained token, what it may do (None = everything)."""

    login: str
    permissions: Mapping[str, str] | None = None

    def allows(self, scope: str, level: str) -> bool:
        if self.permissions is None or scope == "metadata":
            return True
        granted = self.permissions.get(scope)
        return granted == "write" or (granted == "read" and level == "read")


class FakeGitHub(FakeServer):
    """GitHub's REST API v3 on 127.0.0.1 with in-memory state (see the module docstring)."""

    def __init__(self, *, host: str = "127.0.0.1") -> None:
        super().__init__(host=host)
        self._setup()

    def _setup(self) -> None:
        self.state = GitHubState()
        self.tokens: dict[str, TokenGrant] = {}
        self.accept_any_token = True
        self.default_login = DEFAULT_LOGIN
        self.redirect_logs = True
        """False: `.../actions/jobs/{id}/logs` answers 200 with the text instead of a 302."""
        self.limits = RateLimits()
        """The quota and tripped limits; `limits.enabled = False` is a GHES with rate limiting off."""
        self._blobs: dict[str, tuple[str, int]] = {}

    def reset(self) -> None:
        """Forget script and log (see `FakeServer.reset`) and every repository, token and limit."""
        super().reset()
        with self._lock:
            self._setup()

    @property
    def base_url(self) -> str:
        """What `github.Github(base_url=...)` takes: the GitHub Enterprise API root."""
        return f"{self.url}{API_PREFIX}"

    # -- test-side builders -----------------------------------------------------------------------

    def add_token(
        self, token: str, *, login: str | None = None, permissions: Mapping[str, str] | None = None
    ) -> None:
        """Register a token; `permissions` like `{"issues": "read", "contents": "write"}` makes it
        a fine-grained token refused (403) wherever it lacks one."""
        with self._lock:
            self.tokens[token] = TokenGrant(login or self.default_login, permissions)
            self.state.user_id(login or self.default_login)

    def create_repo(
        self,
        full_name: str,
        *,
        default_branch: str = "main",
        private: bool = False,
        clone_url: str | None = None,
        collaborators: Iterable[str] = (),
        merge_methods: Iterable[str] = MERGE_METHODS,
        delete_branch_on_merge: bool = False,
        required_checks: Iterable[str] = (),
        protected: Iterable[str] = (),
        fork_of: str | None = None,
    ) -> str:
        """A repository with one commit on its default branch (a fork: its parent's branches);
        returns that branch's sha. The owner and `default_login` may be assigned; add others with
        `collaborators`. `protected` branches (and the default one, if `required_checks`) cannot
        be deleted."""
        with self._lock:
            repo = self.state.create_repo(
                full_name,
                default_branch=default_branch,
                private=private,
                clone_url=clone_url,
                collaborators={self.default_login, *collaborators},
                merge_methods=set(merge_methods),
                delete_branch_on_merge=delete_branch_on_merge,
                required_checks=tuple(required_checks),
                protected={*protected, *([default_branch] if required_checks else [])},
                fork_of=fork_of,
            )
            return repo.refs[f"refs/heads/{repo.default_branch}"]

    def delete_repo(self, full_name: str) -> None:
        """Gone, as when its owner deletes it; pull requests from it keep their head's ref and sha."""
        with self._lock:
            del self.state.repos[self.state.repo(full_name).full_name.lower()]

    def push(self, full_name: str, branch: str, message: str = "Change", *, author: str | None = None) -> str:
        """A `git push` of one new commit onto `branch` (made from the default branch if new)."""
        with self._lock:
            repo = self.state.repo(full_name)
            return self.state.push(repo, branch, message, author or self.default_login)

    def adopt_git_refs(self, full_name: str, refs: dict[str, tuple[str, tuple[str, ...], str]]) -> None:
        """Make branches point where a real git repository has them: `refs` maps branch names to
        (sha, parent shas, message), as a forge records a `git push` to it."""
        with self._lock:
            repo = self.state.repo(full_name)
            for branch, (sha, parents, message) in refs.items():
                if sha not in repo.commits:
                    repo.commits[sha] = Commit(sha, message, parents, self.default_login, now())
                if repo.branch(branch) != sha:
                    self.state.move_ref(repo, f"refs/heads/{branch}", sha)

    def create_label(
        self, full_name: str, name: str, *, color: str = "ededed", description: str | None = None
    ) -> None:
        with self._lock:
            label = self.state.label(self.state.repo(full_name), name, create=True)
            label.color, label.description = color, description

    def create_issue(
        self,
        full_name: str,
        title: str,
        body: str = "",
        *,
        labels: Iterable[str] = (),
        assignees: Iterable[str] = (),
        author: str = "octocat",
        state: str = "open",
    ) -> int:
        """An issue as a person filed it (unknown labels are created); returns its number."""
        with self._lock:
            repo = self.state.repo(full_name)
            issue = self.state.create_issue(repo, title, body, author)
            self.state.add_labels(repo, issue, list(labels))
            self.state.add_assignees(repo, issue, list(assignees), strict=True)
            if state == "closed":
                issue.close()
            return issue.number

    def add_comment(self, full_name: str, number: int, body: str, *, author: str = "octocat") -> int:
        with self._lock:
            repo = self.state.repo(full_name)
            return self.state.add_comment(repo, self.state.issue(repo, number), body, author).id

    def set_mergeable(self, full_name: str, number: int, mergeable: bool) -> None:
        """False: the pull request conflicts with its base (merge answers 405, state "dirty")."""
        with self._lock:
            repo = self.state.repo(full_name)
            pull = self.state.pull(repo, number).pull
            assert pull is not None
            pull.mergeable = mergeable

    def set_status(
        self,
        full_name: str,
        ref: str,
        state: str,
        *,
        context: str = "ci",
        description: str | None = None,
        target_url: str | None = None,
    ) -> int:
        """A commit status (`ref`: sha or branch) from a CI service; the newest per context counts."""
        with self._lock:
            repo = self.state.repo(full_name)
            sha = self.state.resolve(repo, ref)
            status = self.state.add_status(
                repo,
                sha,
                state=state,
                context=context,
                description=description,
                target_url=target_url,
                creator="ci-bot",
            )
            return status.id

    def add_check_run(
        self,
        full_name: str,
        ref: str,
        name: str,
        *,
        status: str = "completed",
        conclusion: str | None = "success",
        log: str = "",
        details_url: str | None = None,
        app: str = "github-actions",
    ) -> int:
        """A check run on `ref`; a second one with the same name is a re-run and supersedes it.
        Made by GitHub Actions (the default `app`), it is also job `id` with `log` as its log."""
        with self._lock:
            repo = self.state.repo(full_name)
            run = self.state.add_check_run(
                repo,
                self.state.resolve(repo, ref),
                name=name,
                status=status,
                conclusion=None if status != "completed" else conclusion,
                log=log,
                details_url=details_url,
                app_slug=app,
            )
            return run.id

    def update_check_run(
        self,
        full_name: str,
        run_id: int,
        *,
        status: str = "completed",
        conclusion: str | None = "success",
        log: str | None = None,
    ) -> None:
        """Move a run on (queued -> in_progress -> completed), as a runner reports progress."""
        if status not in CHECK_STATUSES:
            raise ValueError(f"a check run is {', '.join(sorted(CHECK_STATUSES))}, not {status!r}")
        with self._lock:
            run = self.state.check_run(self.state.repo(full_name), run_id)
            run.status, run.conclusion = status, conclusion if status == "completed" else None
            run.completed_at = now() if status == "completed" else None
            if log is not None:
                run.log = log

    # -- test-side readers ------------------------------------------------------------------------

    def repo(self, full_name: str) -> Repo:
        """A copy of the repository's whole record (refs, issues, statuses, check runs)."""
        with self._lock:
            return copy.deepcopy(self.state.repo(full_name))

    def issue(self, full_name: str, number: int) -> Issue:
        """A copy of an issue or pull request (`.pull` holds the pull request's own fields)."""
        with self._lock:
            return copy.deepcopy(self.state.issue(self.state.repo(full_name), number))

    def branch_sha(self, full_name: str, branch: str) -> str | None:
        with self._lock:
            return self.state.repo(full_name).branch(branch)

    # -- rate limits ------------------------------------------------------------------------------

    def rate_limit_primary(
        self, requests: int = 1, *, reset_in: float = 60.0, status: int = 403, at: str | None = None
    ) -> None:
        """The next `requests` API requests (to `at`, e.g. `/repos/o/r/issues?page=2`, if given)
        find the hourly quota spent (remaining 0, reset in `reset_in` s); GitHub answers 403 or,
        lately, 429 "API rate limit exceeded ..."."""
        with self._lock:
            self.limits.trip(requests, secondary=False, status=status, seconds=reset_in, at=at)

    def rate_limit_secondary(
        self, requests: int = 1, *, retry_after: float = 60.0, status: int = 403, at: str | None = None
    ) -> None:
        """The next `requests` API requests (to `at`, if given) trip a secondary limit: 403 or 429
        with `Retry-After`."""
        with self._lock:
            self.limits.trip(requests, secondary=True, status=status, seconds=retry_after, at=at)

    def set_quota(self, remaining: int, *, limit: int = HOURLY_LIMIT, reset_in: float = 3600.0) -> None:
        """Run the hourly quota down: after `remaining` more requests each one gets the primary
        limit until `reset_in` seconds have passed."""
        with self._lock:
            self.limits.quota = Quota(limit, limit - remaining, int(time.time() + reset_in))

    # -- serving ----------------------------------------------------------------------------------

    def _serves(self, request: RecordedRequest) -> bool:
        return True  # every path is GitHub's to answer, unknown ones with GitHub's own 404

    def _fallback(self, request: RecordedRequest) -> ScriptEntry | None:
        return self._handle  # rendered inside the server's guard: a bug in the fake becomes a 500

    def _error(self, status: int, message: str) -> JsonReply:
        return _error_reply(ApiError(status, message))

    def _handle(self, request: RecordedRequest) -> WireReply:
        """Runs under the server's lock: authenticate, spend quota, route, authorize, answer."""
        if request.path.startswith(LOG_BLOBS):
            return self._blob(request)
        if not request.path.startswith(f"{API_PREFIX}/"):
            return _error_reply(not_found())
        path = request.path.removeprefix(API_PREFIX)
        limit_headers: dict[str, str] = {}
        try:
            grant = self._authenticate(request)
            if (request.method, path) == ("GET", "/rate_limit"):
                return JsonReply(self.limits.overview(), headers={**_meta_headers(), **self.limits.headers()})
            limit_headers = self.limits.spend(self.state.user_id(grant.login), path, request.query)
            found, args = match(request.method, path)
            if found.permission and not grant.allows(*found.permission):
                scope, level = found.permission
                refusal = "Resource not accessible by personal access token"
                raise ApiError(403, refusal, headers={"x-accepted-github-permissions": f"{scope}={level}"})
            wire = Wire(self.state, self.base_url, self.url)
            reply = found.handler(Call(request, args, grant.login, self.state, wire, self._log_url))
        except ApiError as exc:
            reply = _error_reply(exc)
        return replace(reply, headers={**_meta_headers(), **limit_headers, **reply.headers})

    def _authenticate(self, request: RecordedRequest) -> TokenGrant:
        scheme, _, token = request.headers.get("authorization", "").partition(" ")
        if scheme.lower() not in ("token", "bearer") or not token:
            raise ApiError(401, "Requires authentication")
        if token in self.tokens:
            return self.tokens[token]
        if not self.accept_any_token:
            raise ApiError(401, "Bad credentials")
        return TokenGrant(self.default_login)

    def _log_url(self, repo: Repo, run_id: int) -> str | None:
        """A signed, unauthenticated download URL for one job's log, like GitHub's blob storage."""
        if not self.redirect_logs:
            return None
        signature = secrets.token_urlsafe(12)
        self._blobs[signature] = (repo.full_name, run_id)
        return f"{self.url}{LOG_BLOBS}{run_id}?sig={signature}"

    def _blob(self, request: RecordedRequest) -> WireReply:
        signature = parse_qs(request.query).get("sig", [""])[0]
        if signature not in self._blobs:
            return TextReply("BlobNotFound: the signature is missing, wrong or expired", status=404)
        full_name, run_id = self._blobs[signature]
        return TextReply(self.state.check_run(self.state.repo(full_name), run_id).log)


def _meta_headers() -> dict[str, str]:
    return {
        "x-github-request-id": request_id(),
        "x-github-api-version-selected": "2022-11-28",
        "x-github-media-type": "github.v3; format=json",
    }


def _error_reply(error: ApiError) -> JsonReply:
    """GitHub's error body; rate limits point at their own documentation page."""
    body: dict[str, Any] = {"message": error.message}
    if error.errors:
        body["errors"] = error.errors
    body["documentation_url"] = RATE_DOCS if "rate limit" in error.message else DOCS
    body["status"] = str(error.status)
    return JsonReply(body, status=error.status, headers=error.headers)
