"""`resolve_issue` against the fake Azure DevOps, through the httpx adapter, with clone and push over
a real git HTTP server (the PAT as password) and Azure Pipelines builds that run the tests."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from flows.resolve_issue import resolve_in_process
from tamma.demo.scenario import ISSUE_BODY, ISSUE_TITLE, DemoWorld
from tests.agent.git_http_server import git_http_server
from tests.fakes.azure import FakeAzureDevOps
from tests.flows.forges import branch_heads, on_every_new_head, run_ci
from tests.flows.test_remote_forges import repairs

AZURE_TOKEN = "Az0re" * 10


def test_resolve_issue_on_azure_devops(
    world: DemoWorld, home: Path, fake_azure: FakeAzureDevOps, monkeypatch: pytest.MonkeyPatch
) -> None:
    bare = world.platform.remote
    repo = "acme/shop/shop"

    def pipeline(branch: str, sha: str) -> None:  # an Azure Pipelines build posting its commit status
        build = fake_azure.add_build(repo, sha, "tests")
        passed, log = run_ci(bare, sha)
        fake_azure.finish_build(repo, build, result="succeeded" if passed else "failed", log=log)

    hook = on_every_new_head(bare, lambda: fake_azure.adopt_git_refs(repo, branch_heads(bare)), pipeline)
    with git_http_server(bare.parent, username="tamma", password=AZURE_TOKEN, on_push=hook) as base:
        fake_azure.tokens.add(AZURE_TOKEN)
        fake_azure.create_repo(repo, clone_url=f"{base}/{bare.name}")
        fake_azure.adopt_git_refs(repo, branch_heads(bare))
        number = fake_azure.create_work_item("shop", ISSUE_TITLE, ISSUE_BODY, tags=["tamma"])
        monkeypatch.setenv("AZURE_DEVOPS_TOKEN", AZURE_TOKEN)
        monkeypatch.setenv("TAMMA_PLATFORMS", json.dumps({"azure": {"base_url": fake_azure.url}}))
        result = resolve_in_process(
            f"azure:{repo}#{number}", auto_approve=True, script=str(world.script), ci_poll_s=0.1
        )
    assert result["outcome"] == "awaiting-merge", result
    pull = fake_azure.pull(result["pull_request"]["number"])
    assert pull.title == f"[Tamma] {ISSUE_TITLE}"
    assert pull.repo.branches[pull.source] == branch_heads(bare)[pull.source][0]
    assert f"#{number}" in pull.description
    assert repairs(home, result["run_id"]) == 1  # CI failed on the first fix, as the tests ran it
    comments = fake_azure.work_item(number).comments
    assert sum("Tamma's plan" in comment["text"] for comment in comments) == 1
