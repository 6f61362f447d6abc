"""A run killed with SIGKILL and started again with its run id: one PR, one plan comment.

The run is a real `tamma run` process; the test kills it the moment the event store shows it
reached a step (right after the pull request is opened, or right before), as a lost machine
would, then starts it again with the same run id.
"""

from __future__ import annotations

import signal
import sqlite3
import subprocess
import time
from pathlib import Path

import pytest

from event_store import EventStore, Query
from tamma import event_types as et
from tamma.demo.scenario import DemoWorld
from tests.flows.test_cli_run import TAMMA, environment

RUN = "r-c4a5h001"


def run_command(world: DemoWorld) -> list[str]:
    return [
        str(TAMMA),
        "run",
        world.issue_ref,
        "--run-id",
        RUN,
        "--auto-approve",
        "--script",
        str(world.script),
        "--ci-poll",
        "0.2",
    ]


def kill_when_recorded(world: DemoWorld, home: Path, event_type: str) -> None:
    process = subprocess.Popen(
        run_command(world), stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, env=environment(home)
    )
    try:
        with EventStore(f"sqlite:///{home / 'events.db'}") as store:
            deadline = time.monotonic() + 120
            while not list(store.read(Query.of(types=[event_type], tags=[f"run:{RUN}"]))):
                assert process.poll() is None, f"the run ended before {event_type}"
                assert time.monotonic() < deadline
                time.sleep(0.02)
        process.send_signal(signal.SIGKILL)
    finally:
        process.wait(timeout=30)


def run_to_the_end(
    command: list[str], env: dict[str, str], timeout_s: float
) -> subprocess.CompletedProcess[str]:
    """Run `command`; past `timeout_s`, kill it and fail with what it printed, so a hang says where."""
    process = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env)
    try:
        out, err = process.communicate(timeout=timeout_s)
    except subprocess.TimeoutExpired:
        process.kill()
        out, err = process.communicate()
        pytest.fail(f"the rerun did not end within {timeout_s:g} s\nstdout:\n{out}\nstderr:\n{err}")
    return subprocess.CompletedProcess(command, process.returncode, out, err)


@pytest.mark.parametrize("kill_at", [et.BRANCH_PUSHED, et.PR_CREATED])
def test_a_killed_run_continues_without_repeating_side_effects(
    world: DemoWorld, home: Path, kill_at: str
) -> None:
    kill_when_recorded(world, home, kill_at)
    again = run_to_the_end(run_command(world), environment(home), timeout_s=240)
    assert again.returncode == 0, again.stderr
    assert "awaiting-merge" in again.stdout
    issue = world.platform.get_issue(1)
    assert sum("Tamma's plan" in c.body for c in issue.comments) == 1
    assert (
        world.platform.find_pull_request("tamma/issue-1-invoice-totals-are-wrong-add-subtracts") is not None
    )
    with EventStore(f"sqlite:///{home / 'events.db'}") as store:
        kinds = [e.type for e in store.read(Query.of(tags=[f"run:{RUN}"]))]
    assert kinds.count(et.ISSUE_CLAIMED) == 2  # each process claims; the second continues the run
    assert kinds.count(et.RUN_RESUMED) == 1
    for once in (
        et.RUN_STARTED,
        et.PLAN_PROPOSED,
        et.APPROVAL_PROVIDED,
        et.AGENT_FINISHED,
        et.PR_CREATED,
        et.RUN_COMPLETED,
    ):
        assert kinds.count(once) == 1, once
    with sqlite3.connect(world.platform.remote.parent / "tracker.db") as db:
        assert db.execute("SELECT count(*) FROM pulls").fetchone()[0] == 1
