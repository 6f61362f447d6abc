"""One harness per platform: the platform under test plus the moves the world makes around it.

A contract scenario needs things no `GitPlatform` method does: someone files an issue, a
developer pushes a commit, CI starts and finishes, the server starts throttling. Each harness
makes those moves its own way (fake server state for GitHub, GitLab and Gitea, real git and the
real CI runner for the local platform), so the scenarios in `test_platforms.py` read the same for all.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Protocol

from tamma.git import git
from tamma.platforms import GitPlatform
from tamma.platforms._azure import AzureDevOpsPlatform
from tamma.platforms._bitbucket import BitbucketPlatform, join_labels
from tamma.platforms._gitea import GiteaPlatform
from tamma.platforms._github import GitHubPlatform
from tamma.platforms._gitlab import GitLabPlatform
from tamma.platforms._local import LocalPlatform
from tamma.platforms._ratelimit import RateLimitPolicy
from tests.fakes import azure as fake_azure
from tests.fakes import bitbucket as fake_bitbucket
from tests.fakes import gitea as fake_gitea
from tests.fakes import gitlab as fake_gitlab
from tests.fakes.azure import FakeAzureDevOps
from tests.fakes.bitbucket import FakeBitbucket
from tests.fakes.gitea import FakeGitea
from tests.fakes.github import FakeGitHub
from tests.fakes.gitlab import FakeGitLab, Job
from tests.platforms.local_repo import MISSING, make_local_platform, push_commit, wait_for_ci

FAILURE_LOG = f"collected 3 items\nFAILED tests/test_fix.py::test_fixed - {MISSING}\n"


class Harness(Protocol):
    platform: GitPlatform
    slept: list[float]
    """The rate-limit waits the platform asked for (remote platforms; the local one never waits)."""

    def file_issue(self, title: str, body: str, labels: Sequence[str]) -> int: ...

    def push(self, branch: str, *, passing: bool) -> str:
        """A new commit on `branch`; its CI passes if `passing`. Returns its sha."""
        ...

    def ci_starts(self, sha: str) -> None: ...

    def ci_finishes(self, sha: str) -> None: ...

    def branch_head(self, branch: str) -> str | None: ...


class RemoteHarness(Harness, Protocol):
    def throttle(self, requests: int) -> None:
        """Rate-limit the next `requests` requests, with no `Retry-After` hint."""
        ...


@dataclass
class LocalHarness:
    """Real git pushes; CI is the platform's own runner running a real test command."""

    tmp_path: Path
    platform: LocalPlatform = field(init=False)
    slept: list[float] = field(default_factory=list)

    def __post_init__(self) -> None:
        self.platform = make_local_platform(self.tmp_path)

    def file_issue(self, title: str, body: str, labels: Sequence[str]) -> int:
        return self.platform.create_issue(title, body, labels=labels).ref.number

    def push(self, branch: str, *, passing: bool) -> str:
        files = {"fixed.txt": "yes"} if passing else {"notes.txt": f"work on {branch}"}
        return push_commit(self.platform, self.tmp_path, branch, files)

    def ci_starts(self, sha: str) -> None:
        """Nothing to do: the platform starts its runner when the commit's status is first asked."""

    def ci_finishes(self, sha: str) -> None:
        wait_for_ci(self.platform, sha)

    def branch_head(self, branch: str) -> str | None:
        found = git(
            "rev-parse", "--verify", "--quiet", f"refs/heads/{branch}", cwd=self.platform.remote, check=False
        )
        return found.stdout.strip() or None


