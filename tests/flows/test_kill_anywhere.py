"""A run that dies at any event boundary and is started again ends as if it never died.

The death is the store's: after the k-th append every write of this process fails with an
exception nothing in Tamma catches (as a SIGKILL would stop it there: what was done before the
k-th event stands, nothing after it is recorded). The run is then started again with its run
id, and the model answers what the resumed prompts ask (the demo's script is keyed by phase
and turn). Whatever the boundary, the rerun ends at the merge checkpoint with one pull
request, one plan comment, and each commit on the branch once.

Each boundary costs a run and a half (about 17 s here), all 112 of the demo run half an hour:
by default the test kills where work is most easily lost (right after the first commit,
completed phase, push and pull request, and after the CI repair's commit, attempt and push);
TAMMA_KILL_EVERY_BOUNDARY=1 kills at every one.
"""

from __future__ import annotations

import os
import sqlite3
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest

from event_store import EventStore, NewEvent, Query
from flows.resolve_issue import resolve_in_process
from tamma import event_types as et
from tamma.demo.scenario import DemoWorld, build_world
from tamma.git import git

RUN = "r-k111a000"
BRANCH = "tamma/issue-1-invoice-totals-are-wrong-add-subtracts"
AFTER = frozenset(
    {
        et.COMMIT_CREATED,
        et.AGENT_PHASE_COMPLETED,
        et.BRANCH_PUSHED,
        et.CI_FIX_ATTEMPTED,
        et.PR_CREATED,
    }
)
"""After these events a kill loses the most: what the event records was just done."""


class Killed(BaseException):
    """The process is gone: raised by every write after the chosen boundary."""


@contextmanager
def dying_store(after: int | None, appended: list[list[str]]) -> Iterator[None]:
    """Every EventStore of this process: appends are counted (their event types go to
    `appended`); after `after` appends, each one raises Killed."""
    original = EventStore.append

    def append(self: EventStore, events: Any, condition: Any = None) -> int:
        if after is not None and len(appended) >= after:
            raise Killed(f"killed after append #{after}")
        batch = [events] if isinstance(events, NewEvent) else list(events)
        position = original(self, batch, condition)
        appended.append([event.type for event in batch])
        return position

    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(EventStore, "append", append)
        yield


def resolve(world: DemoWorld) -> dict[str, Any]:
    return resolve_in_process(
        world.issue_ref, run_id=RUN, auto_approve=True, script=str(world.script), ci_poll_s=0.05
    )


def boundaries(appended: list[list[str]]) -> list[int]:
    """The numbers of appends to die after: all of them, or the telling ones: the first of each
    kind in `AFTER`, and the last commit and push (the CI repair's)."""
    every = list(range(1, len(appended)))
    if os.environ.get("TAMMA_KILL_EVERY_BOUNDARY") == "1":
        return every
    first = {kind: next(k for k in every if kind in appended[k - 1]) for kind in AFTER}
    last = {
        kind: max(k for k in every if kind in appended[k - 1])
        for kind in (et.COMMIT_CREATED, et.BRANCH_PUSHED)
    }
    return sorted({*first.values(), *last.values()})


def check_finished_once(world: DemoWorld, home: Path, result: dict[str, Any]) -> list[str]:
    """What is wrong with the issue, its pull request and the branch after the rerun."""
    problems = []
    if result["outcome"] != "awaiting-merge":
        problems.append(f"outcome {result['outcome']}")
    plans = [c for c in world.platform.get_issue(1).comments if "Tamma's plan" in c.body]
    if len(plans) != 1:
        problems.append(f"{len(plans)} plan comments")
    with sqlite3.connect(world.platform.remote.parent / "tracker.db") as db:
        pulls = db.execute("SELECT count(*) FROM pulls").fetchone()[0]
    if pulls != 1:
        problems.append(f"{pulls} pull requests")
    log = git("log", "--format=%s", f"main..{BRANCH}", cwd=world.platform.remote).stdout.splitlines()
    if len(log) != len(set(log)) or len(log) != 3:
        problems.append(f"branch commits {log}")
    with EventStore(f"sqlite:///{home / 'events.db'}") as store:
        kinds = [e.type for e in store.read(Query.of(tags=[f"run:{RUN}"]))]
    for once in (et.PLAN_PROPOSED, et.AGENT_FINISHED, et.PR_CREATED, et.RUN_COMPLETED):
        if kinds.count(once) != 1:
            problems.append(f"{kinds.count(once)} x {once}")
    return problems


@pytest.mark.timeout(1800)
def test_a_run_killed_at_any_event_boundary_finishes_once_when_started_again(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from tests.flows.conftest import demo_home

    reference: list[list[str]] = []
    (tmp_path / "reference").mkdir()
    home = demo_home(tmp_path / "reference", monkeypatch)
    with dying_store(None, reference):
        assert resolve(build_world(home))["outcome"] == "awaiting-merge"
    failures = {}
    chosen = boundaries(reference)
    for k in chosen:
        (tmp_path / f"kill-{k}").mkdir()
        home = demo_home(tmp_path / f"kill-{k}", monkeypatch)
        world = build_world(home)
        with dying_store(k, []), pytest.raises(BaseException, match="killed after append"):
            resolve(world)
        problems = check_finished_once(world, home, resolve(world))
        if problems:
            failures[f"after #{k} ({', '.join(reference[k - 1])})"] = problems
    print(f"killed and started again after {len(chosen)} of {len(reference) - 1} boundaries")
    assert not failures, failures
    assert len(chosen) >= 7
