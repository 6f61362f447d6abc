"""Issue 23: GitHub defects found in use, each pinned through the real PyGithub and the fake API.

A listing cut short by a rate-limit wait, a merge that deleted a branch of the wrong repository,
one request per listed issue, and a 403 rate limit reported as 429.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from urllib.parse import parse_qs

import pytest

from tamma.errors import PlatformRateLimited
from tamma.platforms._github import GitHubPlatform
from tamma.platforms._ratelimit import RateLimitPolicy
from tests.fakes._server import RecordedRequest
from tests.fakes.github import API_PREFIX, FakeGitHub

REPO = "octo/demo"
FORK_OWNER = "someone"
FORK = f"{FORK_OWNER}/demo"
MANY = 48
"""Items in a listing: two pages of GitHub's default 30."""


@dataclass
class World:
    fake: FakeGitHub
    slept: list[float] = field(default_factory=list)
    seen: int = 0
    """Requests the fake had received when `watch` was last called."""

    def platform(self) -> GitHubPlatform:
        return GitHubPlatform(
            REPO,
            token="ghp_" + "Regr3ssion" * 4,
            base_url=self.fake.base_url,
            rate_limits=RateLimitPolicy(sleep=self.slept.append),
            seconds_between_requests=None,
            seconds_between_writes=None,
        )

    def watch(self) -> None:
        self.seen = len(self.fake.requests)

    def requests(self) -> list[RecordedRequest]:
        """What the fake received since `watch`."""
        return self.fake.requests[self.seen :]

    def pages_read(self, path: str) -> Counter[int]:
        """How often each page of the listing at `path` was requested since `watch`."""
        return Counter(
            int(parse_qs(r.query).get("page", ["1"])[0])
            for r in self.requests()
            if r.method == "GET" and r.path == f"{API_PREFIX}{path}"
        )

    def open_pull(self, head: str, base: str) -> int:
        return self.platform().open_pull_request(title="Change", body="", head=head, base=base).number


@pytest.fixture
def world(fake_github: FakeGitHub) -> World:
    return World(fake_github)


# -- 1. a rate-limit wait in the middle of a listing ---------------------------------------------


def _issues(world: World) -> tuple[str, Callable[[GitHubPlatform], int]]:
    world.fake.create_repo(REPO)
    for n in range(MANY):
        world.fake.create_issue(REPO, f"issue {n}")
    return f"/repos/{REPO}/issues", lambda platform: len(list(platform.list_issues()))


def _comments(world: World) -> tuple[str, Callable[[GitHubPlatform], int]]:
    world.fake.create_repo(REPO)
    world.fake.create_issue(REPO, "talkative")
    for n in range(MANY):
        world.fake.add_comment(REPO, 1, f"comment {n}")
    return f"/repos/{REPO}/issues/1/comments", lambda platform: len(platform.get_issue(1).comments)


def _check_runs(world: World) -> tuple[str, Callable[[GitHubPlatform], int]]:
    sha = world.fake.create_repo(REPO)
    for n in range(MANY):
        world.fake.add_check_run(REPO, sha, f"check {n}")
    return f"/repos/{REPO}/commits/{sha}/check-runs", lambda platform: len(platform.ci_status(sha).checks)


def _pulls(world: World) -> tuple[str, Callable[[GitHubPlatform], int]]:
    world.fake.create_repo(REPO)
    world.fake.push(REPO, "tamma/issue-1-fix")
    world.open_pull("tamma/issue-1-fix", "main")
    return f"/repos/{REPO}/pulls", lambda platform: int(
        platform.find_pull_request("tamma/issue-1-fix") is not None
    )


@pytest.mark.parametrize(
    ("listing", "page", "expected"),
    [(_issues, 1, MANY), (_issues, 2, MANY), (_comments, 2, MANY), (_check_runs, 2, MANY), (_pulls, 1, 1)],
    ids=["issues-page-1", "issues-page-2", "comments-page-2", "check-runs-page-2", "pulls-page-1"],
)
def test_a_rate_limit_wait_mid_listing_resumes_at_the_page_that_failed(
    world: World,
    listing: Callable[[World], tuple[str, Callable[[GitHubPlatform], int]]],
    page: int,
    expected: int,
) -> None:
    path, count = listing(world)
    world.watch()
    world.fake.rate_limit_secondary(retry_after=3, at=f"{path}?page={page}" if page > 1 else path)

    assert count(world.platform()) == expected
    assert world.slept == [3.0]
    read = world.pages_read(path)
    assert read.pop(page) == 2
    assert set(read.values()) <= {1}


