"""The fake GitHub checked through the client the GitHub platform uses: the real PyGithub.

Why: a fake that drifts from GitHub's wire format would let the adapter pass here and fail against
GitHub, so every answer is decoded by PyGithub's own code (URL building, lazy completion,
`PaginatedList` walking `Link` headers, exception mapping, rate-limit bookkeeping), never by the
fake's. PyGithub's own retry is off (`retry=None`) wherever a raw error is the point.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any
from urllib.parse import parse_qs

import github
import pytest

from tests.fakes import error_reply
from tests.fakes.github import FakeGitHub

TOKEN = "ghp_test0123456789abcdefABCDEF0123456789"
REPO = "octo/demo"

Client = Callable[..., github.Github]


@pytest.fixture
def client(fake_github: FakeGitHub) -> Client:
    """Builds a PyGithub client on the fake: no retries, no politeness delays (tests stay fast)."""

    def build(**options: Any) -> github.Github:
        settings: dict[str, Any] = {
            "retry": None,
            "seconds_between_requests": None,
            "seconds_between_writes": None,
        }
        settings.update(options)
        return github.Github(base_url=fake_github.base_url, auth=github.Auth.Token(TOKEN), **settings)

    return build


@pytest.fixture
def main_sha(fake_github: FakeGitHub) -> str:
    return fake_github.create_repo(REPO, collaborators=["alice"])


def test_repository_and_authenticated_user(fake_github: FakeGitHub, main_sha: str, client: Client) -> None:
    gh = client()
    repo = gh.get_repo(REPO)

    assert (repo.full_name, repo.default_branch, repo.owner.login) == (REPO, "main", "octo")
    assert repo.clone_url == f"{fake_github.url}/{REPO}.git"
    assert repo.get_branch("main").commit.sha == main_sha
    assert gh.get_user().login == "tamma-bot"
    request = fake_github.last_request
    assert request.path == "/api/v3/user"
    assert request.headers["authorization"] == f"token {TOKEN}"


def test_lazy_client_fetches_only_what_it_reads(
    fake_github: FakeGitHub, main_sha: str, client: Client
) -> None:
    number = fake_github.create_issue(REPO, "Lazy")
    repo = client(lazy=True).get_repo(REPO)

    issue, commit = repo.get_issue(number), repo.get_commit("main")
    assert fake_github.requests == []
    assert issue.title == "Lazy"
    assert commit.get_combined_status().sha == main_sha
    assert [request.path for request in fake_github.requests] == [
        f"/api/v3/repos/{REPO}/issues/{number}",
        f"/api/v3/repos/{REPO}/commits/main/status",
    ]


def test_unknown_resources_are_404(main_sha: str, client: Client) -> None:
    gh = client()
    with pytest.raises(github.UnknownObjectException) as missing_repo:
        gh.get_repo("octo/nope")
    with pytest.raises(github.UnknownObjectException):
        gh.get_repo(REPO).get_issue(99)

    assert missing_repo.value.status == 404
    assert missing_repo.value.data["documentation_url"].startswith("https://docs.github.com/")


def test_issues_by_label_walk_every_page(fake_github: FakeGitHub, main_sha: str, client: Client) -> None:
    for number in range(10):
        labels = ["tamma", "bug"] if number % 3 else ["bug"]
        fake_github.create_issue(REPO, f"Issue {number}", labels=labels)
    fake_github.create_issue(REPO, "Closed one", labels=["tamma"], state="closed")
    repo = client(per_page=2).get_repo(REPO)
    before = len(fake_github.requests)

    issues = list(repo.get_issues(labels=["TAMMA"], state="open"))

    assert [issue.number for issue in issues] == [9, 8, 6, 5, 3, 2]
    queries = [parse_qs(request.query) for request in fake_github.requests[before:]]
    assert [query.get("page", ["1"]) for query in queries] == [["1"], ["2"], ["3"]]
    assert all(query["per_page"] == ["2"] and query["labels"] == ["TAMMA"] for query in queries)
    assert repo.get_issues(labels=["tamma"]).totalCount == 6
    assert [i.number for i in repo.get_issues(labels=["tamma"], state="closed")] == [11]


def test_link_header_names_prev_next_last_first(
    fake_github: FakeGitHub, main_sha: str, client: Client
) -> None:
    for number in range(5):
        fake_github.create_issue(REPO, f"Issue {number}", labels=["a b"])
    requester = client().requester

    headers, page = requester.requestJsonAndCheck(
        "GET", f"/repos/{REPO}/issues", parameters={"labels": "a b", "per_page": 2, "page": 2}
    )

    base = f"{fake_github.base_url}/repos/{REPO}/issues?labels=a+b&per_page=2"
    assert [issue["number"] for issue in page] == [3, 2]
    assert headers["link"] == (
        f'<{base}&page=1>; rel="prev", <{base}&page=3>; rel="next", '
        f'<{base}&page=3>; rel="last", <{base}&page=1>; rel="first"'
    )


def test_comments_labels_and_assignees(fake_github: FakeGitHub, main_sha: str, client: Client) -> None:
    number = fake_github.create_issue(REPO, "Add a feature", labels=["tamma"])
    fake_github.add_comment(REPO, number, "Please also update the docs")
    issue = client(per_page=1).get_repo(REPO).get_issue(number)

    comment = issue.create_comment("Working on it\n<!-- tamma:attempt-1 -->")
    issue.add_to_labels("in progress", "Tamma")
    issue.remove_from_labels("in progress")
    issue.add_to_assignees("alice", "mallory")  # mallory may not be assigned: silently dropped

    assert comment.user.login == "tamma-bot"
    bodies = [c.body for c in issue.get_comments()]
    assert bodies == ["Please also update the docs", "Working on it\n<!-- tamma:attempt-1 -->"]
    stored = fake_github.issue(REPO, number)
    assert (stored.labels, stored.assignees) == (["tamma"], ["alice"])
    with pytest.raises(github.GithubException) as absent:
        issue.remove_from_labels("never-there")
    assert (absent.value.status, absent.value.data["message"]) == (404, "Label does not exist")


def test_branch_from_a_sha_and_its_errors(fake_github: FakeGitHub, main_sha: str, client: Client) -> None:
    repo = client().get_repo(REPO)

    ref = repo.create_git_ref("refs/heads/tamma/issue-1", main_sha)

    assert (ref.ref, ref.object.sha) == ("refs/heads/tamma/issue-1", main_sha)
    assert repo.get_git_ref("heads/tamma/issue-1").object.sha == main_sha
    assert repo.get_branch("tamma/issue-1").commit.sha == main_sha
    with pytest.raises(github.GithubException) as duplicate:
        repo.create_git_ref("refs/heads/tamma/issue-1", main_sha)
    assert (duplicate.value.status, duplicate.value.message) == (422, "Reference already exists")
    with pytest.raises(github.GithubException) as unknown_sha:
        repo.create_git_ref("refs/heads/other", "0" * 40)
    assert unknown_sha.value.status == 422

    repo.get_git_ref("heads/tamma/issue-1").delete()
    assert fake_github.branch_sha(REPO, "tamma/issue-1") is None
    with pytest.raises(github.UnknownObjectException):
        repo.get_git_ref("heads/tamma/issue-1")


def test_pull_request_create_find_edit(fake_github: FakeGitHub, main_sha: str, client: Client) -> None:
    repo = client().get_repo(REPO)
    repo.create_git_ref("refs/heads/feature", main_sha)
    with pytest.raises(github.GithubException) as empty:
        repo.create_pull(base="main", head="feature", title="Nothing yet")
    assert "No commits between main and feature" in str(empty.value.data["errors"])
    head = fake_github.push(REPO, "feature", "Implement it")

    created = repo.create_pull(base="main", head="feature", title="Feature", body="Closes #1", draft=True)
    found = list(repo.get_pulls(state="open", head="octo:feature"))
    repo.get_pull(created.number).edit(body="Closes #1\n\n<!-- tamma:run-7 -->")

    assert (created.draft, created.head.sha, created.head.ref, created.base.ref) == (
        True,
        head,
        "feature",
        "main",
    )
    assert [pull.number for pull in found] == [created.number]
    assert list(repo.get_pulls(head="octo:other")) == []
    assert repo.get_pull(created.number).body.endswith("<!-- tamma:run-7 -->")
    assert [i.pull_request is not None for i in repo.get_issues()] == [True]  # PRs are issues too
    with pytest.raises(github.GithubException) as again:
        repo.create_pull(base="main", head="feature", title="Twice")
    assert again.value.status == 422
    assert "A pull request already exists for octo:feature." in str(again.value.data["errors"])


def test_merge_moves_the_base_and_closes_the_issue(
    fake_github: FakeGitHub, main_sha: str, client: Client
) -> None:
    issue = fake_github.create_issue(REPO, "Bug")
    head = fake_github.push(REPO, "fix", "Fix the bug")
    repo = client().get_repo(REPO)
    pull = repo.create_pull(base="main", head="fix", title="Fix", body=f"Fixes #{issue}")

    with pytest.raises(github.GithubException) as moved:
        pull.merge(merge_method="squash", sha=main_sha)
    result = pull.merge(merge_method="squash", sha=head)

    assert moved.value.status == 409
    assert result.merged
    assert fake_github.branch_sha(REPO, "main") == result.sha
    merged = repo.get_pull(pull.number)
    assert (merged.merged, merged.state, merged.merge_commit_sha) == (True, "closed", result.sha)
    assert repo.get_issue(issue).state == "closed"
    with pytest.raises(github.GithubException) as twice:
        pull.merge()
    assert (twice.value.status, twice.value.data["message"]) == (405, "Pull Request is not mergeable")
    merged.delete_branch()
    assert fake_github.branch_sha(REPO, "fix") is None


def test_conflicting_pull_request_is_405(fake_github: FakeGitHub, main_sha: str, client: Client) -> None:
    fake_github.push(REPO, "topic")
    pull = client().get_repo(REPO).create_pull(base="main", head="topic", title="Topic")
    fake_github.set_mergeable(REPO, pull.number, False)

    assert client().get_repo(REPO).get_pull(pull.number).mergeable_state == "dirty"
    with pytest.raises(github.GithubException) as refused:
        pull.merge(merge_method="rebase")
    assert refused.value.status == 405


def test_branch_protection_and_merge_settings(fake_github: FakeGitHub, client: Client) -> None:
    fake_github.create_repo(
        REPO, required_checks=["ci"], merge_methods=["squash"], delete_branch_on_merge=True
    )
    head = fake_github.push(REPO, "guarded")
    pull = client().get_repo(REPO).create_pull(base="main", head="guarded", title="Guarded")

    with pytest.raises(github.GithubException) as no_rebase:
        pull.merge(merge_method="rebase")
    with pytest.raises(github.GithubException) as unchecked:
        pull.merge(merge_method="squash")
    fake_github.set_status(REPO, head, "failure", context="ci")
    assert client().get_repo(REPO).get_pull(pull.number).mergeable_state == "blocked"
    fake_github.set_status(REPO, head, "success", context="ci")
    pull.merge(merge_method="squash")

    assert no_rebase.value.data["message"] == "Rebase merges are not allowed on this repository."
    assert unchecked.value.data["message"] == 'Required status check "ci" is expected.'
    assert fake_github.branch_sha(REPO, "guarded") is None


def test_ci_pending_then_failure_with_log_then_success(
    fake_github: FakeGitHub, main_sha: str, client: Client
) -> None:
    head = fake_github.push(REPO, "feature")
    gh = client()
    commit = gh.get_repo(REPO).get_commit(head)
    fake_github.set_status(REPO, head, "pending", context="lint")
    run = fake_github.add_check_run(REPO, head, "tests", status="in_progress")

    assert commit.get_combined_status().state == "pending"
    (pending,) = commit.get_check_runs()
    assert (pending.name, pending.status) == ("tests", "in_progress")
    assert pending.conclusion is None

    fake_github.set_status(REPO, head, "success", context="lint")
    fake_github.update_check_run(
        REPO, run, conclusion="failure", log="collected 3 items\nFAILED test_x - boom\n"
    )
    failed = next(iter(commit.get_check_runs()))
    job = gh.get_repo(REPO).get_workflow_job(failed.id)
    location = job.logs_url()
    status, _, log = gh.requester.requestJson(
        "GET", f"/repos/{REPO}/actions/jobs/{failed.id}/logs", follow_302_redirect=True
    )

    assert failed.conclusion == "failure"
    assert location.startswith(f"{fake_github.url}/api/_blobs/job-logs/{failed.id}?sig=")
    assert (status, log) == (200, "collected 3 items\nFAILED test_x - boom\n")

    rerun = fake_github.add_check_run(REPO, head, "tests", conclusion="success")
    runs = list(commit.get_check_runs())
    assert [(r.id, r.conclusion) for r in runs] == [(rerun, "success")]
    assert commit.get_combined_status().state == "success"
    assert len(list(commit.get_check_runs(filter="all"))) == 2


def test_job_log_as_text_without_redirect(fake_github: FakeGitHub, main_sha: str, client: Client) -> None:
    fake_github.redirect_logs = False
    run = fake_github.add_check_run(REPO, "main", "build", conclusion="failure", log="error: linker failed")

    status, headers, log = client().requester.requestJson("GET", f"/repos/{REPO}/actions/jobs/{run}/logs")

    assert (status, log) == (200, "error: linker failed")
    assert headers["content-type"].startswith("text/plain")


def test_rate_limit_headers_and_overview(fake_github: FakeGitHub, main_sha: str, client: Client) -> None:
    gh = client()
    gh.get_repo(REPO)
    assert gh.get_repo(REPO).get_issues().totalCount == 0

    remaining, limit = gh.rate_limiting
    core = gh.get_rate_limit().resources.core

    assert (limit, remaining) == (5000, 4997)
    assert (core.limit, core.remaining, core.used) == (5000, 4997, 3)
    assert gh.rate_limiting_resettime > time.time()
    assert fake_github.last_request.path == "/api/v3/rate_limit"


def test_server_without_rate_limiting(fake_github: FakeGitHub, main_sha: str, client: Client) -> None:
    fake_github.limits.enabled = False  # a GitHub Enterprise Server with rate limiting turned off
    gh = client()

    headers, _ = gh.requester.requestJsonAndCheck("GET", f"/repos/{REPO}")
    with pytest.raises(github.GithubException) as disabled:  # a plain 404, not UnknownObjectException
        gh.get_rate_limit()

    assert not any(name.startswith("x-ratelimit-") for name in headers)
    assert (disabled.value.status, disabled.value.data["message"]) == (404, "Rate limiting is not enabled.")


def test_primary_rate_limit(fake_github: FakeGitHub, main_sha: str, client: Client) -> None:
    gh = client()
    fake_github.rate_limit_primary(requests=1, reset_in=30)

    with pytest.raises(github.RateLimitExceededException) as limited:
        gh.get_repo(REPO)

    headers = limited.value.headers or {}
    assert limited.value.status == 403
    assert headers["x-ratelimit-remaining"] == "0"
    assert 25 < int(headers["x-ratelimit-reset"]) - time.time() <= 31
    assert gh.rate_limiting[0] == 0
    assert gh.get_repo(REPO).full_name == REPO  # the next request is served again


def test_quota_runs_out(fake_github: FakeGitHub, main_sha: str, client: Client) -> None:
    fake_github.set_quota(1, reset_in=600)
    gh = client()
    gh.get_repo(REPO)

    with pytest.raises(github.RateLimitExceededException):
        gh.get_repo(REPO)
    assert gh.get_rate_limit().resources.core.remaining == 0


@pytest.mark.parametrize(
    ("status", "exception"),
    [(403, github.RateLimitExceededException), (429, github.GithubException)],
)
def test_secondary_rate_limit(
    fake_github: FakeGitHub, main_sha: str, client: Client, status: int, exception: type[Exception]
) -> None:
    fake_github.rate_limit_secondary(requests=2, retry_after=3, status=status)
    gh = client()

    for _ in range(2):
        with pytest.raises(exception) as limited:
            gh.get_repo(REPO)
        assert isinstance(limited.value, github.GithubException)
        assert limited.value.status == status
        assert (limited.value.headers or {})["retry-after"] == "3"
        assert "secondary rate limit" in limited.value.data["message"]


def test_fine_grained_token_without_permission(
    fake_github: FakeGitHub, main_sha: str, client: Client
) -> None:
    fake_github.add_token(TOKEN, login="reader", permissions={"issues": "read"})
    number = fake_github.create_issue(REPO, "Read me")
    issue = client().get_repo(REPO).get_issue(number)

    with pytest.raises(github.GithubException) as refused:
        issue.create_comment("no")

    assert refused.value.status == 403
    assert (refused.value.headers or {})["x-accepted-github-permissions"] == "issues=write"


def test_bad_credentials(fake_github: FakeGitHub, main_sha: str, client: Client) -> None:
    fake_github.accept_any_token = False

    with pytest.raises(github.BadCredentialsException):
        client().get_repo(REPO)


def test_a_scripted_reply_answers_before_the_model(
    fake_github: FakeGitHub, main_sha: str, client: Client
) -> None:
    fake_github.enqueue(error_reply(502, {"message": "Server Error"}))
    gh = client()

    with pytest.raises(github.GithubException) as bad_gateway:
        gh.get_repo(REPO)

    assert bad_gateway.value.status == 502
    assert gh.get_repo(REPO).full_name == REPO
