"""Runs never strand: a failure is recorded and the run continued by the next start, Prefect's
Retry continues the same run, a decision given to a dead run is kept, and a run killed with
SIGKILL is taken over by a sweep once its claim's lease has run out."""

from __future__ import annotations

import json
import signal
import subprocess
import threading
import time
from pathlib import Path
from typing import Any

import pytest
from prefect.client.schemas.objects import StateType

from event_store import EventStore, Query
from flows.backlog_sweep import backlog_sweep
from flows.resolve_issue import resolve_in_process, resolve_issue
from tamma import event_types as et
from tamma.demo.scenario import DemoWorld, conversations
from tamma.errors import ProviderError
from tamma.providers import save_script
from tests.flows.test_cli_run import TAMMA, environment, tamma

RUN = "r-0000test"


def run_events(home: Path, run_id: str, *kinds: str) -> list[Any]:
    with EventStore(f"sqlite:///{home / 'events.db'}") as store:
        return list(store.read(Query.of(types=list(kinds), tags=[f"run:{run_id}"])))


def plan_only(home: Path) -> Path:
    """A model that plans and then has nothing to say: the implementation fails."""
    answers = conversations(ci_failure=False)
    return save_script({"analysis": answers["analysis"], "plan": answers["plan"]}, home / "plan-only.json")


def plan_comments(world: DemoWorld) -> int:
    return sum("Tamma's plan" in comment.body for comment in world.platform.get_issue(1).comments)


def test_a_failed_run_is_recorded_shown_and_continued_by_the_next_start(world: DemoWorld, home: Path) -> None:
    with pytest.raises(ProviderError, match=r"the script has 0 answer\(s\) for 'tests'"):
        resolve_in_process(world.issue_ref, run_id=RUN, auto_approve=True, script=str(plan_only(home)))
    [failed] = run_events(home, RUN, et.RUN_FAILED)
    assert failed.data["error"] == "ProviderError"
    assert failed.data["step"] == "implement"
    assert failed.data["resume"] == f"tamma run local:shop#1 --run-id {RUN}"
    status = tamma(home, "status")
    assert status.returncode == 0, status.stderr
    assert "failed" in status.stdout
    assert f"tamma run local:shop#1 --run-id {RUN}" in status.stdout
    again = resolve_in_process(world.issue_ref, auto_approve=True, script=str(world.script), ci_poll_s=0.1)
    assert again["run_id"] == RUN  # no run id given: the failed run is the one continued
    assert again["outcome"] == "awaiting-merge"
    assert plan_comments(world) == 1
    [resumed] = run_events(home, RUN, et.RUN_RESUMED)
    assert resumed.data["after"].startswith("it failed: ProviderError")


def mend_after_failure(home: Path, script: Path, text: str) -> None:
    """Give `script` the whole session as soon as any run records RUN.FAILED."""
    with EventStore(f"sqlite:///{home / 'events.db'}") as store:
        deadline = time.monotonic() + 120
        while not list(store.read(Query.of(types=[et.RUN_FAILED]))) and time.monotonic() < deadline:
            time.sleep(0.05)
    script.write_text(text)


def test_prefects_retry_continues_the_same_run(world: DemoWorld, home: Path) -> None:
    """The first try fails after its claim; the script is mended while Prefect waits to retry;
    the retry (the same flow run) continues the same Tamma run rather than finding its issue
    "already claimed"."""
    script = plan_only(home)
    mend = threading.Thread(target=mend_after_failure, args=(home, script, world.script.read_text()))
    mend.start()
    retried = resolve_issue.with_options(retries=1, retry_delay_seconds=3)
    state = retried(
        world.issue_ref, run_id=None, auto_approve=True, script=str(script), ci_poll_s=0.1, return_state=True
    )
    mend.join()
    summary: dict[str, Any] = state.result(raise_on_failure=False)  # type: ignore[assignment]
    assert state.type == StateType.COMPLETED, state
    assert state.name == "AwaitingMerge"
    claims = run_events(home, summary["run_id"], et.ISSUE_CLAIMED)
    assert {claim.data["claimant"] for claim in claims} == {str(state.state_details.flow_run_id)}
    assert len(run_events(home, summary["run_id"], et.RUN_FAILED)) == 1
    assert plan_comments(world) == 1


