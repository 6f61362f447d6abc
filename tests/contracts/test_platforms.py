"""The `GitPlatform` contract: the same scenarios against the local platform, GitHub, GitLab
and Gitea.

GitHub and GitLab run through the real PyGithub and python-gitlab clients, Gitea through its
httpx adapter, against the fake REST servers; the local platform runs on real git with its real
CI runner. What each harness does to the world around the platform is in `platform_harnesses.py`.
"""

from __future__ import annotations

import pytest

from tamma.errors import Conflict, NotFound, PlatformRateLimited
from tamma.platforms import GitPlatform, marker
from tests.contracts.platform_harnesses import (
    AzureHarness,
    BitbucketHarness,
    GiteaHarness,
    GitHubHarness,
    GitLabHarness,
    Harness,
    LocalHarness,
    RemoteHarness,
)
from tests.platforms.local_repo import MISSING

BRANCH = "tamma/issue-1-add-fixed"
CHECK_NAMES = {"gitea": "ci / tests (push)", "bitbucket": f"Pipeline #1 for {BRANCH}"}
"""What a platform calls the harness's CI job "tests" where it is not just that: Gitea Actions
names a commit status `<workflow> / <job> (<event>)`, Bitbucket Pipelines `Pipeline #<n> for <branch>`."""


@pytest.fixture(params=["local", "github", "gitlab", "gitea", "bitbucket", "azure"])
def harness(request: pytest.FixtureRequest) -> Harness:
    return _harness(request)


@pytest.fixture(params=["github", "gitlab", "gitea", "bitbucket", "azure"])
def remote(request: pytest.FixtureRequest) -> RemoteHarness:
    found = _harness(request)
    assert not isinstance(found, LocalHarness)
    return found


def _harness(request: pytest.FixtureRequest) -> Harness | RemoteHarness:
    if request.param == "github":
        return GitHubHarness(request.getfixturevalue("fake_github"))
    if request.param == "gitlab":
        return GitLabHarness(request.getfixturevalue("fake_gitlab"))
    if request.param == "gitea":
        return GiteaHarness(request.getfixturevalue("fake_gitea"))
    if request.param == "bitbucket":
        return BitbucketHarness(request.getfixturevalue("fake_bitbucket"))
    if request.param == "azure":
        return AzureHarness(request.getfixturevalue("fake_azure"))
    return LocalHarness(request.getfixturevalue("tmp_path"))


def open_pull_request(harness: Harness) -> tuple[int, str]:
    """A branch from the default branch, a failing commit on it and a pull request for it."""
    platform = harness.platform
    platform.create_branch(BRANCH, platform.repository().default_branch)
    sha = harness.push(BRANCH, passing=False)
    pull = platform.open_pull_request(title="[Tamma] Add fixed.txt", body="plan", head=BRANCH, base="main")
    return pull.number, sha


def test_lists_labelled_issues(harness: Harness) -> None:
    platform = harness.platform
    assert isinstance(platform, GitPlatform)
    harness.file_issue("Add fixed.txt", "CI wants it", ["tamma", "bug"])
    harness.file_issue("Unrelated", "not for us", ["docs"])
    harness.file_issue("Also for Tamma", "second", ["tamma"])
    labelled = list(platform.list_issues(labels=["tamma"]))
    assert [issue.title for issue in labelled] == ["Add fixed.txt", "Also for Tamma"]
    assert all(issue.ref.platform == platform.name for issue in labelled)
    first = platform.get_issue(labelled[0].ref.number)
    assert (first.body, first.state, set(first.labels)) == ("CI wants it", "open", {"tamma", "bug"})
    with pytest.raises(NotFound):
        platform.get_issue(999)


def test_comment_with_marker_is_found_again_and_labels_change(harness: Harness) -> None:
    platform = harness.platform
    number = harness.file_issue("Add fixed.txt", "CI wants it", ["tamma"])
    assert platform.find_comment(number, marker("plan-1")) is None
    posted = platform.add_comment(number, f"## Plan\n\nAdd the file.\n\n{marker('plan-1')}")
    found = platform.find_comment(number, marker("plan-1"))
    assert found is not None
    assert (found.id, found.body) == (posted.id, posted.body)
    assert platform.find_comment(number, marker("plan-2")) is None
    platform.add_labels(number, ["needs-human-review"])
    platform.remove_labels(number, ["tamma"])
    assert platform.get_issue(number).labels == ("needs-human-review",)


def test_branch_pull_request_and_find_by_head(harness: Harness) -> None:
    platform = harness.platform
    number, sha = open_pull_request(harness)
    with pytest.raises(Conflict):
        platform.create_branch(BRANCH, "main")
    found = platform.find_pull_request(BRANCH)
    assert found is not None
    assert (found.number, found.head, found.base, found.state, found.head_sha) == (
        number,
        BRANCH,
        "main",
        "open",
        sha,
    )
    assert platform.find_pull_request("tamma/other") is None
    assert platform.update_pull_request_body(number, "plan and evidence").body == "plan and evidence"


def test_ci_goes_pending_then_fails_with_a_log_then_passes(harness: Harness) -> None:
    platform = harness.platform
    _, failing_sha = open_pull_request(harness)
    harness.ci_starts(failing_sha)
    assert platform.ci_status(failing_sha).state == "pending"
    harness.ci_finishes(failing_sha)
    failing = platform.ci_status(failing_sha)
    assert failing.state == "failure"
    assert [check.name for check in failing.failed] == [CHECK_NAMES.get(platform.name, "tests")]
    assert MISSING in platform.failed_job_log(failing.failed[0].log_id)

    fixed_sha = harness.push(BRANCH, passing=True)
    harness.ci_starts(fixed_sha)
    assert platform.ci_status(fixed_sha).state == "pending"
    harness.ci_finishes(fixed_sha)
    assert platform.ci_status(fixed_sha).state == "success"
    assert platform.find_pull_request(BRANCH).head_sha == fixed_sha  # type: ignore[union-attr]


def test_merge_lands_on_the_default_branch_and_deletes_the_head(harness: Harness) -> None:
    platform = harness.platform
    number, _ = open_pull_request(harness)
    harness.push(BRANCH, passing=True)
    merged = platform.merge(number, method="squash")
    assert harness.branch_head("main") == merged
    assert harness.branch_head(BRANCH) is None
    assert platform.find_pull_request(BRANCH) is None
    with pytest.raises(Conflict):
        platform.merge(number)


def test_rate_limits_are_waited_out_then_reported(remote: RemoteHarness) -> None:
    platform = remote.platform
    number = remote.file_issue("Add fixed.txt", "CI wants it", ["tamma"])
    remote.throttle(2)
    assert platform.get_issue(number, with_comments=False).title == "Add fixed.txt"
    assert remote.slept == [2.0, 4.0]
    remote.throttle(4)
    with pytest.raises(PlatformRateLimited, match="retry"):
        platform.get_issue(number, with_comments=False)
    assert remote.slept[2:] == [2.0, 4.0, 8.0]
