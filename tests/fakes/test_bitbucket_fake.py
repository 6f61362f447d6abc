"""The fake Bitbucket Cloud checked on the wire with plain httpx: what any API 2.0 client would see.

Why: the adapter's tests pass only if the fake speaks Bitbucket, so its page shape, error bodies,
BBQL, short hashes and the build status a pipeline posts are pinned here, apart from any adapter.
"""

from __future__ import annotations

import httpx
import pytest

from tests.fakes.bitbucket import APP_PASSWORD, TOKEN, USERNAME, FakeBitbucket

REPO = "octo/demo"


@pytest.fixture
def api(fake_bitbucket: FakeBitbucket) -> httpx.Client:
    fake_bitbucket.create_repo(REPO)
    return httpx.Client(base_url=fake_bitbucket.api_url, headers={"Authorization": f"Bearer {TOKEN}"})


def test_lists_are_values_with_a_next_link_and_bbql_filters(
    fake_bitbucket: FakeBitbucket, api: httpx.Client
) -> None:
    for n in range(1, 13):
        fake_bitbucket.create_issue(REPO, f"Issue {n}", state="resolved" if n == 12 else "new")
    first = api.get(f"/repositories/{REPO}/issues").json()
    assert (len(first["values"]), first["size"], first["pagelen"]) == (10, 12, 10)
    assert first["next"].startswith("https://api.bitbucket.org/2.0/repositories/octo/demo/issues?")
    assert first["values"][0]["reporter"]["uuid"].startswith("{")
    query = '(state = "new" OR state = "open") AND title ~ "issue 1"'
    found = api.get(f"/repositories/{REPO}/issues", params={"q": query}).json()["values"]
    assert [issue["title"] for issue in found] == ["Issue 1", "Issue 10", "Issue 11"]


def test_errors_have_bitbucket_shape_and_basic_auth_works(
    fake_bitbucket: FakeBitbucket, api: httpx.Client
) -> None:
    missing = api.get(f"/repositories/{REPO}/issues/9")
    anonymous = httpx.get(f"{fake_bitbucket.api_url}/repositories/{REPO}")
    basic = httpx.get(f"{fake_bitbucket.api_url}/repositories/{REPO}", auth=(USERNAME, APP_PASSWORD))
    assert (missing.status_code, missing.json()["error"]["message"]) == (404, "Issue not found")
    assert (anonymous.status_code, anonymous.json()["type"]) == (401, "error")
    assert basic.json()["mainbranch"]["name"] == "main"
    fake_bitbucket.throttle(1)
    assert api.get(f"/repositories/{REPO}").status_code == 429


def test_pull_requests_carry_short_hashes_and_pipelines_post_build_statuses(
    fake_bitbucket: FakeBitbucket, api: httpx.Client
) -> None:
    sha = fake_bitbucket.push(REPO, "feature")
    pull = api.post(
        f"/repositories/{REPO}/pullrequests", json={"title": "T", "source": {"branch": {"name": "feature"}}}
    ).json()
    assert pull["source"]["commit"]["hash"] == sha[:12]
    assert api.get(f"/repositories/{REPO}/commit/{sha[:12]}").json()["hash"] == sha
    pipeline = fake_bitbucket.add_pipeline(REPO, sha, "tests", branch="feature")
    fake_bitbucket.finish_pipeline(REPO, pipeline, passed=False, log="boom\n")
    status = api.get(f"/repositories/{REPO}/commit/{sha}/statuses").json()["values"][0]
    assert (status["state"], status["name"]) == ("FAILED", "Pipeline #1 for feature")
    assert status["url"].endswith("/pipelines/results/1")
    step = pipeline.steps[0].uuid
    assert api.get(f"/repositories/{REPO}/pipelines/{pipeline.uuid}/steps/{step}/log").text == "boom\n"