def test_outcomes_are_named_prefect_states(world: DemoWorld, home: Path) -> None:
    first = resolve_issue(
        world.issue_ref,
        run_id=RUN,
        auto_approve=True,
        script=str(world.script),
        ci_poll_s=0.1,
        return_state=True,
    )
    assert (first.type, first.name) == (StateType.COMPLETED, "AwaitingMerge")
    taken = resolve_issue(
        world.issue_ref, run_id="r-0000othr", auto_approve=True, script=str(world.script), return_state=True
    )
    assert (taken.type, taken.name) == (StateType.CANCELLED, "AlreadyClaimed")
    assert RUN in (taken.message or "")


def test_a_decision_given_to_a_dead_run_is_kept_and_a_sweep_finishes_it(world: DemoWorld, home: Path) -> None:
    """`tamma run` asks for approval and is killed with SIGKILL; `tamma approve` records the
    decision and says nobody is running it; once the claim's lease (2 s here) runs out, a sweep
    that does not approve anything by itself continues the run with the recorded approval."""
    env = environment(home) | {"TAMMA_CLAIM_LEASE_S": "2"}
    running = subprocess.Popen(
        [
            str(TAMMA),
            "run",
            world.issue_ref,
            "--run-id",
            RUN,
            "--script",
            str(world.script),
            "--ci-poll",
            "0.1",
        ],
        stdin=subprocess.DEVNULL,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        env=env,
    )
    try:
        deadline = time.monotonic() + 120
        while not run_events(home, RUN, et.APPROVAL_REQUESTED):
            assert running.poll() is None, "the run ended before it asked for approval"
            assert time.monotonic() < deadline
            time.sleep(0.1)
    finally:
        running.send_signal(signal.SIGKILL)
        running.wait(timeout=30)
    approved = subprocess.run(
        [str(TAMMA), "approve", RUN], capture_output=True, text=True, env=env, timeout=180
    )
    assert approved.returncode == 0, approved.stderr
    assert "no process is running it" in approved.stdout
    assert f"--run-id {RUN}" in approved.stdout
    [decision] = run_events(home, RUN, et.APPROVAL_PROVIDED)
    assert decision.metadata["actor"] == "user"
    time.sleep(2.5)  # past the lease: the run's last sign of life was the decision
    results = backlog_sweep(
        "local:shop", auto_approve=False, cooldown_s=0.0, script=str(world.script), ci_poll_s=0.1
    )
    assert [(r["run_id"], r["outcome"]) for r in results] == [(RUN, "awaiting-merge")], json.dumps(results)
    assert plan_comments(world) == 1
    assert len(run_events(home, RUN, et.APPROVAL_PROVIDED)) == 1
    assert len(run_events(home, RUN, et.ISSUE_CLAIM_EXPIRED)) == 1


def test_tamma_run_reports_a_failure_in_one_line_with_the_command_that_continues_it(
    world: DemoWorld, home: Path
) -> None:
    failed = tamma(
        home, "run", world.issue_ref, "--run-id", RUN, "--auto-approve", "--script", str(plan_only(home))
    )
    assert failed.returncode == 1
    assert "Traceback" not in failed.stderr
    [line] = [text for text in failed.stderr.splitlines() if text.startswith("tamma: error:")]
    assert f"run {RUN} failed (ProviderError: the script has 0 answer(s) for 'tests'" in line
    assert f"continue it with `tamma run 'local:shop#1' --run-id {RUN} --script" in line
    assert run_events(home, RUN, et.RUN_FAILED)
