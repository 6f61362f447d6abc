"""The Azure DevOps adapter beyond the contract: forks, merge strategies, WIQL, paging, errors."""

from __future__ import annotations

import base64

import pytest

from tamma.errors import Conflict, Forbidden, InvalidReference, NotFound
from tamma.platforms import IssueRef
from tamma.platforms._azure import AzureDevOpsPlatform
from tamma.platforms._ratelimit import RateLimitPolicy
from tamma.platforms._settings import PlatformsSettings
from tests.fakes._server import JsonReply, TextReply
from tests.fakes.azure import SIGN_IN_PAGE, TOKEN, FakeAzureDevOps

REPO = "octo/demo-project/demo"
PROJECT = "demo-project"


@pytest.fixture
def slept() -> list[float]:
    return []


@pytest.fixture
def platform(fake_azure: FakeAzureDevOps, slept: list[float]) -> AzureDevOpsPlatform:
    fake_azure.create_repo(REPO)
    return AzureDevOpsPlatform(
        REPO, token=TOKEN, base_url=fake_azure.url, rate_limits=RateLimitPolicy(sleep=slept.append)
    )


def _pull(platform: AzureDevOpsPlatform, fake: FakeAzureDevOps, branch: str = "tamma/fix", **kw: bool) -> int:
    platform.create_branch(branch, "main")
    fake.push(REPO, branch, "change")
    return platform.open_pull_request(title="Fix", body="plan", head=branch, base="main", **kw).number


def test_a_forks_pull_request_from_a_same_named_branch_is_not_ours(
    platform: AzureDevOpsPlatform, fake_azure: FakeAzureDevOps
) -> None:
    fork = fake_azure.fork(REPO, "someone/their-project/demo")
    fake_azure.open_fork_pull(REPO, fork, "tamma/fix")
    assert platform.find_pull_request("tamma/fix") is None
    number = _pull(platform, fake_azure)
    found = platform.find_pull_request("tamma/fix")
    assert found is not None
    assert found.number == number


@pytest.mark.parametrize(
    ("method", "strategy"), [("merge", "noFastForward"), ("squash", "squash"), ("rebase", "rebase")]
)
def test_merge_completes_the_pull_request_with_the_strategy(
    platform: AzureDevOpsPlatform, fake_azure: FakeAzureDevOps, method: str, strategy: str
) -> None:
    number = _pull(platform, fake_azure)
    merged = platform.merge(number, method=method, delete_branch=False)  # type: ignore[arg-type]
    completion = [r for r in fake_azure.requests if r.method == "PATCH"][-1].json
    assert completion["completionOptions"] == {"mergeStrategy": strategy, "deleteSourceBranch": False}
    assert completion["lastMergeSourceCommit"]["commitId"] == fake_azure.branch_sha(REPO, "tamma/fix")
    assert fake_azure.pull(number).merge_strategy == strategy
    assert fake_azure.branch_sha(REPO, "main") == merged
    assert fake_azure.branch_sha(REPO, "tamma/fix") is not None


def test_a_draft_is_not_completed(platform: AzureDevOpsPlatform, fake_azure: FakeAzureDevOps) -> None:
    number = _pull(platform, fake_azure, draft=True)
    assert platform.find_pull_request("tamma/fix").draft  # type: ignore[union-attr]
    with pytest.raises(Conflict, match="draft"):
        platform.merge(number)


def test_429_waits_the_retry_after_then_succeeds(
    platform: AzureDevOpsPlatform, fake_azure: FakeAzureDevOps, slept: list[float]
) -> None:
    fake_azure.throttle(1, retry_after=7)
    assert platform.repository().default_branch == "main"
    assert slept == [7.0]


def test_wiql_lists_by_exact_tag_oldest_first(
    platform: AzureDevOpsPlatform, fake_azure: FakeAzureDevOps
) -> None:
    first = fake_azure.create_work_item(PROJECT, "First", tags=["tamma"])
    fake_azure.create_work_item(PROJECT, "Substring only", tags=["tamma-later"])
    fake_azure.create_work_item(PROJECT, "Done already", tags=["tamma"], state="Done")
    fake_azure.create_work_item("other-project", "Elsewhere", tags=["tamma"])
    last = fake_azure.create_work_item(PROJECT, "It's quoted", tags=["tamma", "o'brien"])
    listed = list(platform.list_issues(labels=["tamma"]))
    assert [issue.ref.number for issue in listed] == [first, last]
    assert [issue.title for issue in platform.list_issues(labels=["o'brien"])] == ["It's quoted"]
    wiql = next(r for r in fake_azure.requests if r.path.endswith("/_apis/wit/wiql")).json["query"]
    assert "[System.Tags] CONTAINS 'tamma'" in wiql
    assert "@project" in wiql
    assert [i.title for i in platform.list_issues(labels=["tamma"], state="closed")] == ["Done already"]


def test_work_items_of_other_projects_are_not_found(
    platform: AzureDevOpsPlatform, fake_azure: FakeAzureDevOps
) -> None:
    elsewhere = fake_azure.create_work_item("other-project", "Elsewhere")
    with pytest.raises(NotFound, match="TF401232"):
        platform.get_issue(elsewhere)