def test_a_listing_still_rate_limited_after_the_waits_raises_saying_how_far_it_got(world: World) -> None:
    _issues(world)
    world.fake.rate_limit_secondary(requests=10, retry_after=1, at=f"/repos/{REPO}/issues?page=2")

    listed: list[int] = []
    with pytest.raises(PlatformRateLimited, match="listing issues stopped after 30") as stopped:
        listed.extend(issue.ref.number for issue in world.platform().list_issues())

    assert len(listed) == 30
    assert stopped.value.status == 403


# -- 2. deleting the head branch after a merge ---------------------------------------------------


def _from_deleted_fork(world: World) -> tuple[int, str]:
    """The reported case: a fork's `master` into the base's default `master`, the fork since deleted."""
    world.fake.create_repo(REPO, default_branch="master")
    world.fake.create_repo(FORK, fork_of=REPO)
    world.fake.push(FORK, "master", "fix from a fork")
    number = world.open_pull(f"{FORK_OWNER}:master", "master")
    world.fake.delete_repo(FORK)
    return number, "master"


def _from_live_fork(world: World) -> tuple[int, str]:
    world.fake.create_repo(REPO)
    world.fake.push(REPO, "master", "an old branch of the base")
    world.fake.create_repo(FORK, fork_of=REPO)
    world.fake.push(FORK, "master", "fix from a fork")
    return world.open_pull(f"{FORK_OWNER}:master", "main"), "master"


def _from_the_default_branch(world: World) -> tuple[int, str]:
    world.fake.create_repo(REPO)
    world.fake.push(REPO, "release", "branch off")
    world.fake.push(REPO, "main", "a fix to backport")
    return world.open_pull("main", "release"), "main"


def _from_a_protected_branch(world: World) -> tuple[int, str]:
    world.fake.create_repo(REPO, protected=["keep"])
    world.fake.push(REPO, "keep", "a long-lived branch")
    return world.open_pull("keep", "main"), "keep"


@pytest.mark.parametrize(
    "setup",
    [_from_deleted_fork, _from_live_fork, _from_the_default_branch, _from_a_protected_branch],
    ids=["deleted-fork", "live-fork", "default-branch", "protected-branch"],
)
def test_merge_keeps_a_head_branch_that_is_not_this_repositorys_to_delete(
    world: World, setup: Callable[[World], tuple[int, str]]
) -> None:
    number, kept = setup(world)
    world.watch()

    world.platform().merge(number, method="merge", delete_branch=True)

    assert world.fake.branch_sha(REPO, kept) is not None
    assert [r.path for r in world.requests() if r.method == "DELETE"] == []


def test_merge_deletes_the_repositorys_own_feature_branch(world: World) -> None:
    world.fake.create_repo(REPO)
    world.fake.push(REPO, "tamma/issue-1-fix")
    number = world.open_pull("tamma/issue-1-fix", "main")

    world.platform().merge(number, delete_branch=True)

    assert world.fake.branch_sha(REPO, "tamma/issue-1-fix") is None


# -- 3. one listing, one request per page ----------------------------------------------------------


def test_listing_issues_and_finding_a_pull_request_read_what_the_list_answer_carries(world: World) -> None:
    """26 issues and 3 pull requests fit one page: one request each, no refetch per item."""
    world.fake.create_repo(REPO)
    for n in range(26):
        world.fake.create_issue(REPO, f"issue {n}")
    for n in range(3):
        world.fake.push(REPO, f"tamma/issue-{n}")
        world.open_pull(f"tamma/issue-{n}", "main")
    platform = world.platform()
    world.watch()

    assert len(list(platform.list_issues())) == 26
    found = platform.find_pull_request("tamma/issue-1")

    assert found is not None
    assert found.state == "open"
    assert [r.path.rsplit("/", 1)[-1] for r in world.requests()] == ["issues", "pulls"]


# -- 4. the status of a rate limit ------------------------------------------------------------------


@pytest.mark.parametrize("status", [403, 429])
@pytest.mark.parametrize("primary", [True, False], ids=["primary", "secondary"])
def test_a_rate_limit_is_reported_with_the_status_github_answered(
    world: World, status: int, primary: bool
) -> None:
    world.fake.create_repo(REPO)
    trip = world.fake.rate_limit_primary if primary else world.fake.rate_limit_secondary
    trip(10, status=status)

    with pytest.raises(PlatformRateLimited) as limited:
        world.platform().repository()

    assert limited.value.status == status