@dataclass
class GitHubHarness:
    fake: FakeGitHub
    repo: str = "octo/demo"
    slept: list[float] = field(default_factory=list)
    platform: GitHubPlatform = field(init=False)
    _passing: dict[str, bool] = field(default_factory=dict)
    _runs: dict[str, int] = field(default_factory=dict)

    def __post_init__(self) -> None:
        self.fake.create_repo(self.repo)
        self.platform = GitHubPlatform(
            self.repo,
            token="ghp_" + "C0ntract" * 5,
            base_url=self.fake.base_url,
            rate_limits=RateLimitPolicy(sleep=self.slept.append),
            seconds_between_requests=None,
            seconds_between_writes=None,
        )

    def file_issue(self, title: str, body: str, labels: Sequence[str]) -> int:
        return self.fake.create_issue(self.repo, title, body, labels=labels)

    def push(self, branch: str, *, passing: bool) -> str:
        sha = self.fake.push(self.repo, branch, "passing change" if passing else "failing change")
        self._passing[sha] = passing
        return sha

    def ci_starts(self, sha: str) -> None:
        self._runs[sha] = self.fake.add_check_run(self.repo, sha, "tests", status="in_progress")

    def ci_finishes(self, sha: str) -> None:
        passing = self._passing[sha]
        self.fake.update_check_run(
            self.repo,
            self._runs[sha],
            conclusion="success" if passing else "failure",
            log="3 passed\n" if passing else FAILURE_LOG,
        )

    def branch_head(self, branch: str) -> str | None:
        return self.fake.branch_sha(self.repo, branch)

    def throttle(self, requests: int) -> None:
        self.fake.rate_limit_secondary(requests=requests, retry_after=0)


@dataclass
class GitLabHarness:
    fake: FakeGitLab
    project: str = "group/sub/demo"
    slept: list[float] = field(default_factory=list)
    platform: GitLabPlatform = field(init=False)
    _pushed: dict[str, tuple[str, bool]] = field(default_factory=dict)
    _jobs: dict[str, Job] = field(default_factory=dict)

    def __post_init__(self) -> None:
        self.fake.add_project(self.project)
        self.platform = GitLabPlatform(
            self.project,
            token=fake_gitlab.TOKEN,
            base_url=self.fake.url,
            rate_limits=RateLimitPolicy(sleep=self.slept.append),
        )

    def file_issue(self, title: str, body: str, labels: Sequence[str]) -> int:
        return self.fake.add_issue(self.project, title, description=body, labels=list(labels)).iid

    def push(self, branch: str, *, passing: bool) -> str:
        sha = self.fake.push(self.project, branch, "passing change" if passing else "failing change")
        self._pushed[sha] = (branch, passing)
        return sha

    def ci_starts(self, sha: str) -> None:
        branch, _ = self._pushed[sha]
        pipeline = self.fake.add_pipeline(self.project, ref=branch, sha=sha)
        self._jobs[sha] = self.fake.add_job(pipeline, "tests", status="running")

    def ci_finishes(self, sha: str) -> None:
        _, passing = self._pushed[sha]
        self.fake.set_job(
            self._jobs[sha],
            status="success" if passing else "failed",
            trace="3 passed\n" if passing else FAILURE_LOG,
        )

    def branch_head(self, branch: str) -> str | None:
        return self.fake.project(self.project).branches.get(branch)

    def throttle(self, requests: int) -> None:
        self.fake.throttle(requests, retry_after=0)


@dataclass
class GiteaHarness:
    """CI is Gitea Actions: a job per pushed commit, whose commit status the fake posts."""

    fake: FakeGitea
    repo: str = "octo/demo"
    slept: list[float] = field(default_factory=list)
    platform: GiteaPlatform = field(init=False)
    _passing: dict[str, bool] = field(default_factory=dict)
    _jobs: dict[str, fake_gitea.Job] = field(default_factory=dict)

    def __post_init__(self) -> None:
        self.fake.create_repo(self.repo)
        self.platform = GiteaPlatform(
            self.repo,
            token=fake_gitea.TOKEN,
            base_url=self.fake.url,
            rate_limits=RateLimitPolicy(sleep=self.slept.append),
        )

    def file_issue(self, title: str, body: str, labels: Sequence[str]) -> int:
        return self.fake.create_issue(self.repo, title, body, labels=list(labels))

    def push(self, branch: str, *, passing: bool) -> str:
        sha = self.fake.push(self.repo, branch, "passing change" if passing else "failing change")
        self._passing[sha] = passing
        return sha

    def ci_starts(self, sha: str) -> None:
        self._jobs[sha] = self.fake.add_actions_job(self.repo, sha, "tests")

    def ci_finishes(self, sha: str) -> None:
        passing = self._passing[sha]
        self.fake.finish_job(
            self.repo,
            self._jobs[sha],
            conclusion="success" if passing else "failure",
            log="3 passed\n" if passing else FAILURE_LOG,
        )

    def branch_head(self, branch: str) -> str | None:
        return self.fake.branch_sha(self.repo, branch)

    def throttle(self, requests: int) -> None:
        self.fake.throttle(requests, retry_after=0)


