"""The fake GitLab's memory: users, projects and what they hold, with the builders tests seed it by.

Why plain mutable records: the fake's REST handlers and a test's set-up both change one state, so
a scenario can mix the two (a test sets a pipeline to failed, the client reads it through the
API, the client merges, the test reads the target branch). The records hold only what GitLab
itself would store; how API v4 presents them lives in `_gitlab_json`, the REST rules in
`_gitlab_api`.

Commits are opaque: a sha (40 hex digits) and a title. Branches are names pointing at a sha; a
"push" is `commit(project, branch, title)`, which moves the branch to a new sha.

Pipeline status: while `Pipeline.pinned_status` is None it is derived from the jobs the way GitLab
composes it (running while any job runs, failed once all are done and a job that may not fail
failed, ...); `set_pipeline(..., status=...)` pins it.
"""

from __future__ import annotations

import hashlib
import itertools
import re
from dataclasses import dataclass, field
from datetime import UTC, datetime

JOB_STATUSES = frozenset(
    {"created", "pending", "running", "success", "failed", "canceled", "skipped", "manual", "scheduled"}
)
"""The job and pipeline statuses the v4 API reports (GitLab also has waiting_for_resource, preparing)."""

FINISHED = frozenset({"success", "failed", "canceled", "skipped"})
DRAFT_TITLE = re.compile(r"^\s*(\[draft\]|\(draft\)|draft:)", re.IGNORECASE)
"""GitLab marks a merge request as draft by its title prefix; the API has no `draft` parameter."""
LEGACY_DRAFT_TITLE = re.compile(r"^\s*(\[draft\]|\(draft\)|draft:|draft\s-\s|\[wip\]|wip:)", re.IGNORECASE)
"""The prefixes GitLab 13.x read as draft: `WIP:`, `[WIP]` and `Draft - ` too (14.0 dropped them)."""


