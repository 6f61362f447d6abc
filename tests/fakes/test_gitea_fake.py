"""The fake Gitea checked on the wire with plain httpx: what any Gitea client would see.

Why: the adapter's tests pass only if the fake speaks Gitea, so its paging headers, error
bodies and the commit status an Actions job posts are pinned here, apart from any adapter.
"""

from __future__ import annotations

import httpx
import pytest

from tests.fakes._server import error_reply
from tests.fakes.gitea import TOKEN, FakeGitea

REPO = "octo/demo"


@pytest.fixture
def api(fake_gitea: FakeGitea) -> httpx.Client:
    fake_gitea.create_repo(REPO)
    return httpx.Client(base_url=fake_gitea.api_url, headers={"Authorization": f"token {TOKEN}"})


def test_lists_page_newest_first_with_total_count_and_link(fake_gitea: FakeGitea, api: httpx.Client) -> None:
    for n in range(1, 36):
        fake_gitea.create_issue(REPO, f"Issue {n}")
    first = api.get(f"/repos/{REPO}/issues")
    second = api.get(f"/repos/{REPO}/issues", params={"page": 2})
    assert [i["number"] for i in first.json()][:2] == [35, 34]
    assert (len(first.json()), len(second.json()), first.headers["x-total-count"]) == (30, 5, "35")
    assert first.links["next"]["url"].endswith("page=2&limit=30")
    assert "next" not in second.links


def test_errors_have_gitea_shape_and_scripted_replies_come_first(
    fake_gitea: FakeGitea, api: httpx.Client
) -> None:
    fake_gitea.enqueue(error_reply(500, {"message": "boom"}))
    assert api.get(f"/repos/{REPO}").status_code == 500
    missing = api.get(f"/repos/{REPO}/issues/9")
    anonymous = httpx.get(f"{fake_gitea.api_url}/repos/{REPO}")
    assert (missing.status_code, missing.json()["message"]) == (404, "The target couldn't be found.")
    assert missing.json()["url"].endswith("/api/swagger")
    assert (anonymous.status_code, anonymous.json()["message"]) == (401, "token is required")


def test_an_actions_job_posts_the_commit_status_that_points_at_it(
    fake_gitea: FakeGitea, api: httpx.Client
) -> None:
    sha = fake_gitea.push(REPO, "feature")
    job = fake_gitea.add_actions_job(REPO, sha, "tests", branch="feature")
    assert api.get(f"/repos/{REPO}/commits/{sha}/status").json()["state"] == "pending"
    fake_gitea.finish_job(REPO, job, conclusion="failure", log="boom\n")
    combined = api.get(f"/repos/{REPO}/commits/{sha}/status").json()
    run = api.get(f"/repos/{REPO}/actions/runs", params={"head_sha": sha}).json()["workflow_runs"][0]
    listed = api.get(f"/repos/{REPO}/actions/runs/{run['id']}/jobs").json()["jobs"][0]
    assert (combined["state"], combined["total_count"]) == ("failure", 1)
    assert combined["statuses"][0]["context"] == "ci / tests (push)"
    assert combined["statuses"][0]["target_url"] == listed["html_url"]
    assert api.get(f"/repos/{REPO}/actions/jobs/{listed['id']}/logs").text == "boom\n"
