"""GitLabPlatform through the real python-gitlab client against the fake GitLab REST API.

The scenarios every platform shares are in `tests/contracts/test_platforms.py`; these are the
GitLab-specific ones: drafts by title prefix, jobs with allowed failures, ANSI-laden traces,
merge refusals, scopes and python-gitlab's own 429 retry kept out of the way.
"""

from __future__ import annotations

import pytest

from tamma.errors import Conflict, Forbidden, NotFound, PlatformRateLimited
from tamma.platforms._gitlab import GitLabPlatform
from tamma.platforms._ratelimit import RateLimitPolicy
from tests.fakes.gitlab import TOKEN, FakeGitLab

PROJECT = "group/sub/demo"


@pytest.fixture
def gitlab(fake_gitlab: FakeGitLab) -> tuple[GitLabPlatform, FakeGitLab, list[float]]:
    fake_gitlab.add_project(PROJECT)
    slept: list[float] = []
    platform = GitLabPlatform(
        PROJECT, token=TOKEN, base_url=fake_gitlab.url, rate_limits=RateLimitPolicy(sleep=slept.append)
    )
    return platform, fake_gitlab, slept


def test_issue_lists_follow_pages_and_filter_by_state_and_assignee(
    gitlab: tuple[GitLabPlatform, FakeGitLab, list[float]],
) -> None:
    platform, fake, _ = gitlab
    fake.add_user("ada")
    fake.add_issues(PROJECT, 45, labels=("tamma",))
    fake.add_issue(PROJECT, "closed one", labels=["tamma"], state="closed")
    fake.add_issue(PROJECT, "Ada's", assignees=["ada"])
    titles = [issue.title for issue in platform.list_issues(labels=["tamma"])]
    assert titles == [f"Issue {n}" for n in range(1, 46)]
    assert [i.title for i in platform.list_issues(state="closed")] == ["closed one"]
    assert [i.title for i in platform.list_issues(assignee="ada")] == ["Ada's"]
    pages = [r for r in fake.requests if r.path.endswith("/issues") and "labels" in r.query]
    assert len(pages) == 3  # 20 a page, followed by Link: rel="next"


def test_notes_assignees_and_system_notes(gitlab: tuple[GitLabPlatform, FakeGitLab, list[float]]) -> None:
    platform, fake, _ = gitlab
    fake.add_user("ada")
    fake.add_issue(PROJECT, "Bug", description="It breaks")
    platform.add_labels(1, ["tamma", "bug"])
    platform.assign(1, ["ada"])
    issue = platform.get_issue(1)
    assert issue.body == "It breaks"
    assert set(issue.labels) == {"tamma", "bug"}
    assert issue.assignees == ("ada",)
    with pytest.raises(NotFound, match="nobody"):
        platform.assign(1, ["nobody"])


def test_drafts_carry_the_title_prefix_and_cannot_be_merged(
    gitlab: tuple[GitLabPlatform, FakeGitLab, list[float]],
) -> None:
    platform, fake, _ = gitlab
    fake.push(PROJECT, "tamma/issue-1")
    draft = platform.open_pull_request(
        title="[Tamma] Fix", body="plan", head="tamma/issue-1", base="main", draft=True
    )
    assert draft.draft
    assert draft.title == "[Tamma] Fix"
    assert fake.project(PROJECT).merge_requests[draft.number].title == "Draft: [Tamma] Fix"
    with pytest.raises(Conflict, match="draft"):
        platform.merge(draft.number)
    with pytest.raises(Conflict):
        platform.open_pull_request(title="again", body="", head="tamma/issue-1", base="main")
    with pytest.raises(NotFound, match="does not exist"):
        platform.open_pull_request(title="t", body="", head="missing", base="main")


def test_conflicting_merge_requests_are_conflicts(
    gitlab: tuple[GitLabPlatform, FakeGitLab, list[float]],
) -> None:
    platform, fake, _ = gitlab
    request = fake.add_merge_request(PROJECT, source_branch="feature")
    fake.set_merge_request(PROJECT, request.iid, has_conflicts=True)
    with pytest.raises(Conflict, match="cannot be merged"):
        platform.merge(request.iid)


def test_rebase_merge_rebases_first(gitlab: tuple[GitLabPlatform, FakeGitLab, list[float]]) -> None:
    platform, fake, _ = gitlab
    request = fake.add_merge_request(PROJECT, source_branch="feature")
    before = request.sha
    sha = platform.merge(request.iid, method="rebase", delete_branch=False)
    assert fake.project(PROJECT).branches["main"] == sha
    assert fake.project(PROJECT).branches["feature"] != before  # the source was rebased
    assert any(r.path.endswith("/rebase") for r in fake.requests)


def test_allowed_failures_pass_and_traces_are_plain_and_redacted(
    gitlab: tuple[GitLabPlatform, FakeGitLab, list[float]],
) -> None:
    platform, fake, _ = gitlab
    sha = fake.push(PROJECT, "feature")
    pipeline = fake.add_pipeline(PROJECT, ref="feature")
    fake.add_job(pipeline, "lint", status="failed", allow_failure=True)
    trace = f"section_start:1700000000:step_script\r\x1b[0K\x1b[31mFAILED test_x\x1b[0m token={TOKEN}\n"
    tests = fake.add_job(pipeline, "tests", status="running", trace=trace)
    assert platform.ci_status(sha).state == "pending"
    fake.set_job(tests, status="failed")
    status = platform.ci_status(sha)
    assert [c.name for c in status.failed] == ["tests"]
    log = platform.failed_job_log(status.failed[0].log_id)
    assert "FAILED test_x" in log
    assert "\x1b" not in log
    assert "section_start" not in log
    assert TOKEN not in log


def test_python_gitlab_never_retries_429_behind_our_back(
    gitlab: tuple[GitLabPlatform, FakeGitLab, list[float]],
) -> None:
    platform, fake, slept = gitlab
    fake.add_issue(PROJECT, "x")
    fake.throttle(2, retry_after=7)
    assert platform.get_issue(1, with_comments=False).title == "x"
    assert slept == [7.0, 7.0]  # our policy waited, python-gitlab's own retry did not
    fake.throttle(4, retry_after=0)
    with pytest.raises(PlatformRateLimited, match="retry after"):
        platform.get_issue(1, with_comments=False)
    assert slept[2:] == [2.0, 4.0, 8.0]
    limits = platform.rate_limit()
    assert limits is not None
    assert limits.limit == 2000


def test_read_only_tokens_name_the_missing_scope(fake_gitlab: FakeGitLab) -> None:
    fake_gitlab.add_project(PROJECT)
    fake_gitlab.add_issue(PROJECT, "x")
    read_only = "glpat-" + "r" * 20
    fake_gitlab.add_token(read_only, scopes=["read_api"])
    platform = GitLabPlatform(PROJECT, token=read_only, base_url=fake_gitlab.url)
    assert platform.get_issue(1).title == "x"
    with pytest.raises(Forbidden, match="'api' scope") as refused:
        platform.add_comment(1, "hello")
    assert refused.value.missing_scope == "api"
    assert read_only not in str(refused.value)
    with pytest.raises(Forbidden, match="401"):
        GitLabPlatform(PROJECT, token="glpat-" + "x" * 20, base_url=fake_gitlab.url).get_issue(1)