def now() -> str:
    """A timestamp as the API prints it: ISO 8601 in UTC with milliseconds."""
    return datetime.now(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


@dataclass
class User:
    id: int
    username: str
    name: str


@dataclass
class Commit:
    sha: str
    title: str
    parent_ids: list[str]
    created_at: str


@dataclass
class Label:
    id: int
    name: str
    color: str = "#428BCA"
    description: str = ""


@dataclass
class Note:
    id: int
    body: str
    author: User
    noteable_type: str  # "Issue" or "MergeRequest"
    noteable_id: int
    noteable_iid: int
    created_at: str = field(default_factory=now)
    updated_at: str = field(default_factory=now)


@dataclass
class Issue:
    id: int
    iid: int
    title: str
    author: User
    description: str = ""
    state: str = "opened"  # opened | closed
    labels: list[str] = field(default_factory=list)
    assignees: list[User] = field(default_factory=list)
    notes: list[Note] = field(default_factory=list)
    created_at: str = field(default_factory=now)
    updated_at: str = field(default_factory=now)
    closed_at: str | None = None


@dataclass
class MergeRequest:
    id: int
    iid: int
    title: str
    source_branch: str
    target_branch: str
    author: User
    sha: str
    source_project_id: int
    """The project the source branch lives in: the target project, or a fork of it."""
    description: str = ""
    state: str = "opened"  # opened | closed | merged | locked
    labels: list[str] = field(default_factory=list)
    assignees: list[User] = field(default_factory=list)
    notes: list[Note] = field(default_factory=list)
    has_conflicts: bool = False
    squash: bool = False
    remove_source_branch: bool = False
    merge_when_pipeline_succeeds: bool = False
    merge_commit_sha: str | None = None
    squash_commit_sha: str | None = None
    created_at: str = field(default_factory=now)
    updated_at: str = field(default_factory=now)
    merged_at: str | None = None
    closed_at: str | None = None
    draft_title: re.Pattern[str] = field(default=DRAFT_TITLE, repr=False)
    """The instance's draft prefixes (see `GitLabState.draft_title`)."""

    @property
    def draft(self) -> bool:
        return bool(self.draft_title.match(self.title))

    @property
    def pipeline_ref(self) -> str:
        """The ref a merge request pipeline runs on (`merge_request_event` pipelines)."""
        return f"refs/merge-requests/{self.iid}/head"


@dataclass
class Job:
    id: int
    name: str
    stage: str
    status: str
    pipeline_id: int
    trace: str = ""
    allow_failure: bool = False
    created_at: str = field(default_factory=now)
    started_at: str | None = None
    finished_at: str | None = None


@dataclass
class Pipeline:
    id: int
    iid: int
    ref: str
    sha: str
    source: str = "push"
    jobs: list[Job] = field(default_factory=list)
    pinned_status: str | None = None
    created_at: str = field(default_factory=now)
    updated_at: str = field(default_factory=now)

    @property
    def status(self) -> str:
        return self.pinned_status or composite_status(self.jobs)


@dataclass
class CommitStatus:
    id: int
    sha: str
    ref: str
    name: str
    status: str
    target_url: str | None = None
    description: str | None = None
    created_at: str = field(default_factory=now)


@dataclass
class Project:
    id: int
    path_with_namespace: str
    default_branch: str
    commits: dict[str, Commit] = field(default_factory=dict)
    branches: dict[str, str] = field(default_factory=dict)  # name -> sha
    labels: dict[str, Label] = field(default_factory=dict)
    issues: dict[int, Issue] = field(default_factory=dict)
    merge_requests: dict[int, MergeRequest] = field(default_factory=dict)
    pipelines: dict[int, Pipeline] = field(default_factory=dict)
    statuses: list[CommitStatus] = field(default_factory=list)
    clone_url: str | None = None
    """Where `http_url_to_repo` points: a real git server in tests that clone and push."""
    only_allow_merge_if_pipeline_succeeds: bool = False

    @property
    def name(self) -> str:
        return self.path_with_namespace.rsplit("/", 1)[-1]

    def resolve(self, ref: str) -> str | None:
        """The sha a branch name or a (possibly short) known sha stands for."""
        if ref in self.branches:
            return self.branches[ref]
        return next((sha for sha in self.commits if sha.startswith(ref) and len(ref) >= 7), None)

    def pipelines_of(self, merge_request: MergeRequest) -> list[Pipeline]:
        """Merge request pipelines and, unless it comes from a fork, pipelines of the source branch;
        newest first."""
        refs = {merge_request.pipeline_ref}
        if merge_request.source_project_id == self.id:
            refs.add(merge_request.source_branch)
        return sorted((p for p in self.pipelines.values() if p.ref in refs), key=lambda p: -p.id)

    def head_pipeline(self, merge_request: MergeRequest) -> Pipeline | None:
        """The newest pipeline for the merge request's head commit, as `head_pipeline` shows it."""
        return next((p for p in self.pipelines_of(merge_request) if p.sha == merge_request.sha), None)


def composite_status(jobs: list[Job]) -> str:
    """A pipeline's status from its jobs; a failure a job is allowed counts as success."""
    statuses = [
        "success" if job.allow_failure and job.status in ("failed", "canceled") else job.status
        for job in jobs
    ]
    if not statuses or all(s == "created" for s in statuses):
        return "created"
    if "running" in statuses or ({"pending", "created"} & set(statuses) and FINISHED & set(statuses)):
        return "running"
    if "pending" in statuses or "created" in statuses:
        return "pending"
    for status in ("failed", "canceled", "manual", "scheduled"):
        if status in statuses:
            return status
    return "skipped" if all(s == "skipped" for s in statuses) else "success"


class GitLabState:
    """Every user and project of one fake GitLab, with the builders a test seeds them by.

    Not locked itself: the server runs each request's handler under its own lock, and its
    test-side methods take that lock around these builders.
    """

    def __init__(self) -> None:
        self._ids = itertools.count(1)
        self.users: dict[str, User] = {}
        self.projects: dict[int, Project] = {}
        self.merge_conflict_status = 422
        """What merging a merge request with conflicts answers: 422 on current GitLab, 406 on older releases."""
        self.draft_title = DRAFT_TITLE
        """What titles mark a draft: `LEGACY_DRAFT_TITLE` on releases before 14.0."""
        self.root = self.add_user("root", "Administrator")

    def next_id(self) -> int:
        return next(self._ids)

    def add_user(self, username: str, name: str | None = None) -> User:
        if username not in self.users:
            self.users[username] = User(self.next_id(), username, name or username.title())
        return self.users[username]

    def user_by_id(self, user_id: int) -> User | None:
        return next((user for user in self.users.values() if user.id == user_id), None)

    def project(self, ref: str | int) -> Project | None:
        """A project by numeric id or by full path (`group/sub/project`, case-insensitive)."""
        if isinstance(ref, int) or ref.isdigit():
            return self.projects.get(int(ref))
        return next((p for p in self.projects.values() if p.path_with_namespace.lower() == ref.lower()), None)

    def add_project(self, path: str, *, default_branch: str = "main") -> Project:
        project = Project(self.next_id(), path.strip("/"), default_branch)
        self.projects[project.id] = project
        self.commit(project, default_branch, "Initial commit")
        return project

    def commit(self, project: Project, branch: str, title: str) -> str:
        """Push one new commit onto `branch` (created if missing); returns its sha."""
        parent = project.branches.get(branch)
        seed = f"{project.id}:{branch}:{len(project.commits)}:{title}:{parent}"
        sha = hashlib.sha1(seed.encode()).hexdigest()
        project.commits[sha] = Commit(sha, title, [parent] if parent else [], now())
        self.move_branch(project, branch, sha)
        return sha

    def move_branch(self, project: Project, branch: str, sha: str) -> None:
        """Point `branch` at `sha`; open merge requests from it, in this project or its upstream, follow."""
        project.branches[branch] = sha
        for target in self.projects.values():
            for merge_request in target.merge_requests.values():
                source = (merge_request.source_project_id, merge_request.source_branch)
                if merge_request.state == "opened" and source == (project.id, branch):
                    merge_request.sha = sha

    def source_of(self, merge_request: MergeRequest) -> Project:
        """The project a merge request's source branch lives in (a fork's, for a fork's request)."""
        return self.projects[merge_request.source_project_id]

    def label(self, project: Project, name: str, color: str = "#428BCA", description: str = "") -> Label:
        """The project's label `name`, created when missing (GitLab creates labels issues name)."""
        if name not in project.labels:
            project.labels[name] = Label(self.next_id(), name, color, description)
        return project.labels[name]

    def add_issue(
        self,
        project: Project,
        title: str,
        *,
        description: str = "",
        labels: tuple[str, ...] | list[str] = (),
        assignees: tuple[str, ...] | list[str] = (),
        author: str = "root",
        state: str = "opened",
    ) -> Issue:
        iid = max(project.issues, default=0) + 1
        for name in labels:
            self.label(project, name)
        issue = Issue(
            self.next_id(),
            iid,
            title,
            self.add_user(author),
            description=description,
            state=state,
            labels=list(dict.fromkeys(labels)),
            assignees=[self.add_user(name) for name in assignees],
            closed_at=now() if state == "closed" else None,
        )
        project.issues[iid] = issue
        return issue

    def add_note(self, noteable: Issue | MergeRequest, body: str, *, author: str = "root") -> Note:
        kind = "Issue" if isinstance(noteable, Issue) else "MergeRequest"
        note = Note(self.next_id(), body, self.add_user(author), kind, noteable.id, noteable.iid)
        noteable.notes.append(note)
        noteable.updated_at = now()
        return note

    def add_merge_request(
        self,
        project: Project,
        *,
        title: str,
        source_branch: str,
        target_branch: str,
        description: str = "",
        author: str = "root",
        source: Project | None = None,
    ) -> MergeRequest:
        """A merge request into `project`, from its own branch or, with `source`, from a fork's."""
        origin = source or project
        iid = max(project.merge_requests, default=0) + 1
        sha = origin.branches.get(source_branch) or self.commit(origin, source_branch, title)
        merge_request = MergeRequest(
            self.next_id(),
            iid,
            title,
            source_branch,
            target_branch,
            self.add_user(author),
            sha,
            origin.id,
            description,
            draft_title=self.draft_title,
        )
        project.merge_requests[iid] = merge_request
        return merge_request

    def add_pipeline(
        self,
        project: Project,
        *,
        ref: str,
        sha: str | None = None,
        status: str | None = None,
        source: str = "push",
    ) -> Pipeline:
        resolved = sha or project.resolve(ref)
        if resolved is None:
            raise KeyError(f"{project.path_with_namespace} has no ref {ref!r} to run a pipeline on")
        pipeline = Pipeline(
            self.next_id(), len(project.pipelines) + 1, ref, resolved, source, pinned_status=status
        )
        project.pipelines[pipeline.id] = pipeline
        return pipeline

    def add_job(
        self,
        pipeline: Pipeline,
        name: str,
        *,
        stage: str = "test",
        status: str = "created",
        trace: str = "",
        allow_failure: bool = False,
    ) -> Job:
        job = Job(self.next_id(), name, stage, "created", pipeline.id, trace, allow_failure)
        pipeline.jobs.append(job)
        set_job_status(job, status)
        return job

    def find_job(self, job_id: int) -> tuple[Project, Pipeline, Job] | None:
        for project in self.projects.values():
            for pipeline in project.pipelines.values():
                for job in pipeline.jobs:
                    if job.id == job_id:
                        return project, pipeline, job
        return None

    def find_pipeline(self, pipeline_id: int) -> tuple[Project, Pipeline] | None:
        for project in self.projects.values():
            if pipeline_id in project.pipelines:
                return project, project.pipelines[pipeline_id]
        return None


def set_job_status(job: Job, status: str) -> None:
    """Move a job to `status`, stamping started_at/finished_at as a runner would."""
    if status not in JOB_STATUSES:
        raise ValueError(f"unknown job status {status!r}; GitLab's are {sorted(JOB_STATUSES)}")
    job.status = status
    if status in ("running", *FINISHED) and job.started_at is None and status != "skipped":
        job.started_at = now()
    job.finished_at = now() if status in FINISHED else None
