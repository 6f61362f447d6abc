"""`tamma demo` (what `make demo` runs) end to end on embedded defaults."""

from __future__ import annotations

from pathlib import Path

from event_store import EventStore, Query
from tamma.git import git
from tests.cli.conftest import RunTamma


def test_demo_records_a_lifecycle_one_claim_winner_and_time_travel(tamma: RunTamma, tmp_path: Path) -> None:
    for _ in range(2):  # a second run starts afresh instead of failing on the first run's events
        result = tamma("demo", "--tour")
        assert result.returncode == 0, result.stderr
    assert "winners: 1" in result.stdout
    assert "already claimed by" in result.stdout
    assert "at position 4: phase=PLAN.PROPOSED" in result.stdout
    with EventStore(f"sqlite:///{tmp_path / 'home' / 'tour' / 'events.db'}") as store:
        claims = list(store.read(Query.of(types=["ISSUE.CLAIMED"], tags=["issue:local:demo#2"])))
        assert len(claims) == 1
        assert len(list(store.read(Query.of(tags=["issue:local:demo#1"])))) == 14


def test_demo_refuses_a_store_that_already_holds_events(tamma: RunTamma, store_url: str) -> None:
    assert tamma("demo", "--tour", "--database-url", store_url).returncode == 0
    again = tamma("demo", "--tour", "--database-url", store_url)
    assert again.returncode == 1
    assert "the tour needs an empty event store" in again.stderr


def test_demo_resolves_the_bug_end_to_end_offline(tamma: RunTamma, tmp_path: Path) -> None:
    result = tamma("demo")
    assert result.returncode == 0, result.stderr
    out = result.stdout
    assert "scripted model" in out
    assert "ANTHROPIC_API_KEY" in out
    assert "approved automatically" in out  # not a terminal here
    for step in (
        "tests FAIL",
        "tests pass",
        "pull request #1",
        "CI failure",
        "CI repair attempt 1",
        "CI success",
    ):
        assert step in out, step
    assert "awaiting-merge" in out
    remote = tmp_path / "home" / "demo" / "local" / "shop" / "remote.git"
    branches = git("for-each-ref", "--format=%(refname:short)", "refs/heads", cwd=remote).stdout.split()
    assert branches == ["main", "tamma/issue-1-invoice-totals-are-wrong-add-subtracts"]
    fixed = git("show", f"{branches[1]}:calc.py", cwd=remote).stdout
    assert "return a + b" in fixed
    run_id = out.split("awaiting-merge  run ", 1)[1].split()[0]
    assert f"tamma replay {run_id}" in out  # where to look next, replay included