def test_comments_are_markdown_and_paged_oldest_first(
    platform: AzureDevOpsPlatform, fake_azure: FakeAzureDevOps
) -> None:
    number = fake_azure.create_work_item(PROJECT, "Item", tags=["tamma"])
    for index in range(105):
        fake_azure.state.add_comment(fake_azure.work_item(number), f"comment {index}")
    posted = platform.add_comment(number, "plan <!-- tamma:plan-1 -->")
    assert "format=markdown" in fake_azure.requests[-1].query
    issue = platform.get_issue(number)
    assert [c.body for c in issue.comments[:2]] == ["comment 0", "comment 1"]
    assert issue.comments[-1].id == posted.id
    assert len(issue.comments) == 106


def test_labels_are_tags_and_one_assignee(platform: AzureDevOpsPlatform, fake_azure: FakeAzureDevOps) -> None:
    number = fake_azure.create_work_item(PROJECT, "Item", tags=["tamma"])
    platform.add_labels(number, ["bug", "tamma"])
    platform.remove_labels(number, ["TAMMA"])
    platform.assign(number, ["dev@example.com", "other@example.com"])
    assert fake_azure.work_item(number).fields["System.Tags"] == "bug"
    issue = platform.get_issue(number, with_comments=False)
    assert (issue.labels, issue.assignees) == (("bug",), ("dev@example.com",))
    assert next(iter(platform.list_issues(assignee="dev@example.com"))).ref.number == number


def test_statuses_follow_the_continuation_token(
    platform: AzureDevOpsPlatform, fake_azure: FakeAzureDevOps
) -> None:
    sha = fake_azure.push(REPO, "main", "change")
    fake_azure.page_size = 2
    for name in ("lint", "types", "docs"):
        fake_azure.add_status(sha, name, "succeeded")
    fake_azure.add_status(sha, "security", "failed", target_url="https://example.com/scan")
    status = platform.ci_status(sha)
    assert {c.name for c in status.checks} == {"lint", "types", "docs", "security"}
    assert status.state == "failure"
    assert status.failed[0].log_id == ""


def test_existing_branch_conflicts_and_sha_sources(
    platform: AzureDevOpsPlatform, fake_azure: FakeAzureDevOps
) -> None:
    main = fake_azure.branch_sha(REPO, "main")
    assert main is not None
    assert platform.create_branch("from-sha", main) == main
    with pytest.raises(Conflict, match="staleOldObjectId"):
        platform.create_branch("from-sha", "main")
    with pytest.raises(NotFound):
        platform.create_branch("x", "no-such-branch")


def test_every_call_carries_api_version_and_a_basic_pat(
    platform: AzureDevOpsPlatform, fake_azure: FakeAzureDevOps
) -> None:
    platform.repository()
    request = fake_azure.last_request
    assert "api-version=7.1" in request.query
    assert request.headers["authorization"] == "Basic " + base64.b64encode(f":{TOKEN}".encode()).decode()


def test_a_sign_in_page_or_a_wrong_pat_is_forbidden(fake_azure: FakeAzureDevOps) -> None:
    fake_azure.create_repo(REPO)
    wrong = AzureDevOpsPlatform(REPO, token="wrong", base_url=fake_azure.url)
    with pytest.raises(Forbidden, match="401"):
        wrong.repository()
    fake_azure.enqueue(TextReply(SIGN_IN_PAGE, status=203, content_type="text/html"))
    with pytest.raises(Forbidden, match="203"):
        AzureDevOpsPlatform(REPO, token=TOKEN, base_url=fake_azure.url).repository()


def test_references_and_settings() -> None:
    assert str(IssueRef.parse("azure:octo/demo-project/demo#12")) == "azure:octo/demo-project/demo#12"
    assert IssueRef.parse("https://dev.azure.com/octo/proj/_workitems/edit/7").repo == "octo/proj/proj"
    assert IssueRef.parse("https://octo.visualstudio.com/proj/_workitems/edit/7").repo == "octo/proj/proj"
    with pytest.raises(InvalidReference, match="org/project/repo"):
        IssueRef.parse("azure:octo/demo#1")
    with pytest.raises(InvalidReference):
        AzureDevOpsPlatform("octo/demo", token="t")
    azure = PlatformsSettings().azure
    assert (azure.base_url, azure.token_env) == ("https://dev.azure.com", ("AZURE_DEVOPS_TOKEN",))


def test_an_asynchronous_completion_is_polled_until_it_lands(fake_azure: FakeAzureDevOps) -> None:
    fake_azure.create_repo(REPO)
    waits: list[float] = []
    platform = AzureDevOpsPlatform(REPO, token=TOKEN, base_url=fake_azure.url, sleep=waits.append)
    active = {
        "pullRequestId": 3,
        "status": "active",
        "title": "Fix",
        "sourceRefName": "refs/heads/tamma/fix",
        "targetRefName": "refs/heads/main",
        "lastMergeSourceCommit": {"commitId": "a" * 40},
    }
    fake_azure.enqueue(
        JsonReply(active),
        JsonReply({**active, "mergeStatus": "queued"}),
        JsonReply({**active, "status": "completed", "lastMergeCommit": {"commitId": "b" * 40}}),
    )
    assert platform.merge(3) == "b" * 40
    assert waits == [1.0]


def test_a_conflicting_completion_is_a_conflict(fake_azure: FakeAzureDevOps) -> None:
    fake_azure.create_repo(REPO)
    platform = AzureDevOpsPlatform(REPO, token=TOKEN, base_url=fake_azure.url, sleep=lambda _: None)
    active = {"pullRequestId": 3, "status": "active", "lastMergeSourceCommit": {"commitId": "a" * 40}}
    fake_azure.enqueue(JsonReply(active), JsonReply({**active, "mergeStatus": "conflicts"}))
    with pytest.raises(Conflict, match="conflicts"):
        platform.merge(3)
