"""The fake Gitea's memory: users, repositories and what they hold, with the builders tests use.

Why plain mutable records: the REST handlers and a test's set-up change one state, so a scenario
mixes the two (a test fails an Actions job, the client reads the commit status, merges, the test
reads the base branch). Records hold what Gitea stores; how API v1 prints them is `_gitea_json`,
the REST rules `_gitea_api`.

As in Gitea, issues and pull requests share one number sequence per repository, and a pull
request is an issue with a `pull` part. Commits are opaque shas; a "push" moves a branch to a
new one. An Actions job posts the commit status Gitea Actions posts for it
(`<workflow> / <job> (push)`, pointing at the job's page), and keeps it in step.
"""

from __future__ import annotations

import hashlib
import itertools
from dataclasses import dataclass, field
from datetime import UTC, datetime

WIP_PREFIXES = ("WIP:", "[WIP]")
"""Gitea's default WORK_IN_PROGRESS_PREFIXES: a pull request titled so cannot be merged."""
STATUS_ORDER = ("", "skipped", "success", "warning", "pending", "error", "failure")
"""Gitea's combined state is the worst of its statuses, in this order (last is worst)."""


def now() -> str:
    """A timestamp as Gitea prints it: RFC 3339 with the server's offset (UTC here)."""
    return datetime.now(UTC).replace(microsecond=0).isoformat().replace("+00:00", "Z")


def fake_sha(*parts: object) -> str:
    return hashlib.sha1("\0".join(map(str, parts)).encode()).hexdigest()


@dataclass
class User:
    id: int
    login: str
    full_name: str = ""


@dataclass
class Label:
    id: int
    name: str
    color: str = "ededed"


@dataclass
class Comment:
    id: int
    body: str
    user: User
    created_at: str = field(default_factory=now)
    updated_at: str = field(default_factory=now)


@dataclass
class Pull:
    """What makes an issue a pull request: its head (maybe in a fork) and its base branch."""

    head_repo: Repo
    head_branch: str
    base_branch: str
    merged: bool = False
    merged_sha: str | None = None
    merged_head: str | None = None
    merged_at: str | None = None
    has_conflicts: bool = False

    @property
    def head_sha(self) -> str:
        return self.merged_head or self.head_repo.branches.get(self.head_branch, "")


@dataclass
class Issue:
    id: int
    number: int
    title: str
    user: User
    body: str = ""
    state: str = "open"  # open | closed
    labels: list[Label] = field(default_factory=list)
    assignees: list[User] = field(default_factory=list)
    comments: list[Comment] = field(default_factory=list)
    pull: Pull | None = None
    created_at: str = field(default_factory=now)
    updated_at: str = field(default_factory=now)
    closed_at: str | None = None

    @property
    def work_in_progress(self) -> bool:
        return self.title.upper().startswith(WIP_PREFIXES)


@dataclass
class CommitStatus:
    id: int
    sha: str
    context: str
    status: str  # pending | success | error | failure | warning | skipped
    target_url: str = ""
    description: str = ""
    created_at: str = field(default_factory=now)
    updated_at: str = field(default_factory=now)


@dataclass
class Job:
    id: int
    index: int
    name: str
    status: str = "queued"  # queued | in_progress | completed
    conclusion: str | None = None  # success | failure | cancelled | skipped
    log: str = ""
    status_record: CommitStatus | None = field(default=None, repr=False)


@dataclass
class Run:
    id: int
    number: int
    workflow: str
    sha: str
    branch: str
    jobs: list[Job] = field(default_factory=list)
    created_at: str = field(default_factory=now)


@dataclass
class Repo:
    id: int
    owner: User
    name: str
    default_branch: str = "main"
    branches: dict[str, str] = field(default_factory=dict)
    labels: dict[int, Label] = field(default_factory=dict)
    issues: dict[int, Issue] = field(default_factory=dict)
    statuses: list[CommitStatus] = field(default_factory=list)
    runs: list[Run] = field(default_factory=list)
    parent: Repo | None = None
    clone_url: str | None = None
    """Where `git clone` goes when a test serves real git; else a URL under the fake."""

    @property
    def full_name(self) -> str:
        return f"{self.owner.login}/{self.name}"

    def label_named(self, name: str) -> Label | None:
        return next((label for label in self.labels.values() if label.name == name), None)


