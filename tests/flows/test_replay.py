"""Black-box replay and forks of a recorded demo run: identical when nothing changed, the exact
position when a recorded tool result was tampered with, and a fork that goes on live."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest

from event_store import Event, EventStore, Query
from flows.replay_run import replay_run
from flows.resolve_issue import resolve_in_process
from tamma import event_types as et
from tamma.audit.run_state import run_state
from tamma.demo.scenario import DemoWorld, session
from tamma.git import git
from tamma.providers import save_script
from tests.flows.test_cli_run import tamma

RUN = "r-4e91a7c0"
FIRST_FIX_ANSWER = 7
"""The demo's model answers before the fix phase: analysis, plan, the five of the tests phase."""


@pytest.fixture
def recorded(world: DemoWorld, home: Path) -> list[Event]:
    result = resolve_in_process(
        world.issue_ref, run_id=RUN, auto_approve=True, script=str(world.script), ci_poll_s=0.1
    )
    assert result["outcome"] == "awaiting-merge"
    return _events(home, RUN)


def _events(home: Path, run_id: str) -> list[Event]:
    with EventStore(f"sqlite:///{home / 'events.db'}") as store:
        return list(store.read(Query.of(tags=[f"run:{run_id}"])))


def test_a_recorded_run_replays_identically_offline(
    recorded: list[Event], world: DemoWorld, home: Path
) -> None:
    comments_before = world.platform.get_issue(1).comments

    report = replay_run(RUN)

    assert report["identical"], report["divergence"]
    assert report["replayed_events"] == report["recorded_events"] == len(recorded)
    assert report["scratch"] is None  # an identical replay cleans up after itself
    assert _events(home, RUN) == recorded  # the recording is only read
    assert world.platform.get_issue(1).comments == comments_before  # nothing posted for real
    replayed_commits = [e.data["sha"] for e in recorded if e.type == et.COMMIT_CREATED]
    assert len(replayed_commits) == 3  # tests, fix, CI repair: each replayed to the same sha


def test_a_tampered_tool_result_is_the_first_divergence(recorded: list[Event], home: Path) -> None:
    read = next(e for e in recorded if e.type == et.TOOL_RESULT and e.data["tool"] == "read_file")
    with sqlite3.connect(home / "events.db") as db:
        db.execute(
            "UPDATE events SET data = json_set(data, '$.content', 'def add(a, b): return 42') WHERE position = ?",
            (read.position,),
        )

    replayed = tamma(home, "replay", RUN)

    assert replayed.returncode == 1, replayed.stdout + replayed.stderr
    assert (
        f"first divergence at position {read.position} (TOOL.RESULT): TOOL.RESULT.content differs"
        in replayed.stdout
    )
    assert "recorded: def add(a, b): return 42" in replayed.stdout
    assert '"""Arithmetic for the shop' in replayed.stdout  # what the file really holds
    assert "the replay's workspace and events:" in replayed.stdout


def test_a_fork_before_the_faulty_fix_goes_on_live(
    recorded: list[Event], world: DemoWorld, home: Path, tmp_path: Path
) -> None:
    fix_phase = next(e for e in recorded if e.type == et.AGENT_PHASE_STARTED and e.data["phase"] == "fix")
    better_fix = save_script(session(ci_failure=False)[FIRST_FIX_ANSWER:], tmp_path / "better-fix.json")

    forked = tamma(home, "replay", RUN, "--from", str(fix_phase.position), "--script", str(better_fix))

    assert forked.returncode == 0, forked.stdout + forked.stderr
    fork_id = forked.stdout.split("fork ", 1)[1].split()[0]
    assert f"fork {fork_id} of {RUN}: awaiting-merge" in forked.stdout
    assert _events(home, RUN) == recorded  # the old run is untouched
    with EventStore(f"sqlite:///{home / 'events.db'}") as store:
        fork = run_state(store, fork_id)
        fork_events = list(store.read(Query.of(tags=[f"fork-of:{RUN}"])))
    assert fork.outcome == "awaiting-merge"
    assert fork.ci_fixes == 0  # the better fix passed CI at once
    assert fork_events
    assert all({f"run:{fork_id}", "issue:local:shop#1"} <= set(e.tags) for e in fork_events)
    started = next(e for e in fork_events if e.type == et.RUN_STARTED)
    assert started.data["fork_of"] == {"run_id": RUN, "position": fix_phase.position}
    # Up to the fork point the fork did what the run did: the same test commit, to the sha.
    tests_commit = next(e.data["sha"] for e in recorded if e.type == et.COMMIT_CREATED)
    assert tests_commit in [e.data["sha"] for e in fork_events if e.type == et.COMMIT_CREATED]
    remote = world.platform.remote
    branch = fork.branch
    assert branch is not None
    shown = git("show", f"{branch}:calc.py", cwd=remote).stdout
    assert "return a + b" in shown
    assert "abs(" not in shown
    assert git("rev-parse", branch, cwd=remote).stdout.strip() == fork.head_sha


def test_replay_refuses_what_it_cannot_do(recorded: list[Event], home: Path) -> None:
    unknown = tamma(home, "replay", "r-00000000")
    assert unknown.returncode == 1
    assert "no run 'r-00000000'" in unknown.stderr
    assert "Traceback" not in unknown.stderr

    without_fork_point = tamma(home, "replay", RUN, "--provider", "anthropic")
    assert without_fork_point.returncode == 2
    assert "add --from POSITION" in without_fork_point.stderr

    past_the_end = tamma(
        home, "replay", RUN, "--from", str(recorded[-1].position + 5), "--provider", "anthropic"
    )
    assert past_the_end.returncode == 1
    assert "is outside run" in past_the_end.stderr


def test_the_recording_names_what_a_replay_needs(recorded: list[Event]) -> None:
    started = next(e for e in recorded if e.type == et.RUN_STARTED)
    assert started.data["agent"]["test_command"][-1] == "tests"  # the agent's configuration
    opened = next(e for e in recorded if e.type == et.WORKSPACE_OPENED)
    assert Path(opened.data["path"]).name == "local-shop-1"
    for commit in (e for e in recorded if e.type == et.COMMIT_CREATED):
        assert {"tree", "author_date", "committer_date"} <= commit.data.keys()
