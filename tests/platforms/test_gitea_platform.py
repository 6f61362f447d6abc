"""GiteaPlatform over httpx against the fake Gitea REST API v1.

The scenarios every platform shares are in `tests/contracts/test_platforms.py`; these are the
Gitea ones: a fork's pull request on the same branch name, merge styles, drafts by "WIP:" title,
a proxy's 429, issue pages walked oldest first, Actions logs and their absence, references.
"""

from __future__ import annotations

import json
import time
from email.utils import formatdate
from pathlib import Path

import pytest

from tamma.config import load_settings
from tamma.errors import ConfigError, Conflict, Forbidden, InvalidReference, NotFound, PlatformError
from tamma.platforms import IssueRef
from tamma.platforms._factory import open_platform
from tamma.platforms._gitea import GiteaPlatform
from tamma.platforms._ratelimit import RateLimitPolicy
from tests.config_fixtures import MemoryKeyring
from tests.fakes._server import Disconnect, TextReply, error_reply
from tests.fakes.gitea import TOKEN, FakeGitea

REPO = "octo/demo"
BRANCH = "tamma/issue-1-fix"

Setup = tuple[GiteaPlatform, FakeGitea, list[float]]


@pytest.fixture
def gitea(fake_gitea: FakeGitea) -> Setup:
    fake_gitea.create_repo(REPO)
    slept: list[float] = []
    platform = GiteaPlatform(
        REPO,
        token=TOKEN,
        base_url=f"{fake_gitea.url}/api/v1/",
        rate_limits=RateLimitPolicy(sleep=slept.append),
    )
    return platform, fake_gitea, slept


def test_a_forks_pull_request_on_the_same_branch_name_is_not_ours(gitea: Setup) -> None:
    platform, fake, _ = gitea
    fork = fake.fork(REPO, "mallory")
    fake.open_pull(REPO, head=BRANCH, title="Mallory's", head_repo=fork)
    assert platform.find_pull_request(BRANCH) is None
    platform.create_branch(BRANCH, "main")
    fake.push(REPO, BRANCH)
    ours = platform.open_pull_request(title="Ours", body="plan", head=BRANCH, base="main")
    found = platform.find_pull_request(BRANCH)
    assert found is not None
    assert (found.number, found.title) == (ours.number, "Ours")


@pytest.mark.parametrize("method", ["merge", "squash", "rebase"])
def test_merge_styles_are_sent_as_do_and_the_merge_commit_read_back(gitea: Setup, method: str) -> None:
    platform, fake, _ = gitea
    number = fake.open_pull(REPO, head=BRANCH).number
    merged = platform.merge(number, method=method)  # type: ignore[arg-type]
    sent = next(r for r in fake.requests if r.path.endswith(f"/pulls/{number}/merge"))
    assert sent.json == {"Do": method, "delete_branch_after_merge": True}
    assert merged == fake.branch_sha(REPO, "main")
    assert fake.branch_sha(REPO, BRANCH) is None


def test_conflicts_and_work_in_progress_refuse_to_merge(gitea: Setup) -> None:
    platform, fake, _ = gitea
    conflicting = fake.open_pull(REPO, head="tamma/a").number
    fake.set_conflicts(REPO, conflicting)
    with pytest.raises(Conflict, match="409"):
        platform.merge(conflicting)
    wip = fake.open_pull(REPO, head="tamma/b", title="WIP: Not yet").number
    with pytest.raises(Conflict, match="Work in progress"):
        platform.merge(wip)
    assert fake.branch_sha(REPO, "tamma/a")
    assert fake.branch_sha(REPO, "tamma/b")


def test_drafts_carry_the_wip_prefix_and_read_back_without_it(gitea: Setup) -> None:
    platform, fake, _ = gitea
    platform.create_branch(BRANCH, "main")
    fake.push(REPO, BRANCH)
    opened = platform.open_pull_request(title="Fix it", body="plan", head=BRANCH, base="main", draft=True)
    assert fake.repo(REPO).issues[opened.number].title == "WIP: Fix it"
    assert (opened.title, opened.draft) == ("Fix it", True)
    with pytest.raises(Conflict, match="already exists"):
        platform.open_pull_request(title="Again", body="", head=BRANCH, base="main")


def test_a_proxys_429_is_waited_out_for_its_retry_after(gitea: Setup) -> None:
    platform, fake, slept = gitea
    number = fake.create_issue(REPO, "Slow down")
    fake.throttle(2, retry_after=7)
    assert platform.get_issue(number, with_comments=False).title == "Slow down"
    in_a_minute = formatdate(time.time() + 60, usegmt=True)
    fake.enqueue(TextReply("Too Many Requests", status=429, headers={"Retry-After": in_a_minute}))
    assert platform.get_issue(number, with_comments=False).title == "Slow down"
    assert slept[:2] == [7.0, 7.0]
    assert 55 <= slept[2] <= 60  # an HTTP date, as some proxies send, is waited out too
    assert platform.rate_limit() is None


