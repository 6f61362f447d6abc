"""A deployed run that waits for a human holds no process: it suspends and leaves its worker.
Approved with `tamma approve`, or resumed from the UI once the reporter answered its questions,
a worker runs it again and it goes on to the pull request with every side effect once."""

from __future__ import annotations

import subprocess
import time
from pathlib import Path

import httpx

from event_store import EventStore, Query
from tamma import event_types as et
from tamma.demo.scenario import DemoWorld, analysis_answer, build_world, conversations
from tamma.providers import save_script
from tests.flows.conftest import BIN, PoolShell

RUN = "r-5usp3nd1"


def flow_run_state(api: str) -> str:
    runs = httpx.post(f"{api}/flow_runs/filter", json={"limit": 5}, timeout=30).json()
    [resolve] = [r for r in runs if r["parameters"].get("run_id") == RUN]
    return str(resolve["state"]["name"])


def resume(api: str, flow_run_id: str, run_input: dict[str, str]) -> httpx.Response:
    """Press Resume as the UI does, again if the test session's server answers 500 (its SQLite
    database was busy: seen once in CI, `{"exception_message": "Internal Server Error"}`)."""
    for _ in range(3):
        pressed = httpx.post(
            f"{api}/flow_runs/{flow_run_id}/resume", json={"run_input": run_input}, timeout=30
        )
        if pressed.status_code < 500:
            return pressed
        time.sleep(1)
    return pressed


def kinds(home: Path) -> list[str]:
    with EventStore(f"sqlite:///{home / 'events.db'}") as store:
        return [e.type for e in store.read(Query.of(tags=[f"run:{RUN}"]))]


def test_a_deployed_run_suspends_for_approval_and_a_worker_finishes_it_once_approved(
    world: DemoWorld,
    home: Path,
    prefect_api: str,
    pool_shell: PoolShell,
) -> None:
    run = pool_shell.run

    run(str(BIN / "tamma"), "deploy")
    run(
        str(BIN / "prefect"),
        "deployment",
        "run",
        "resolve-issue/resolve-issue",
        "-p",
        f"issue_ref={world.issue_ref}",
        "-p",
        f"run_id={RUN}",
        "-p",
        f"script={world.script}",
        "-p",
        "ci_poll_s=0.2",
    )
    worked = run(str(BIN / "tamma"), "worker", "--run-once")  # returns: the run suspended, its process ended
    assert flow_run_state(prefect_api) == "Suspended", worked.stdout[-3000:] + worked.stderr[-3000:]
    assert kinds(home).count(et.APPROVAL_REQUESTED) == 1
    assert et.APPROVAL_PROVIDED not in kinds(home)
    assert subprocess.run(["pgrep", "-f", RUN], capture_output=True).returncode == 1  # nothing runs it

    approved = run(str(BIN / "tamma"), "approve", RUN)
    assert "scheduled again, for a worker of its pool" in approved.stdout
    resumed = run(str(BIN / "tamma"), "worker", "--run-once")

    events = kinds(home)
    assert flow_run_state(prefect_api) == "AwaitingMerge", resumed.stdout[-3000:] + resumed.stderr[-3000:]
    for once in (
        et.ISSUE_CLAIMED,
        et.RUN_STARTED,
        et.ANALYSIS_COMPLETED,
        et.PLAN_PROPOSED,
        et.APPROVAL_REQUESTED,
        et.APPROVAL_PROVIDED,
        et.PR_CREATED,
        et.RUN_COMPLETED,
    ):
        assert events.count(once) == 1, once
    issue = world.platform.get_issue(1)
    assert sum("Tamma's plan" in c.body for c in issue.comments) == 1


def test_a_deployed_run_suspends_for_answers_and_reads_them_from_the_issue_when_resumed(
    home: Path, prefect_api: str, pool_shell: PoolShell
) -> None:
    run = pool_shell.run
    world = build_world(home, ci_failure=False)
    asking = conversations(ci_failure=False) | {
        "analysis": [analysis_answer(85, ["no currency"], ["Which currency?"])]
    }
    script = save_script(asking, home / "asking-session.json")

    run(str(BIN / "tamma"), "deploy")
    parameters = [
        f"issue_ref={world.issue_ref}",
        f"run_id={RUN}",
        f"script={script}",
        "auto_approve=true",
        "ci_poll_s=0.2",
    ]
    run(
        str(BIN / "prefect"),
        "deployment",
        "run",
        "resolve-issue/resolve-issue",
        *(f"-p={p}" for p in parameters),
    )
    run(str(BIN / "tamma"), "worker", "--run-once")
    assert flow_run_state(prefect_api) == "Suspended"
    assert kinds(home).count(et.CLARIFICATION_REQUESTED) == 1

    world.platform.add_comment(1, "Euros.", author="alice")  # the reporter answers on the issue
    [flow_run] = [
        r
        for r in httpx.post(f"{prefect_api}/flow_runs/filter", json={}, timeout=30).json()
        if r["parameters"].get("run_id") == RUN
    ]
    resumed = resume(prefect_api, flow_run["id"], {"answer": ""})
    assert resumed.json()["status"] == "ACCEPT", resumed.text
    run(str(BIN / "tamma"), "worker", "--run-once")

    assert flow_run_state(prefect_api) == "AwaitingMerge"
    events = kinds(home)
    for once in (
        et.ANALYSIS_COMPLETED,
        et.CLARIFICATION_REQUESTED,
        et.CLARIFICATION_RECEIVED,
        et.PLAN_PROPOSED,
    ):
        assert events.count(once) == 1, once
    with EventStore(f"sqlite:///{home / 'events.db'}") as store:
        [received] = store.read(Query.of(types=[et.CLARIFICATION_RECEIVED], tags=[f"run:{RUN}"]))
    assert [reply["author"] for reply in received.data["replies"]] == ["alice"]
    assert sum("more detail" in c.body for c in world.platform.get_issue(1).comments) == 1