class GiteaState:
    """Every record, and the id sequences Gitea keeps per table."""

    def __init__(self) -> None:
        self.users: dict[str, User] = {}
        self.repos: dict[str, Repo] = {}
        self.actions_api = True
        """Whether the Actions runs/jobs/logs endpoints exist (Gitea 1.24+; not on Forgejo)."""
        self._ids = itertools.count(1)

    def next_id(self) -> int:
        return next(self._ids)

    def user(self, login: str) -> User:
        """The user `login`, created on first mention (tests rarely care about users)."""
        return self.users.setdefault(login, User(self.next_id(), login))

    def add_repo(self, full_name: str, *, default_branch: str = "main", parent: Repo | None = None) -> Repo:
        owner, name = full_name.split("/")
        repo = Repo(self.next_id(), self.user(owner), name, default_branch, parent=parent)
        repo.branches[default_branch] = (
            parent.branches[parent.default_branch] if parent else fake_sha(full_name)
        )
        self.repos[full_name.lower()] = repo
        return repo

    def repo(self, full_name: str) -> Repo | None:
        return self.repos.get(full_name.lower())

    def push(self, repo: Repo, branch: str, title: str) -> str:
        """A new commit on `branch` (created from the default branch if missing); its sha."""
        parent = repo.branches.get(branch) or repo.branches[repo.default_branch]
        repo.branches[branch] = sha = fake_sha(repo.full_name, branch, parent, title)
        return sha

    def label(self, repo: Repo, name: str, color: str = "ededed") -> Label:
        found = repo.label_named(name)
        if found is None:
            found = Label(self.next_id(), name, color.removeprefix("#"))
            repo.labels[found.id] = found
        return found

    def add_issue(
        self,
        repo: Repo,
        title: str,
        *,
        body: str = "",
        labels: list[str] | tuple[str, ...] = (),
        author: str = "root",
        state: str = "open",
        pull: Pull | None = None,
    ) -> Issue:
        number = max(repo.issues, default=0) + 1
        issue = Issue(self.next_id(), number, title, self.user(author), body, state, pull=pull)
        issue.labels = [self.label(repo, name) for name in labels]
        repo.issues[number] = issue
        return issue

    def add_comment(self, issue: Issue, body: str, *, author: str = "root") -> Comment:
        comment = Comment(self.next_id(), body, self.user(author))
        issue.comments.append(comment)
        issue.updated_at = comment.created_at
        return comment

    def add_status(
        self, repo: Repo, sha: str, context: str, status: str, target_url: str = ""
    ) -> CommitStatus:
        record = CommitStatus(self.next_id(), sha, context, status, target_url)
        repo.statuses.append(record)
        return record

    def merge(self, repo: Repo, issue: Issue, style: str) -> str:
        """Merge pull request `issue` into its base branch the `style` way; the new base head."""
        assert issue.pull is not None
        pull, base = issue.pull, repo.branches[issue.pull.base_branch]
        sha = fake_sha(repo.full_name, style, base, pull.head_sha)
        repo.branches[pull.base_branch] = sha
        pull.merged, pull.merged_sha, pull.merged_head, pull.merged_at = True, sha, pull.head_sha, now()
        issue.state, issue.closed_at = "closed", pull.merged_at
        return sha


def job_commit_status(job: Job) -> str:
    """The commit status Gitea Actions reports for a job in this state."""
    if job.status != "completed":
        return "pending"
    return {"success": "success", "skipped": "skipped", "cancelled": "error"}.get(
        job.conclusion or "", "failure"
    )


def worst(states: list[str]) -> str:
    return max(states, key=STATUS_ORDER.index, default="")