def test_server_errors_keep_their_status_and_dropped_connections_are_platform_errors(gitea: Setup) -> None:
    platform, fake, _ = gitea
    fake.enqueue(error_reply(502, {"message": "Bad Gateway"}), Disconnect())
    with pytest.raises(PlatformError, match="Bad Gateway") as failed:
        platform.repository()
    assert failed.value.status == 502
    with pytest.raises(PlatformError, match="no answer"):
        platform.repository()
    assert platform.repository().default_branch == "main"


def test_issues_come_oldest_first_across_pages_and_unknown_labels_list_nothing(gitea: Setup) -> None:
    platform, fake, _ = gitea
    for n in range(1, 61):
        fake.create_issue(REPO, f"Issue {n}", labels=["tamma"] if n % 2 else ["docs"])
    fake.open_pull(REPO, head=BRANCH)
    assert [i.title for i in platform.list_issues(labels=["tamma"])] == [
        f"Issue {n}" for n in range(1, 61, 2)
    ]
    assert len(list(platform.list_issues())) == 60  # the pull request is not an issue here
    assert list(platform.list_issues(labels=["nonexistent"])) == []
    pages = [r for r in fake.requests if r.path.endswith("/issues") and "docs" not in r.query]
    assert len(pages) == 3  # 50 a page, the second found by Link: rel="next"


def test_labels_are_created_when_missing_and_assignees_added_not_replaced(gitea: Setup) -> None:
    platform, fake, _ = gitea
    fake.add_user("ada")
    fake.add_user("bob")
    number = fake.create_issue(REPO, "Bug", labels=["bug"])
    platform.add_labels(number, ["tamma", "bug"])
    platform.assign(number, ["ada"])
    platform.assign(number, ["bob"])
    issue = platform.get_issue(number)
    assert (issue.labels, issue.assignees) == (("bug", "tamma"), ("ada", "bob"))
    with pytest.raises(NotFound, match="user does not exist"):
        platform.assign(number, ["nobody"])


def test_a_token_without_the_scope_is_forbidden_naming_it(gitea: Setup) -> None:
    _, fake, _ = gitea
    fake.add_token("read-only", scopes=())
    number = fake.create_issue(REPO, "Bug")
    reader = GiteaPlatform(REPO, token="read-only", base_url=fake.url)
    assert reader.get_issue(number).title == "Bug"
    with pytest.raises(Forbidden) as refused:
        reader.add_comment(number, "hello")
    assert refused.value.missing_scope == "write:issue"
    with pytest.raises(Forbidden, match="401"):
        GiteaPlatform(REPO, token="wrong", base_url=fake.url).repository()


def test_a_failed_actions_job_has_its_log_and_external_ci_only_its_url(gitea: Setup) -> None:
    platform, fake, _ = gitea
    sha = fake.push(REPO, BRANCH)
    job = fake.add_actions_job(REPO, sha, "tests", branch=BRANCH)
    fake.finish_job(REPO, job, conclusion="failure", log="FAILED test_x - token ghp_" + "a" * 36)
    fake.add_status(REPO, sha, "woodpecker", "error", "https://ci.example.com/1")
    status = platform.ci_status(sha)
    checks = {check.name: check for check in status.failed}
    assert set(checks) == {"ci / tests (push)", "woodpecker"}
    assert checks["woodpecker"].log_id == ""
    log = platform.failed_job_log(checks["ci / tests (push)"].log_id)
    assert "FAILED test_x" in log
    assert "ghp_" + "a" * 36 not in log

    fake.state.actions_api = False  # Forgejo, or Gitea before 1.24
    assert all(check.log_id == "" for check in platform.ci_status(sha).failed)


def test_gitea_references_and_urls_of_known_hosts() -> None:
    assert str(IssueRef.parse("gitea:octo/demo#4")) == "gitea:octo/demo#4"
    assert IssueRef.parse("https://codeberg.org/octo/demo/issues/4").platform == "gitea"
    hosted = IssueRef.parse("https://git.example.com/octo/demo/pulls/9", gitea_hosts=["git.example.com"])
    assert str(hosted) == "gitea:octo/demo#9"
    assert IssueRef.parse("https://git.example.com/octo/demo/issues/9").platform == "github"
    with pytest.raises(InvalidReference, match="owner/repo"):
        IssueRef.parse("gitea:a/b/c#1")


def test_the_server_comes_from_settings_and_the_token_from_gitea_token(
    project: Path, keychain: MemoryKeyring, fake_gitea: FakeGitea, monkeypatch: pytest.MonkeyPatch
) -> None:
    fake_gitea.create_repo(REPO)
    with pytest.raises(ConfigError, match=r"platforms\.gitea\.base_url"):
        open_platform("gitea", REPO, load_settings())
    monkeypatch.setenv("TAMMA_PLATFORMS", json.dumps({"gitea": {"base_url": fake_gitea.url}}))
    monkeypatch.setenv("GITEA_TOKEN", TOKEN)
    settings = load_settings()
    assert settings.platforms.gitea.web_hosts == (fake_gitea.url.split("://")[1],)
    assert TOKEN in settings.secrets()
    assert open_platform("gitea", REPO, settings).repository().full_name == REPO
