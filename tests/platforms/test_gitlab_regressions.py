"""GitLab defects of issue 23, each pinned by the scenario that showed it.

Forks: GitLab lists a fork's merge request under the project it targets, and a fork may use
the same branch name as Tamma. Drafts: GitLab reads several title prefixes as draft, `WIP:`
and `[WIP]` too before 14.0. Pagination: a 429 between pages must neither lose nor repeat an
issue, and a listing costs one request a page.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tamma.platforms._gitlab import GitLabPlatform
from tamma.platforms._ratelimit import RateLimitPolicy
from tests.fakes.gitlab import TOKEN, FakeGitLab

PROJECT = "group/sub/demo"
FORK = "contributor/demo"
BRANCH = "tamma/issue-1-fix"

Setup = tuple[GitLabPlatform, FakeGitLab]


def _platform(fake: FakeGitLab) -> GitLabPlatform:
    fake.add_project(PROJECT)
    return GitLabPlatform(
        PROJECT, token=TOKEN, base_url=fake.url, rate_limits=RateLimitPolicy(sleep=lambda _: None)
    )


@pytest.fixture
def gitlab(fake_gitlab: FakeGitLab) -> Setup:
    return _platform(fake_gitlab), fake_gitlab


@pytest.fixture(scope="module")
def gitlab_13_server() -> Iterator[FakeGitLab]:
    with FakeGitLab(wip_drafts=True) as server:
        yield server


@pytest.fixture
def gitlab_13(gitlab_13_server: FakeGitLab) -> Iterator[Setup]:
    """A GitLab before 14.0, which still reads `WIP:` and `[WIP]` titles as drafts."""
    gitlab_13_server.reset()
    yield _platform(gitlab_13_server), gitlab_13_server
    gitlab_13_server.reset()


def test_find_pull_request_ignores_a_forks_merge_request_from_a_same_named_branch(gitlab: Setup) -> None:
    platform, fake = gitlab
    fake.add_merge_request(PROJECT, source_branch=BRANCH, source_project=fake.add_project(FORK))
    assert platform.find_pull_request(BRANCH) is None

    fake.push(PROJECT, BRANCH)
    ours = platform.open_pull_request(title="Ours", body="", head=BRANCH, base="main")
    fake.add_merge_request(PROJECT, source_branch=BRANCH, source_project=fake.add_project("other/demo"))
    found = platform.find_pull_request(BRANCH)  # the newer fork's request is listed first
    assert found is not None
    assert (found.number, found.title) == (ours.number, "Ours")


@pytest.mark.parametrize(
    "title", ["WIP: Fix", "wip:Fix", "[WIP] Fix", "[wip]Fix", "draft:Fix", "[Draft] Fix", "(DRAFT) Fix"]
)
def test_a_draft_title_loses_every_prefix_gitlab_reads_as_draft(gitlab_13: Setup, title: str) -> None:
    platform, fake = gitlab_13
    fake.add_merge_request(PROJECT, source_branch=BRANCH, title=title)
    found = platform.find_pull_request(BRANCH)
    assert found is not None
    assert (found.title, found.draft) == ("Fix", True)


def test_a_wip_title_stays_whole_where_gitlab_no_longer_reads_it_as_draft(gitlab: Setup) -> None:
    platform, fake = gitlab
    fake.add_merge_request(PROJECT, source_branch=BRANCH, title="WIP: Fix")
    found = platform.find_pull_request(BRANCH)
    assert found is not None
    assert (found.title, found.draft) == ("WIP: Fix", False)


def test_merging_a_forks_merge_request_never_deletes_the_forks_branch(gitlab: Setup) -> None:
    platform, fake = gitlab
    fork = fake.add_project(FORK)
    request = fake.add_merge_request(PROJECT, source_branch=BRANCH, source_project=fork)
    merged = platform.merge(request.iid, delete_branch=True)
    assert fake.project(PROJECT).branches["main"] == merged
    assert BRANCH in fake.project(FORK).branches


def test_a_rate_limit_between_pages_loses_no_issue_and_costs_no_extra_request(gitlab: Setup) -> None:
    platform, fake = gitlab
    fake.add_issues(PROJECT, 45)
    titles = []
    for issue in platform.list_issues():
        titles.append(issue.title)
        if len(titles) % 20 == 0:  # the next issue needs the next page: throttle that request
            fake.throttle(1)
    assert titles == [f"Issue {n}" for n in range(1, 46)]
    assert [request.path.rsplit("/", 1)[-1] for request in fake.requests] == [
        "issues"
    ] * 5  # 3 pages, 2 retried
