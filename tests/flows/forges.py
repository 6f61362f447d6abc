"""A fake forge backed by real git: the fake REST API for issues, pull requests and CI, a real
smart-HTTP git server for clone and push, and CI that runs the tests of every pushed commit.

This is what `resolve_issue` meets on GitHub or GitLab: the workspace clones and pushes over
HTTPS with the token, the adapter talks REST through the real SDK, and CI's verdict on a
commit comes from actually running its tests.
"""

from __future__ import annotations

import json
import sys
import tempfile
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest

from tamma.demo.scenario import ISSUE_BODY, ISSUE_TITLE, DemoWorld
from tamma.git import git
from tamma.platforms._local_ci import run_tests
from tamma.sandbox import Sandbox
from tests.agent.git_http_server import git_http_server
from tests.fakes.github import FakeGitHub

CI_COMMAND = f"{sys.executable} -m pytest -q -p no:cacheprovider"


def branch_heads(bare: Path) -> dict[str, tuple[str, tuple[str, ...], str]]:
    """Each branch of a bare repository: (sha, parent shas, subject)."""
    heads = {}
    listing = git("for-each-ref", "--format=%(refname:short) %(objectname)", "refs/heads", cwd=bare).stdout
    for line in listing.splitlines():
        branch, sha = line.split()
        parents = tuple(git("rev-list", "--parents", "-n", "1", sha, cwd=bare).stdout.split()[1:])
        subject = git("log", "-1", "--format=%s", sha, cwd=bare).stdout.strip()
        heads[branch] = (sha, parents, subject)
    return heads


def run_ci(bare: Path, sha: str) -> tuple[bool, str]:
    """The suite of commit `sha`, in a clean clone: (passed, log)."""
    with tempfile.TemporaryDirectory(prefix="forge-ci-") as checkout:
        git("clone", "--quiet", str(bare), checkout)
        git("checkout", "--quiet", "--detach", sha, cwd=Path(checkout))
        state, log = run_tests(CI_COMMAND, Path(checkout), Sandbox())
    return state == "success", log


def on_every_new_head(
    bare: Path, record: Callable[[], None], ci: Callable[[str, str], None]
) -> Callable[[str], None]:
    """A push hook: `record()` at once (the forge knows the pushed refs before `git push`
    returns), then `ci(branch, sha)` on a thread for each new branch head, as CI runs later."""
    seen: set[str] = {sha for sha, _, _ in branch_heads(bare).values()}

    def pushed(_repository: str) -> None:
        record()
        for branch, (sha, _, _) in branch_heads(bare).items():
            if sha not in seen:
                seen.add(sha)
                threading.Thread(target=ci, args=(branch, sha), daemon=True).start()

    return pushed


@contextmanager
def on_github(
    world: DemoWorld, github: FakeGitHub, monkeypatch: pytest.MonkeyPatch, *, repo: str, token: str
) -> Iterator[str]:
    """The demo's project as `repo` on the fake GitHub, with its issue #1, until the block ends:
    clone and push over HTTP with `token`, a check run for each pushed head from running its
    tests, and GITHUB_TOKEN and TAMMA_PLATFORMS set for the flow. Yields the issue reference."""
    bare = world.platform.remote

    def actions(branch: str, sha: str) -> None:  # GitHub Actions, as far as the flow can tell
        run = github.add_check_run(repo, sha, "tests", status="in_progress")
        passed, log = run_ci(bare, sha)
        github.update_check_run(repo, run, conclusion="success" if passed else "failure", log=log)

    hook = on_every_new_head(bare, lambda: github.adopt_git_refs(repo, branch_heads(bare)), actions)
    with git_http_server(bare.parent, username="x-access-token", password=token, on_push=hook) as base:
        github.create_repo(repo, clone_url=f"{base}/{bare.name}")
        github.adopt_git_refs(repo, branch_heads(bare))
        github.create_issue(repo, ISSUE_TITLE, ISSUE_BODY, labels=["tamma"])
        monkeypatch.setenv("GITHUB_TOKEN", token)
        monkeypatch.setenv("TAMMA_PLATFORMS", json.dumps({"github": {"base_url": github.base_url}}))
        yield f"github:{repo}#1"
