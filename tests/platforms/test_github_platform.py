"""GitHubPlatform through the real PyGithub client against the fake GitHub REST API."""

from __future__ import annotations

import pytest

from tamma.errors import Conflict, Forbidden, NotFound, PlatformRateLimited
from tamma.platforms import GitPlatform, marker
from tamma.platforms._github import GitHubPlatform
from tamma.platforms._ratelimit import RateLimitPolicy
from tests.fakes.github import FakeGitHub

TOKEN = "ghp_" + "T0ken" * 8
REPO = "octo/demo"


@pytest.fixture
def github(fake_github: FakeGitHub) -> tuple[GitHubPlatform, FakeGitHub, list[float]]:
    fake_github.create_repo(REPO)
    slept: list[float] = []
    platform = GitHubPlatform(
        REPO,
        token=TOKEN,
        base_url=fake_github.base_url,
        rate_limits=RateLimitPolicy(sleep=slept.append),
        seconds_between_requests=None,
        seconds_between_writes=None,
    )
    return platform, fake_github, slept


def test_issues_comments_labels_and_assignees(github: tuple[GitHubPlatform, FakeGitHub, list[float]]) -> None:
    platform, fake, _ = github
    assert isinstance(platform, GitPlatform)
    for n in range(35):
        fake.create_issue(REPO, f"issue {n}", "body", labels=["tamma"] if n % 2 else ["other"])
    labelled = list(platform.list_issues(labels=["tamma"]))
    assert len(labelled) == 17
    assert all(i.ref.platform == "github" and "tamma" in i.labels for i in labelled)
    note = platform.add_comment(2, f"Plan {marker('p-2')}")
    assert platform.find_comment(2, marker("p-2")) == note
    platform.add_labels(2, ["needs-human-review"])
    platform.remove_labels(2, ["tamma"])
    assert platform.get_issue(2).labels == ("needs-human-review",)
    with pytest.raises(NotFound):
        platform.get_issue(999)


def test_branch_pr_ci_log_and_merge(github: tuple[GitHubPlatform, FakeGitHub, list[float]]) -> None:
    platform, fake, _ = github
    assert platform.repository().default_branch == "main"
    platform.create_branch("tamma/issue-1-fix", "main")
    with pytest.raises(Conflict):
        platform.create_branch("tamma/issue-1-fix", "main")
    head = fake.push(REPO, "tamma/issue-1-fix", "fix")
    pull = platform.open_pull_request(title="[Tamma] Fix", body="plan", head="tamma/issue-1-fix", base="main")
    assert platform.find_pull_request("tamma/issue-1-fix") == pull
    assert platform.find_pull_request("nope") is None
    assert platform.update_pull_request_body(pull.number, "evidence").body == "evidence"

    fake.set_status(REPO, head, "pending", context="ci")
    assert platform.ci_status(head).state == "pending"
    job = fake.add_check_run(
        REPO, head, "tests", status="completed", conclusion="failure", log=f"FAILED with {TOKEN}"
    )
    failing = platform.ci_status(head)
    assert failing.state == "failure"
    log = platform.failed_job_log(failing.failed[0].log_id)
    assert "FAILED" in log
    assert TOKEN not in log
    fake.set_status(REPO, head, "success", context="ci")
    fake.update_check_run(REPO, job, conclusion="success")
    assert platform.ci_status(head).state == "success"

    sha = platform.merge(pull.number, method="squash")
    assert fake.branch_sha(REPO, "main") == sha
    assert platform.find_pull_request("tamma/issue-1-fix") is None


def test_rate_limits_are_waited_out_then_reported(
    github: tuple[GitHubPlatform, FakeGitHub, list[float]],
) -> None:
    platform, fake, slept = github
    fake.create_issue(REPO, "x", "y")
    fake.rate_limit_secondary(requests=2, retry_after=3)
    assert platform.get_issue(1, with_comments=False).title == "x"
    assert slept == [3.0, 3.0]
    fake.rate_limit_secondary(requests=10, retry_after=5)
    with pytest.raises(PlatformRateLimited, match="retry after"):
        platform.get_issue(1, with_comments=False)
    assert platform.rate_limit() is not None


def test_missing_permission_is_named_and_the_token_never_shown(fake_github: FakeGitHub) -> None:
    fake_github.create_repo(REPO)
    fake_github.create_issue(REPO, "x", "y")
    fake_github.add_token(TOKEN, permissions={"issues": "read"})
    platform = GitHubPlatform(
        REPO,
        token=TOKEN,
        base_url=fake_github.base_url,
        seconds_between_requests=None,
        seconds_between_writes=None,
    )
    with pytest.raises(Forbidden) as refused:
        platform.add_comment(1, "hello")
    assert refused.value.missing_scope
    assert TOKEN not in str(refused.value)


def test_a_lone_surrogate_from_the_api_becomes_a_replacement_character(
    github: tuple[GitHubPlatform, FakeGitHub, list[float]],
) -> None:
    """GitHub's JSON may escape a lone surrogate (`"\\ud800"`); kept as is, it would break the
    first prompt or JSON dump that carries the issue."""
    platform, fake, _ = github
    fake.create_issue(REPO, "totals \ud800 wrong", "see \udfff here")
    platform.add_comment(1, "and \ud83d too")
    issue = platform.get_issue(1)
    assert (issue.title, issue.body) == ("totals \ufffd wrong", "see \ufffd here")
    assert issue.comments[0].body == "and \ufffd too"
    issue.model_dump_json().encode("utf-8")
