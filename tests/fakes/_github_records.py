"""What the fake GitHub stores, as plain mutable records, and the error it answers refusals with.

Why plain mutable records: the REST handlers and a test's set-up change one state, so a scenario
can mix the two (a test pushes a commit and sets CI red, the client reads it through the API and
merges, the test reads where the base branch went). The records hold only what GitHub itself
keeps; the rules live in `_github_state`, the v3 JSON shapes in `_github_json`.

Commits are opaque: a sha, a message and parents. Pull requests are issues with a `PullFields`
part, as on GitHub: they share the number sequence and show up in the issue list.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

STATUS_STATES = frozenset({"error", "failure", "pending", "success"})
CHECK_STATUSES = frozenset({"queued", "in_progress", "completed"})
MERGE_METHODS = ("merge", "squash", "rebase")
CLOSING_KEYWORDS = re.compile(r"\b(?:close[sd]?|fix(?:e[sd])?|resolve[sd]?)\s+#(\d+)\b", re.IGNORECASE)
"""A merged pull request closes the issues its body names this way (into the default branch only)."""


def now() -> datetime:
    return datetime.now(UTC).replace(microsecond=0)


class ApiError(Exception):
    """A refusal as GitHub words it; the server renders it as `{"message", "errors"?, ...}`."""

    def __init__(
        self,
        status: int,
        message: str,
        *,
        errors: list[dict[str, Any]] | None = None,
        headers: dict[str, str] | None = None,
    ) -> None:
        super().__init__(f"{status} {message}")
        self.status = status
        self.message = message
        self.errors = errors
        self.headers = headers or {}


def not_found() -> ApiError:
    return ApiError(404, "Not Found")


def invalid(resource: str, field: str, code: str = "invalid", **extra: Any) -> ApiError:
    """GitHub's 422 "Validation Failed" with one entry in `errors`."""
    return ApiError(
        422, "Validation Failed", errors=[{"resource": resource, "field": field, "code": code, **extra}]
    )


def custom(resource: str, message: str) -> ApiError:
    """A 422 whose reason is a sentence (e.g. "A pull request already exists for o:b.")."""
    return ApiError(
        422, "Validation Failed", errors=[{"resource": resource, "code": "custom", "message": message}]
    )


@dataclass
class Commit:
    sha: str
    message: str
    parents: tuple[str, ...]
    author: str
    date: datetime


@dataclass
class Label:
    id: int
    name: str
    color: str = "ededed"
    description: str | None = None


@dataclass
class Comment:
    id: int
    issue_number: int
    body: str
    author: str
    created_at: datetime
    updated_at: datetime


@dataclass
class PullFields:
    """What makes an issue a pull request. `head_sha` follows the head branch while open; the
    head branch lives in `head_repo` (full name): the base repository or a fork of it."""

    head_ref: str
    base_ref: str
    head_sha: str
    head_repo: str
    draft: bool = False
    mergeable: bool = True
    merged: bool = False
    merged_at: datetime | None = None
    merged_by: str | None = None
    merge_commit_sha: str | None = None


@dataclass
class Issue:
    number: int
    id: int
    title: str
    body: str | None
    author: str
    created_at: datetime
    updated_at: datetime
    state: str = "open"
    state_reason: str | None = None
    closed_at: datetime | None = None
    labels: list[str] = field(default_factory=list)
    assignees: list[str] = field(default_factory=list)
    comments: list[Comment] = field(default_factory=list)
    pull: PullFields | None = None

    def close(self, reason: str | None = "completed") -> None:
        self.state, self.state_reason, self.closed_at = "closed", reason, now()
        self.updated_at = self.closed_at


@dataclass
class Status:
    id: int
    sha: str
    context: str
    state: str
    description: str | None
    target_url: str | None
    creator: str
    created_at: datetime


@dataclass
class CheckRun:
    """A check run; one made by GitHub Actions (`app_slug`) is also a job with the same id and a log."""

    id: int
    head_sha: str
    name: str
    status: str
    conclusion: str | None
    log: str
    details_url: str | None
    app_slug: str
    run_id: int
    started_at: datetime
    completed_at: datetime | None


@dataclass
class Repo:
    id: int
    owner: str
    name: str
    default_branch: str
    private: bool = False
    clone_url: str | None = None
    """None = the fake's own `{server}/{owner}/{name}.git`; a test may point it at a local bare repo."""
    collaborators: set[str] = field(default_factory=set)
    merge_methods: set[str] = field(default_factory=lambda: set(MERGE_METHODS))
    delete_branch_on_merge: bool = False
    required_checks: tuple[str, ...] = ()
    """Contexts or check names that must succeed before a merge (branch protection, simplified)."""
    protected: set[str] = field(default_factory=set)
    """Branches under protection: the API refuses to delete them."""
    fork_of: str | None = None
    created_at: datetime = field(default_factory=now)
    commits: dict[str, Commit] = field(default_factory=dict)
    refs: dict[str, str] = field(default_factory=dict)
    labels: dict[str, Label] = field(default_factory=dict)
    issues: dict[int, Issue] = field(default_factory=dict)
    statuses: list[Status] = field(default_factory=list)
    check_runs: list[CheckRun] = field(default_factory=list)

    @property
    def full_name(self) -> str:
        return f"{self.owner}/{self.name}"

    def branch(self, name: str) -> str | None:
        return self.refs.get(f"refs/heads/{name}")

    @property
    def branches(self) -> dict[str, str]:
        return {
            ref.removeprefix("refs/heads/"): sha
            for ref, sha in self.refs.items()
            if ref.startswith("refs/heads/")
        }
