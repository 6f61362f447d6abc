"""`resolve_issue` against the fake GitHub and GitLab REST servers, through PyGithub and
python-gitlab, with clone and push over a real git HTTP server and CI that runs the tests."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from event_store import EventStore, Query
from flows.resolve_issue import resolve_in_process
from tamma import event_types as et
from tamma.demo.scenario import ISSUE_BODY, ISSUE_TITLE, DemoWorld
from tests.agent.git_http_server import git_http_server
from tests.fakes.github import FakeGitHub
from tests.fakes.gitlab import FakeGitLab
from tests.flows.forges import branch_heads, on_every_new_head, run_ci

GITHUB_TOKEN = "ghp_" + "F0rge" * 7 + "x"
GITLAB_TOKEN = "glpat-" + "F0rge" * 5


def test_resolve_issue_on_github(
    world: DemoWorld, home: Path, fake_github: FakeGitHub, monkeypatch: pytest.MonkeyPatch
) -> None:
    bare = world.platform.remote
    repo = "acme/shop"

    def actions(branch: str, sha: str) -> None:  # GitHub Actions, as far as the flow can tell
        run = fake_github.add_check_run(repo, sha, "tests", status="in_progress")
        passed, log = run_ci(bare, sha)
        fake_github.update_check_run(repo, run, conclusion="success" if passed else "failure", log=log)

    hook = on_every_new_head(bare, lambda: fake_github.adopt_git_refs(repo, branch_heads(bare)), actions)
    with git_http_server(bare.parent, username="x-access-token", password=GITHUB_TOKEN, on_push=hook) as base:
        fake_github.create_repo(repo, clone_url=f"{base}/{bare.name}")
        fake_github.adopt_git_refs(repo, branch_heads(bare))
        fake_github.create_issue(repo, ISSUE_TITLE, ISSUE_BODY, labels=["tamma"])
        monkeypatch.setenv("GITHUB_TOKEN", GITHUB_TOKEN)
        monkeypatch.setenv("TAMMA_PLATFORMS", json.dumps({"github": {"base_url": fake_github.base_url}}))
        result = resolve_in_process(
            f"github:{repo}#1", auto_approve=True, script=str(world.script), ci_poll_s=0.1
        )
    assert result["outcome"] == "awaiting-merge", result
    number = result["pull_request"]["number"]
    pull = fake_github.repo(repo).issues[number].pull
    assert pull is not None
    assert pull.head_ref == "tamma/issue-1-invoice-totals-are-wrong-add-subtracts"
    assert pull.head_sha == branch_heads(bare)[pull.head_ref][0]
    issue = fake_github.repo(repo).issues[1]
    assert sum("Tamma's plan" in comment.body for comment in issue.comments) == 1
    assert repairs(home, result["run_id"]) == 1  # CI failed on the first fix, as the tests ran it


def test_resolve_issue_on_gitlab(
    world: DemoWorld, home: Path, fake_gitlab: FakeGitLab, monkeypatch: pytest.MonkeyPatch
) -> None:
    bare = world.platform.remote
    project = "acme/backend/shop"

    def pipeline(branch: str, sha: str) -> None:  # a GitLab pipeline with one job
        job = fake_gitlab.add_job(
            fake_gitlab.add_pipeline(project, ref=branch, sha=sha), "tests", status="running"
        )
        passed, log = run_ci(bare, sha)
        fake_gitlab.set_job(job, status="success" if passed else "failed", trace=log)

    hook = on_every_new_head(bare, lambda: fake_gitlab.adopt_git_refs(project, branch_heads(bare)), pipeline)
    with git_http_server(bare.parent, username="oauth2", password=GITLAB_TOKEN, on_push=hook) as base:
        fake_gitlab.add_token(GITLAB_TOKEN)
        fake_gitlab.add_project(project, clone_url=f"{base}/{bare.name}")
        fake_gitlab.adopt_git_refs(project, branch_heads(bare))
        fake_gitlab.add_issue(project, ISSUE_TITLE, description=ISSUE_BODY, labels=["tamma"])
        monkeypatch.setenv("GITLAB_TOKEN", GITLAB_TOKEN)
        monkeypatch.setenv("TAMMA_PLATFORMS", json.dumps({"gitlab": {"base_url": fake_gitlab.url}}))
        result = resolve_in_process(
            f"gitlab:{project}#1", auto_approve=True, script=str(world.script), ci_poll_s=0.1
        )
    assert result["outcome"] == "awaiting-merge", result
    merge_request = fake_gitlab.project(project).merge_requests[result["pull_request"]["number"]]
    assert merge_request.title == f"[Tamma] {ISSUE_TITLE}"
    assert merge_request.sha == branch_heads(bare)[merge_request.source_branch][0]
    assert "Resolves #1" in merge_request.description
    assert repairs(home, result["run_id"]) == 1
    notes = fake_gitlab.project(project).issues[1].notes
    assert sum("Tamma's plan" in note.body for note in notes) == 1


def repairs(home: Path, run_id: str) -> int:
    with EventStore(f"sqlite:///{home / 'events.db'}") as store:
        return len(list(store.read(Query.of(types=[et.CI_FIX_ATTEMPTED], tags=[f"run:{run_id}"]))))
