"""BitbucketPlatform over httpx against the fake Bitbucket Cloud API 2.0.

The scenarios every platform shares are in `tests/contracts/test_platforms.py`; these are the
Bitbucket ones: a fork's pull request on the same branch name, merge strategies, drafts, a 429
with and without `Retry-After`, labels as a `Labels:` line and a component, app passwords,
pages followed by query only, references, settings and git credentials.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tamma.agent.workspace import GitCredentials
from tamma.config import load_settings
from tamma.errors import ConfigError, Conflict, Forbidden, InvalidReference, NotFound, PlatformError
from tamma.platforms import IssueRef
from tamma.platforms._bitbucket import BitbucketPlatform, join_labels, split_labels
from tamma.platforms._factory import open_platform
from tamma.platforms._ratelimit import RateLimitPolicy
from tests.config_fixtures import MemoryKeyring
from tests.fakes._server import RecordedRequest, error_reply
from tests.fakes.bitbucket import APP_PASSWORD, TOKEN, USERNAME, FakeBitbucket

REPO = "octo/demo"
BRANCH = "tamma/issue-1-fix"

Setup = tuple[BitbucketPlatform, FakeBitbucket, list[float]]


@pytest.fixture
def bitbucket(fake_bitbucket: FakeBitbucket) -> Setup:
    fake_bitbucket.create_repo(REPO)
    slept: list[float] = []
    platform = BitbucketPlatform(
        REPO,
        token=TOKEN,
        base_url=f"{fake_bitbucket.api_url}/",
        rate_limits=RateLimitPolicy(sleep=slept.append),
    )
    return platform, fake_bitbucket, slept


def open_ours(platform: BitbucketPlatform, fake: FakeBitbucket, **options: bool) -> int:
    platform.create_branch(BRANCH, "main")
    fake.push(REPO, BRANCH)
    return platform.open_pull_request(title="Ours", body="plan", head=BRANCH, base="main", **options).number


def last_sent(fake: FakeBitbucket, method: str, suffix: str) -> RecordedRequest:
    return next(r for r in reversed(fake.requests) if r.method == method and r.path.endswith(suffix))


def test_a_forks_pull_request_on_the_same_branch_name_is_not_ours(bitbucket: Setup) -> None:
    platform, fake, _ = bitbucket
    fork = fake.fork(REPO, "mallory")
    fake.open_pull(REPO, branch=BRANCH, source=fork, title="Mallory's")
    assert platform.find_pull_request(BRANCH) is None
    ours = open_ours(platform, fake)
    found = platform.find_pull_request(BRANCH)
    assert found is not None
    assert (found.number, found.title, len(found.head_sha)) == (ours, "Ours", 40)


@pytest.mark.parametrize(
    ("method", "strategy"), [("merge", "merge_commit"), ("squash", "squash"), ("rebase", "fast_forward")]
)
def test_merge_strategies_and_close_source_branch_are_sent(
    bitbucket: Setup, method: str, strategy: str
) -> None:
    platform, fake, _ = bitbucket
    number = open_ours(platform, fake)
    head = fake.branch_sha(REPO, BRANCH)
    merged = platform.merge(number, method=method, delete_branch=False)  # type: ignore[arg-type]
    sent = last_sent(fake, "POST", "/merge")
    assert (sent.json["merge_strategy"], sent.json["close_source_branch"]) == (strategy, False)
    assert fake.branch_sha(REPO, "main") == merged
    assert len(merged) == 40
    assert fake.branch_sha(REPO, BRANCH) == head  # kept: close_source_branch was false
    if method == "rebase":
        assert merged == head  # a fast-forward lands the head commit itself


def test_a_fast_forward_behind_its_base_is_a_conflict(bitbucket: Setup) -> None:
    platform, fake, _ = bitbucket
    number = open_ours(platform, fake)
    fake.push(REPO, "main", "someone else's change")
    with pytest.raises(Conflict, match="fast_forward"):
        platform.merge(number, method="rebase")


def test_drafts_use_the_draft_field(bitbucket: Setup) -> None:
    platform, fake, _ = bitbucket
    open_ours(platform, fake, draft=True)
    assert last_sent(fake, "POST", "/pullrequests").json["draft"] is True
    found = platform.find_pull_request(BRANCH)
    assert found is not None
    assert found.draft
    assert found.title == "Ours"


def test_a_429_is_waited_out_for_its_retry_after_or_our_backoff(bitbucket: Setup) -> None:
    platform, fake, slept = bitbucket
    fake.throttle(1, retry_after=7)
    assert platform.repository().full_name == REPO
    fake.throttle(1)
    assert platform.repository().default_branch == "main"
    assert slept == [7.0, 2.0]


def test_errors_are_typed_and_carry_bitbuckets_message(bitbucket: Setup) -> None:
    platform, fake, _ = bitbucket
    with pytest.raises(NotFound, match="Issue not found"):
        platform.get_issue(5)
    fake.enqueue(error_reply(500, {"type": "error", "error": {"message": "Something went wrong"}}))
    with pytest.raises(PlatformError, match="Something went wrong") as failed:
        platform.repository()
    assert failed.value.status == 500
    fake.enqueue(
        error_reply(
            403,
            {"type": "error", "error": {"message": "Lacks scope", "detail": {"required": ["issue:write"]}}},
        )
    )
    with pytest.raises(Forbidden, match="issue:write"):
        platform.add_comment(1, "hello")
    wrong = BitbucketPlatform(REPO, token="not-the-token", base_url=fake.api_url)
    with pytest.raises(Forbidden, match="401"):
        wrong.repository()


def test_an_app_password_authenticates_with_basic_auth(fake_bitbucket: FakeBitbucket) -> None:
    fake_bitbucket.create_repo(REPO)
    platform = BitbucketPlatform(REPO, app_password=(USERNAME, APP_PASSWORD), base_url=fake_bitbucket.api_url)
    assert platform.repository().clone_url == f"https://bitbucket.org/{REPO}.git"  # the username dropped
    assert fake_bitbucket.last_request.headers["authorization"].startswith("Basic ")


def test_labels_are_a_closing_line_plus_the_component(bitbucket: Setup) -> None:
    platform, fake, _ = bitbucket
    number = fake.create_issue(REPO, "Crash", "It crashes.", component="tamma")
    assert platform.get_issue(number).labels == ("tamma",)
    platform.add_labels(number, ["bug", "bug"])
    assert fake.issue(REPO, number).raw == "It crashes.\n\nLabels: bug"
    assert [i.ref.number for i in platform.list_issues(labels=["tamma", "bug"])] == [number]
    platform.remove_labels(number, ["tamma", "bug"])
    issue = platform.get_issue(number)
    assert (issue.body, issue.labels, fake.issue(REPO, number).component) == ("It crashes.", (), None)
    assert split_labels(join_labels("a\n\nLabels: not last\nmore", ["x"])) == (
        "a\n\nLabels: not last\nmore",
        ("x",),
    )


def test_issues_page_by_query_only_and_closed_states_are_closed(bitbucket: Setup) -> None:
    platform, fake, _ = bitbucket
    for n in range(1, 56):
        fake.create_issue(REPO, f"Issue {n}", join_labels("", ["tamma"]))
    fake.create_issue(REPO, "Done", join_labels("", ["tamma"]), state="resolved")
    listed = list(platform.list_issues(labels=["tamma"]))
    assert [i.title for i in listed][:2] == ["Issue 1", "Issue 2"]
    assert len(listed) == 55
    assert [i.title for i in platform.list_issues(labels=["tamma"], state="closed")] == ["Done"]
    assert all(
        r.headers["host"].startswith("127.0.0.1") for r in fake.requests
    )  # `next` names api.bitbucket.org


def test_one_assignee_by_nickname(bitbucket: Setup) -> None:
    platform, fake, _ = bitbucket
    number = fake.create_issue(REPO, "Crash")
    fake.state.user("alice")
    platform.assign(number, ["alice", "bob"])
    assert platform.get_issue(number).assignees == ("alice",)
    assert [i.ref.number for i in platform.list_issues(assignee="alice")] == [number]


def test_a_failed_pipeline_step_has_its_log_and_other_statuses_none(bitbucket: Setup) -> None:
    platform, fake, _ = bitbucket
    sha = fake.push(REPO, BRANCH)
    pipeline = fake.add_pipeline(REPO, sha, "tests", branch=BRANCH)
    fake.finish_pipeline(REPO, pipeline, passed=False, log="boom\n")
    failed = platform.ci_status(sha).failed
    assert [check.log_id for check in failed] == [f"{pipeline.uuid}/{pipeline.steps[0].uuid}"]
    assert platform.failed_job_log(failed[0].log_id) == "boom\n"
    with pytest.raises(InvalidReference):
        platform.failed_job_log("12")


def test_bitbucket_references_and_issue_urls() -> None:
    assert str(IssueRef.parse("bitbucket:octo/demo#4")) == "bitbucket:octo/demo#4"
    assert (
        str(IssueRef.parse("https://bitbucket.org/octo/demo/issues/4/crash-on-start"))
        == "bitbucket:octo/demo#4"
    )
    assert IssueRef.parse("https://bitbucket.org/octo/demo/issues/4").platform == "bitbucket"
    with pytest.raises(InvalidReference):
        IssueRef.parse("https://bitbucket.org/octo/demo/pull-requests/4")
    with pytest.raises(InvalidReference, match="workspace/repo"):
        IssueRef.parse("bitbucket:a/b/c#1")


def test_credentials_come_from_the_token_or_the_app_password(
    project: Path, keychain: MemoryKeyring, fake_bitbucket: FakeBitbucket, monkeypatch: pytest.MonkeyPatch
) -> None:
    fake_bitbucket.create_repo(REPO)
    monkeypatch.setenv("TAMMA_PLATFORMS", json.dumps({"bitbucket": {"base_url": fake_bitbucket.api_url}}))
    with pytest.raises(ConfigError, match="BITBUCKET_APP_PASSWORD"):
        open_platform("bitbucket", REPO, load_settings())
    monkeypatch.setenv("BITBUCKET_USERNAME", USERNAME)
    monkeypatch.setenv("BITBUCKET_APP_PASSWORD", APP_PASSWORD)
    settings = load_settings()
    assert APP_PASSWORD in settings.secrets()
    assert open_platform("bitbucket", REPO, settings).repository().full_name == REPO
    monkeypatch.setenv("BITBUCKET_TOKEN", TOKEN)
    settings = load_settings()
    assert TOKEN in settings.secrets()
    assert open_platform("bitbucket", REPO, settings).repository().full_name == REPO
    assert fake_bitbucket.last_request.headers["authorization"] == f"Bearer {TOKEN}"
    assert GitCredentials.for_bitbucket(TOKEN).username == "x-token-auth"
