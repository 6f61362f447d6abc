"""LocalPlatform end to end on real git: init, issue, branch, PR, CI fails then passes, merge."""

from __future__ import annotations

import sqlite3
from datetime import UTC, datetime
from pathlib import Path

import pytest

from tamma.errors import Conflict, NotFound
from tamma.git import git
from tamma.platforms import GitPlatform, marker
from tamma.platforms._local import LocalPlatform
from tests.platforms.local_repo import MISSING, make_local_platform, push_commit, wait_for_ci


@pytest.fixture
def platform(tmp_path: Path) -> LocalPlatform:
    return make_local_platform(tmp_path)


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

    assert platform.ci_status(first).state == "pending"  # the runner has just started
    failing = wait_for_ci(platform, first)
    assert failing.state == "failure"
    assert MISSING in platform.failed_job_log(failing.failed[0].log_id)
    assert platform.ci_status(first) == failing  # a finished run is recorded, not run again

    second = push_commit(platform, tmp_path, "tamma/issue-1-add-fixed", {"fixed.txt": "yes"})
    assert wait_for_ci(platform, second).state == "success"
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


def test_a_check_whose_starter_died_before_its_runner_started_is_run(
    platform: LocalPlatform, tmp_path: Path
) -> None:
    """A `tamma run` killed between claiming a commit's check and starting its runner leaves a
    pending row and no runner: the next ask must start one at once, not wait for a timeout."""
    sha = push_commit(platform, tmp_path, "tamma/issue-1-fix", {"fixed.txt": "yes"})
    with sqlite3.connect(platform.root / "tracker.db") as db:
        db.execute(
            "INSERT INTO checks (sha, name, state, log, started_at) VALUES (?, 'tests', 'pending', '', ?)",
            (sha, datetime.now(UTC).isoformat()),
        )
    assert wait_for_ci(platform, sha, timeout_s=60).state == "success"
