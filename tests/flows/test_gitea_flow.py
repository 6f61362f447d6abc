"""`resolve_issue` against the fake Gitea, through the httpx adapter, with clone and push over a
real git HTTP server (token as password, as Gitea takes it) and Gitea Actions that run the tests."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from flows.resolve_issue import resolve_in_process
from tamma.demo.scenario import ISSUE_BODY, ISSUE_TITLE, DemoWorld
from tests.agent.git_http_server import git_http_server
from tests.fakes.gitea import FakeGitea
from tests.flows.forges import branch_heads, on_every_new_head, run_ci
from tests.flows.test_remote_forges import repairs

GITEA_TOKEN = "F0rge" * 8


def test_resolve_issue_on_gitea(
    world: DemoWorld, home: Path, fake_gitea: FakeGitea, monkeypatch: pytest.MonkeyPatch
) -> None:
    bare = world.platform.remote
    repo = "acme/shop"

    def actions(branch: str, sha: str) -> None:  # Gitea Actions: a job whose commit status follows it
        job = fake_gitea.add_actions_job(repo, sha, "tests", branch=branch)
        passed, log = run_ci(bare, sha)
        fake_gitea.finish_job(repo, job, conclusion="success" if passed else "failure", log=log)

    hook = on_every_new_head(bare, lambda: fake_gitea.adopt_git_refs(repo, branch_heads(bare)), actions)
    with git_http_server(bare.parent, username="tamma", password=GITEA_TOKEN, on_push=hook) as base:
        fake_gitea.add_token(GITEA_TOKEN)
        fake_gitea.create_repo(repo, clone_url=f"{base}/{bare.name}")
        fake_gitea.adopt_git_refs(repo, branch_heads(bare))
        fake_gitea.create_issue(repo, ISSUE_TITLE, ISSUE_BODY, labels=["tamma"])
        monkeypatch.setenv("GITEA_TOKEN", GITEA_TOKEN)
        monkeypatch.setenv("TAMMA_PLATFORMS", json.dumps({"gitea": {"base_url": fake_gitea.url}}))
        result = resolve_in_process(
            f"gitea:{repo}#1", auto_approve=True, script=str(world.script), ci_poll_s=0.1
        )
    assert result["outcome"] == "awaiting-merge", result
    pull = fake_gitea.repo(repo).issues[result["pull_request"]["number"]]
    assert pull.pull is not None
    assert pull.title == f"[Tamma] {ISSUE_TITLE}"
    assert pull.pull.head_sha == branch_heads(bare)[pull.pull.head_branch][0]
    assert "Resolves #1" in pull.body
    assert repairs(home, result["run_id"]) == 1  # CI failed on the first fix, as the tests ran it
    comments = fake_gitea.repo(repo).issues[1].comments
    assert sum("Tamma's plan" in comment.body for comment in comments) == 1
