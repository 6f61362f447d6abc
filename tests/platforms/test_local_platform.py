"""LocalPlatform end to end on real git: init, issue, branch, PR, CI fails then passes, merge."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

from tamma.errors import Conflict, NotFound
from tamma.platforms import GitPlatform, marker
from tamma.platforms._git import git
from tamma.platforms._local import LocalPlatform, init_local_platform

CHECK = "import pathlib, sys\nsys.exit(0 if pathlib.Path('fixed.txt').exists() else 'fixed.txt is missing')\n"


@pytest.fixture
def platform(tmp_path: Path) -> LocalPlatform:
    source = tmp_path / "project"
    source.mkdir()
    (source / "check.py").write_text(CHECK)
    return init_local_platform(source, tmp_path / "local" / "demo", test_command=f"{sys.executable} check.py")


def push_commit(platform: LocalPlatform, tmp_path: Path, branch: str, files: dict[str, str]) -> str:
    work = tmp_path / f"work-{branch}"
    if not work.exists():
        git("clone", "--quiet", str(platform.remote), str(work))
        git("checkout", "--quiet", "-b", branch, cwd=work)
    for name, text in files.items():
        (work / name).write_text(text)
    git("add", "--all", cwd=work)
    git("commit", "--quiet", "-m", f"change {sorted(files)}", cwd=work)
    git("push", "--quiet", "origin", f"HEAD:refs/heads/{branch}", cwd=work)
    return git("rev-parse", "HEAD", cwd=work).stdout.strip()


def test_issue_pr_ci_and_merge_round_trip(platform: LocalPlatform, tmp_path: Path) -> None:
    assert isinstance(platform, GitPlatform)
    assert platform.repository().default_branch == "main"
    issue = platform.create_issue("Add fixed.txt", "CI wants it", labels=["tamma", "bug"])
    assert str(issue.ref) == "local:demo#1"
    assert [i.ref.number for i in platform.list_issues(labels=["tamma"])] == [1]
    assert list(platform.list_issues(labels=["tamma", "docs"])) == []

    note = platform.add_comment(1, f"Plan ready {marker('plan-1')}")
    assert platform.find_comment(1, marker("plan-1")) == note
    assert platform.find_comment(1, marker("other")) is None

    base_sha = platform.create_branch("tamma/issue-1-add-fixed", "main")
    with pytest.raises(Conflict, match="already exists"):
        platform.create_branch("tamma/issue-1-add-fixed", "main")
    first = push_commit(platform, tmp_path, "tamma/issue-1-add-fixed", {"notes.txt": "wip"})
    assert first != base_sha
    pull = platform.open_pull_request(
        title="[Tamma] Add fixed.txt", body="body", head="tamma/issue-1-add-fixed", base="main"
    )
    assert platform.find_pull_request("tamma/issue-1-add-fixed") == pull

    failing = platform.ci_status(first)
    assert failing.state == "failure"
    assert "fixed.txt is missing" in platform.failed_job_log(failing.failed[0].log_id)

    second = push_commit(platform, tmp_path, "tamma/issue-1-add-fixed", {"fixed.txt": "yes"})
    assert platform.ci_status(second).state == "success"
    assert platform.update_pull_request_body(pull.number, "with evidence").body == "with evidence"

    merged = platform.merge(pull.number, method="squash")
    assert git("rev-parse", "main", cwd=platform.remote).stdout.strip() == merged
    assert git("show", "main:fixed.txt", cwd=platform.remote).stdout == "yes"
    assert platform.find_pull_request("tamma/issue-1-add-fixed") is None
    with pytest.raises(NotFound):
        platform.open_pull_request(title="t", body="b", head="tamma/issue-1-add-fixed", base="main")


@pytest.mark.parametrize("method", ["merge", "rebase"])
def test_other_merge_methods_land_on_main(platform: LocalPlatform, tmp_path: Path, method: str) -> None:
    platform.create_branch("feature", "main")
    push_commit(platform, tmp_path, "feature", {"fixed.txt": method})
    pull = platform.open_pull_request(title="t", body="b", head="feature", base="main")
    platform.merge(pull.number, method=method)  # type: ignore[arg-type]
    assert git("show", "main:fixed.txt", cwd=platform.remote).stdout == method


def test_conflicting_merge_is_a_typed_conflict(platform: LocalPlatform, tmp_path: Path) -> None:
    for branch in ("one", "two"):
        platform.create_branch(branch, "main")
        push_commit(platform, tmp_path, branch, {"fixed.txt": branch})
    first = platform.open_pull_request(title="1", body="", head="one", base="main")
    second = platform.open_pull_request(title="2", body="", head="two", base="main")
    platform.merge(first.number)
    with pytest.raises(Conflict, match="conflicts with main"):
        platform.merge(second.number, method="merge")


def test_labels_assignees_and_missing_things(platform: LocalPlatform) -> None:
    platform.create_issue("x", "y")
    platform.add_labels(1, ["tamma"])
    platform.assign(1, ["alice"])
    platform.remove_labels(1, ["tamma"])
    issue = platform.get_issue(1)
    assert (issue.labels, issue.assignees) == ((), ("alice",))
    assert [i.ref.number for i in platform.list_issues(assignee="alice")] == [1]
    with pytest.raises(NotFound, match="issue #9"):
        platform.get_issue(9)
    with pytest.raises(NotFound, match="no local platform"):
        LocalPlatform(platform.root.parent / "nope")
