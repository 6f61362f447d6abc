"""`resolve_issue` end to end on the local platform with the scripted demo model."""

from __future__ import annotations

from pathlib import Path

from event_store import EventStore, Query
from flows.resolve_issue import resolve_issue
from tamma import event_types as et
from tamma.demo.scenario import DemoWorld
from tamma.git import git


def events(home: Path, run_id: str) -> list[str]:
    with EventStore(f"sqlite:///{home / 'events.db'}") as store:
        return [e.type for e in store.read(Query.of(tags=[f"run:{run_id}"]))]


def test_happy_path_with_a_ci_repair_stops_at_the_merge_checkpoint(world: DemoWorld, home: Path) -> None:
    result = resolve_issue(world.issue_ref, auto_approve=True, script=str(world.script), ci_poll_s=0.1)
    assert result["outcome"] == "awaiting-merge", result
    pull = world.platform.find_pull_request(result["pull_request"]["head"])
    assert pull is not None
    assert pull.title == "[Tamma] Invoice totals are wrong: add() subtracts"
    assert "Resolves #1" in pull.body
    assert "assert -1 == 3" in pull.body
    status = world.platform.ci_status(pull.head_sha)
    assert status.state == "success"
    shown = git("show", f"{pull.head_sha}:calc.py", cwd=world.platform.remote).stdout
    assert "return a + b" in shown
    kinds = events(home, result["run_id"])
    for kind in (
        et.ISSUE_CLAIMED,
        et.ANALYSIS_COMPLETED,
        et.PLAN_PROPOSED,
        et.APPROVAL_PROVIDED,
        et.PR_CREATED,
    ):
        assert kinds.count(kind) == 1, kind
    assert kinds.count(et.CI_FIX_ATTEMPTED) == 1
    assert [s for s in kinds if s == et.CI_STATUS_CHANGED]
    assert kinds[-1] == et.RUN_COMPLETED
    plan_comments = [c for c in world.platform.get_issue(1).comments if "Tamma's plan" in c.body]
    assert len(plan_comments) == 1
