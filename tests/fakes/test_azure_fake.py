"""The fake Azure DevOps refuses what the service refuses, so the adapter cannot lean on leniency."""

from __future__ import annotations

import httpx
import pytest

from tests.fakes.azure import TOKEN, FakeAzureDevOps

REPO = "octo/demo-project/demo"


@pytest.fixture
def client(fake_azure: FakeAzureDevOps) -> httpx.Client:
    fake_azure.create_repo(REPO)
    return httpx.Client(base_url=f"{fake_azure.url}/octo/demo-project/_apis", auth=("", TOKEN))


def test_api_version_is_required(client: httpx.Client) -> None:
    answer = client.get("/git/repositories/demo")
    assert (answer.status_code, answer.json()["typeKey"]) == (400, "VssVersionNotSpecifiedException")
    assert client.get("/git/repositories/demo", params={"api-version": "7.1"}).json()["name"] == "demo"


def test_no_credentials_get_a_sign_in_page_and_a_wrong_pat_401(fake_azure: FakeAzureDevOps) -> None:
    fake_azure.create_repo(REPO)
    url = f"{fake_azure.url}/octo/demo-project/_apis/git/repositories/demo?api-version=7.1"
    assert httpx.get(url).status_code == 203
    assert httpx.get(url, auth=("", "wrong")).status_code == 401


def test_comments_need_a_preview_version(client: httpx.Client, fake_azure: FakeAzureDevOps) -> None:
    number = fake_azure.create_work_item("demo-project", "Item")
    path = f"/wit/workItems/{number}/comments"
    assert client.get(path, params={"api-version": "7.1"}).status_code == 400
    assert client.get(path, params={"api-version": "7.1-preview.4"}).json()["totalCount"] == 0


def test_work_item_patches_must_be_json_patch(client: httpx.Client, fake_azure: FakeAzureDevOps) -> None:
    number = fake_azure.create_work_item("demo-project", "Item")
    patch = [{"op": "add", "path": "/fields/System.Tags", "value": "b; a"}]
    params = {"api-version": "7.1"}
    assert client.patch(f"/wit/workitems/{number}", params=params, json=patch).status_code == 415
    answer = client.patch(
        f"/wit/workitems/{number}",
        params=params,
        json=patch,
        headers={"Content-Type": "application/json-patch+json"},
    )
    assert answer.json()["fields"]["System.Tags"] == "a; b"


def test_a_throttled_request_says_when_to_retry(client: httpx.Client, fake_azure: FakeAzureDevOps) -> None:
    fake_azure.throttle(1, retry_after=3)
    answer = client.get("/git/repositories/demo", params={"api-version": "7.1"})
    assert (answer.status_code, answer.headers["retry-after"]) == (429, "3")
    assert answer.headers["x-ratelimit-remaining"] == "0"