@dataclass
class BitbucketHarness:
    """CI is Bitbucket Pipelines: one pipeline per pushed commit, whose build status the fake posts.
    Labels are the `Labels:` line closing an issue's content, as the adapter reads them."""

    fake: FakeBitbucket
    repo: str = "octo/demo"
    slept: list[float] = field(default_factory=list)
    platform: BitbucketPlatform = field(init=False)
    _pushed: dict[str, tuple[str, bool]] = field(default_factory=dict)
    _pipelines: dict[str, fake_bitbucket.Pipeline] = field(default_factory=dict)

    def __post_init__(self) -> None:
        self.fake.create_repo(self.repo)
        self.platform = BitbucketPlatform(
            self.repo,
            token=fake_bitbucket.TOKEN,
            base_url=self.fake.api_url,
            rate_limits=RateLimitPolicy(sleep=self.slept.append),
        )

    def file_issue(self, title: str, body: str, labels: Sequence[str]) -> int:
        return self.fake.create_issue(self.repo, title, join_labels(body, labels))

    def push(self, branch: str, *, passing: bool) -> str:
        sha = self.fake.push(self.repo, branch, "passing change" if passing else "failing change")
        self._pushed[sha] = (branch, passing)
        return sha

    def ci_starts(self, sha: str) -> None:
        self._pipelines[sha] = self.fake.add_pipeline(self.repo, sha, "tests", branch=self._pushed[sha][0])

    def ci_finishes(self, sha: str) -> None:
        passing = self._pushed[sha][1]
        self.fake.finish_pipeline(
            self.repo, self._pipelines[sha], passed=passing, log="3 passed\n" if passing else FAILURE_LOG
        )

    def branch_head(self, branch: str) -> str | None:
        return self.fake.branch_sha(self.repo, branch)

    def throttle(self, requests: int) -> None:
        self.fake.throttle(requests)


@dataclass
class AzureHarness:
    """Issues are Boards work items, tagged; CI is an Azure Pipelines build per pushed commit,
    whose commit status the fake posts."""

    fake: FakeAzureDevOps
    repo: str = "octo/demo-project/demo"
    slept: list[float] = field(default_factory=list)
    platform: AzureDevOpsPlatform = field(init=False)
    _passing: dict[str, bool] = field(default_factory=dict)
    _builds: dict[str, fake_azure.Build] = field(default_factory=dict)

    def __post_init__(self) -> None:
        self.fake.create_repo(self.repo)
        self.platform = AzureDevOpsPlatform(
            self.repo,
            token=fake_azure.TOKEN,
            base_url=self.fake.url,
            rate_limits=RateLimitPolicy(sleep=self.slept.append),
        )

    def file_issue(self, title: str, body: str, labels: Sequence[str]) -> int:
        return self.fake.create_work_item(self.repo.split("/")[1], title, body, tags=list(labels))

    def push(self, branch: str, *, passing: bool) -> str:
        sha = self.fake.push(self.repo, branch, "passing change" if passing else "failing change")
        self._passing[sha] = passing
        return sha

    def ci_starts(self, sha: str) -> None:
        self._builds[sha] = self.fake.add_build(self.repo, sha, "tests")

    def ci_finishes(self, sha: str) -> None:
        passing = self._passing[sha]
        self.fake.finish_build(
            self.repo,
            self._builds[sha],
            result="succeeded" if passing else "failed",
            log="3 passed\n" if passing else FAILURE_LOG,
        )

    def branch_head(self, branch: str) -> str | None:
        return self.fake.branch_sha(self.repo, branch)

    def throttle(self, requests: int) -> None:
        self.fake.throttle(requests, retry_after=0)
