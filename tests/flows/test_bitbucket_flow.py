"""`resolve_issue` against the fake Bitbucket Cloud, through the httpx adapter, with clone and push
over a real git HTTP server (an access token as user `x-token-auth`, as Bitbucket takes it) and
Bitbucket Pipelines that run the tests."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from flows.resolve_issue import resolve_in_process
from tamma.demo.scenario import ISSUE_BODY, ISSUE_TITLE, DemoWorld
from tamma.platforms._bitbucket import join_labels
from tests.agent.git_http_server import git_http_server
from tests.fakes.bitbucket import TOKEN, FakeBitbucket
from tests.flows.forges import branch_heads, on_every_new_head, run_ci
from tests.flows.test_remote_forges import repairs


def test_resolve_issue_on_bitbucket(
    world: DemoWorld, home: Path, fake_bitbucket: FakeBitbucket, monkeypatch: pytest.MonkeyPatch
) -> None:
    bare = world.platform.remote
    repo = "acme/shop"

    def pipelines(branch: str, sha: str) -> None:  # a pipeline whose build status follows it
        pipeline = fake_bitbucket.add_pipeline(repo, sha, "tests", branch=branch)
        passed, log = run_ci(bare, sha)
        fake_bitbucket.finish_pipeline(repo, pipeline, passed=passed, log=log)

    hook = on_every_new_head(bare, lambda: fake_bitbucket.adopt_git_refs(repo, branch_heads(bare)), pipelines)
    with git_http_server(bare.parent, username="x-token-auth", password=TOKEN, on_push=hook) as base:
        fake_bitbucket.create_repo(repo, clone_url=f"{base}/{bare.name}")
        fake_bitbucket.adopt_git_refs(repo, branch_heads(bare))
        fake_bitbucket.create_issue(repo, ISSUE_TITLE, join_labels(ISSUE_BODY, ["tamma"]))
        monkeypatch.setenv("BITBUCKET_TOKEN", TOKEN)
        monkeypatch.setenv("TAMMA_PLATFORMS", json.dumps({"bitbucket": {"base_url": fake_bitbucket.api_url}}))
        result = resolve_in_process(
            f"bitbucket:{repo}#1", auto_approve=True, script=str(world.script), ci_poll_s=0.1
        )
    assert result["outcome"] == "awaiting-merge", result
    pull = fake_bitbucket.state.repo(repo).pulls[result["pull_request"]["number"]]  # type: ignore[union-attr]
    assert pull.title == f"[Tamma] {ISSUE_TITLE}"
    assert pull.head_sha == branch_heads(bare)[pull.source_branch][0]
    assert "Resolves #1" in pull.description
    assert repairs(home, result["run_id"]) == 1  # CI failed on the first fix, as the tests ran it
    comments = fake_bitbucket.issue(repo, 1).comments
    assert sum("Tamma's plan" in comment.raw for comment in comments) == 1
