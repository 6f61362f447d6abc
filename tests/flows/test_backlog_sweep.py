"""`backlog_sweep`: labelled issues resolved under a concurrency limit, each claimed exactly once."""

from __future__ import annotations

import threading
from pathlib import Path
from typing import Any

import pytest

from event_store import EventStore, Query
from flows.backlog_sweep import backlog_sweep, parse_repository, sweep_order
from tamma import event_types as et
from tamma.demo.scenario import DemoWorld
from tamma.errors import InvalidReference
from tamma.platforms import Issue, IssueRef
from tests.conftest import empty_postgres


def file_backlog(world: DemoWorld, count: int) -> None:
    """More issues like the first (the scripted session fixes each), and one without the label."""
    for n in range(2, count + 1):
        world.platform.create_issue(f"add() subtracts ({n})", "add(1, 2) is -1", labels=["tamma"])
    world.platform.create_issue("Unrelated", "not for Tamma", labels=["docs"])


def test_two_sweeps_at_once_claim_every_issue_exactly_once(
    world: DemoWorld, postgres_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    empty_postgres(postgres_url)
    monkeypatch.setenv("TAMMA_DATABASE_URL", postgres_url)
    file_backlog(world, 3)
    results: list[list[dict[str, Any]]] = []

    def sweep() -> None:
        results.append(
            backlog_sweep(
                "local:shop", concurrency=2, cooldown_s=0.0, script=str(world.script), ci_poll_s=0.1
            )
        )

    sweeps = [threading.Thread(target=sweep) for _ in range(2)]
    for thread in sweeps:
        thread.start()
    for thread in sweeps:
        thread.join(timeout=300)
    outcomes = [r for sweep_results in results for r in sweep_results]
    resolved = sorted(r["issue"] for r in outcomes if r["outcome"] == "awaiting-merge")
    assert resolved == ["local:shop#1", "local:shop#2", "local:shop#3"]
    assert all(r["outcome"] in ("awaiting-merge", "already-claimed") for r in outcomes)
    with EventStore(postgres_url) as store:
        for number in (1, 2, 3):
            claims = list(store.read(Query.of(types=[et.ISSUE_CLAIMED], tags=[f"issue:local:shop#{number}"])))
            assert len(claims) == 1, number
        assert not list(store.read(Query.of(tags=["issue:local:shop#4"])))


def test_a_sweep_skips_claimed_issues(world: DemoWorld, home: Path) -> None:
    file_backlog(world, 2)
    first = backlog_sweep("local:shop", limit=1, script=str(world.script), ci_poll_s=0.1, cooldown_s=0.0)
    assert [r["issue"] for r in first] == ["local:shop#1"]
    second = backlog_sweep("local:shop", script=str(world.script), ci_poll_s=0.1, cooldown_s=0.0)
    assert [r["issue"] for r in second] == ["local:shop#2"]


def test_repository_references() -> None:
    assert parse_repository("gitlab:group/sub/project") == ("gitlab", "group/sub/project")
    assert parse_repository("gitea:octo/demo") == ("gitea", "octo/demo")
    with pytest.raises(InvalidReference, match="not a repository"):
        parse_repository("octo/demo")


def test_issues_go_by_priority_label_then_by_age() -> None:
    def issue(number: int, *labels: str) -> Issue:
        return Issue(
            ref=IssueRef.parse(f"github:acme/shop#{number}"), title="t", body="b", state="open", labels=labels
        )

    backlog = [issue(1), issue(2, "bug"), issue(3, "urgent"), issue(4, "bug"), issue(5)]
    numbers = [i.ref.number for i in sweep_order(backlog, "oldest", ["urgent", "bug"])]
    assert numbers == [3, 2, 4, 1, 5]
    assert [i.ref.number for i in sweep_order(backlog, "newest")] == [5, 4, 3, 2, 1]
