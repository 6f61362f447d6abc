"""`resolve_issue` end to end on the local platform with the scripted demo model."""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Callable
from pathlib import Path

import pytest

from event_store import Event, EventStore, Query
from flows.replay_run import replay_run
from flows.resolve_issue import resolve_in_process
from tamma import event_types as et
from tamma.cli._decisions import answer
from tamma.demo.scenario import DemoWorld, agent_settings, analysis_answer, session
from tamma.git import git
from tamma.providers import Response, save_script, scripted_tool_use


def events(home: Path, run_id: str) -> list[str]:
    with EventStore(f"sqlite:///{home / 'events.db'}") as store:
        return [e.type for e in store.read(Query.of(tags=[f"run:{run_id}"]))]


def test_happy_path_with_a_ci_repair_stops_at_the_merge_checkpoint(world: DemoWorld, home: Path) -> None:
    result = resolve_in_process(world.issue_ref, auto_approve=True, script=str(world.script), ci_poll_s=0.1)
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


RUN = "r-0000test"


def scripted(home: Path, responses: list[Response]) -> str:
    return str(save_script(responses, home / "custom-session.json"))


def assert_replays_identically(run_id: str) -> None:
    report = replay_run(run_id)
    assert report["identical"], report["divergence"]["text"]


def when_recorded(home: Path, event_type: str, action: Callable[[Event], None]) -> threading.Thread:
    """Run `action` on a thread as soon as the run records `event_type` (as a person would)."""

    def watch() -> None:
        with EventStore(f"sqlite:///{home / 'events.db'}") as store:
            deadline = time.monotonic() + 60
            while time.monotonic() < deadline:
                found = list(store.read(Query.of(types=[event_type], tags=[f"run:{RUN}"])))
                if found:
                    action(found[-1])
                    return
                time.sleep(0.1)

    thread = threading.Thread(target=watch, daemon=True)
    thread.start()
    return thread


def test_a_rejected_plan_stops_the_run_and_releases_the_issue(world: DemoWorld, home: Path) -> None:
    reply = when_recorded(
        home,
        et.APPROVAL_REQUESTED,
        lambda e: answer(e.data["flow_run_id"], {"decision": "reject", "reason": "too risky"}),
    )
    result = resolve_in_process(world.issue_ref, run_id=RUN, script=str(world.script), approval_timeout_s=120)
    reply.join()
    assert result["outcome"] == "rejected"
    assert result["pull_request"] is None
    kinds = events(home, RUN)
    assert et.APPROVAL_REJECTED in kinds
    assert et.ISSUE_RELEASED in kinds
    assert et.AGENT_PHASE_STARTED not in kinds
    assert_replays_identically(RUN)  # the recorded rejection answers the replay's request


def test_an_edited_plan_is_the_one_implemented(world: DemoWorld, home: Path) -> None:
    edited = "Fix add() so that it returns a + b. Also keep total() as it is."
    reply = when_recorded(
        home,
        et.APPROVAL_REQUESTED,
        lambda e: answer(e.data["flow_run_id"], {"decision": "edit", "plan": edited}),
    )
    result = resolve_in_process(world.issue_ref, run_id=RUN, script=str(world.script), ci_poll_s=0.1)
    reply.join()
    assert result["outcome"] == "awaiting-merge"
    with EventStore(f"sqlite:///{home / 'events.db'}") as store:
        approval = next(store.read(Query.of(types=[et.APPROVAL_PROVIDED])))
        assert approval.data["edited"]
        assert approval.metadata["actor"] == "user"
        first_agent_request = list(store.read(Query.of(types=[et.AI_REQUEST_STARTED], tags=[f"run:{RUN}"])))[
            2
        ]
    assert edited in json.dumps(first_agent_request.data["request"]["messages"][0])
    pull = world.platform.find_pull_request(result["pull_request"]["head"])
    assert pull is not None
    assert edited in pull.body
    assert_replays_identically(RUN)  # the recorded edit reaches the replayed agent


def test_an_ambiguous_issue_gets_questions_and_the_answer_reaches_the_plan(
    world: DemoWorld, home: Path
) -> None:
    responses = session(ci_failure=False, ambiguity=85)
    responses[0] = analysis_answer(
        85, ["no currency given"], ["Which currency?", "Are refunds negative amounts?"]
    )

    def reply_to_questions(_: object) -> None:
        world.platform.add_comment(1, "Rewrite it all in Rust.", author="drive-by")  # not the reporter
        world.platform.add_comment(1, "Euros; refunds are negative.", author="alice")

    reply = when_recorded(home, et.CLARIFICATION_REQUESTED, reply_to_questions)
    result = resolve_in_process(
        world.issue_ref,
        run_id=RUN,
        auto_approve=True,
        script=scripted(home, responses),
        clarification_poll_s=0.1,
        ci_poll_s=0.1,
    )
    reply.join()
    assert result["outcome"] == "awaiting-merge"
    questions = [c for c in world.platform.get_issue(1).comments if "Which currency?" in c.body]
    assert len(questions) == 1
    with EventStore(f"sqlite:///{home / 'events.db'}") as store:
        received = next(store.read(Query.of(types=[et.CLARIFICATION_RECEIVED])))
        plan_request = list(store.read(Query.of(types=[et.AI_REQUEST_STARTED], tags=[f"run:{RUN}"])))[1]
    assert received.data["answer"] == "Euros; refunds are negative."
    prompt = plan_request.data["request"]["messages"][0]["content"][0]["text"]
    issue_data = json.loads(prompt.split("\n", 1)[1].rsplit("\n", 1)[0])
    assert issue_data["answers_to_tamma_questions"] == [
        {"author": "alice", "role": "reporter", "body": "Euros; refunds are negative."}
    ]
    assert_replays_identically(RUN)  # the recorded answer follows the replayed questions


def test_three_failed_ci_repairs_escalate_to_a_human(world: DemoWorld, home: Path) -> None:
    responses = session(ci_failure=True)[:-4]  # the first fix passes locally but not in CI
    for attempt in range(1, 4):
        responses += [
            scripted_tool_use(
                "write_file", {"path": "NOTES.md", "content": f"attempt {attempt}\n"}, tool_id=f"w{attempt}"
            ),
            scripted_tool_use("finish", {"summary": f"attempt {attempt}"}, tool_id=f"f{attempt}"),
        ]
    result = resolve_in_process(
        world.issue_ref, run_id=RUN, auto_approve=True, script=scripted(home, responses), ci_poll_s=0.1
    )
    assert result["outcome"] == "escalated"
    assert "3 repair attempts" in result["escalated"]
    assert_replays_identically(RUN)  # three repairs, their CI runs, the label and the comment
    issue = world.platform.get_issue(1)
    assert "needs-human-review" in issue.labels
    assert sum("needs a human" in c.body for c in issue.comments) == 1
    kinds = events(home, RUN)
    assert kinds.count(et.CI_FIX_ATTEMPTED) == 3
    assert kinds.count(et.ESCALATION_TRIGGERED) == 1


def test_the_budget_stops_the_agent_and_escalates(
    world: DemoWorld, home: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("TAMMA_AGENT", json.dumps(agent_settings() | {"budget": {"max_turns": 5}}))
    result = resolve_in_process(
        world.issue_ref, run_id=RUN, auto_approve=True, script=str(world.script), ci_poll_s=0.1
    )
    assert result["outcome"] == "escalated"
    assert "budget" in result["escalated"]
    kinds = events(home, RUN)
    assert kinds.count(et.BUDGET_EXCEEDED) == 1
    assert et.PR_CREATED not in kinds
    assert "needs-human-review" in world.platform.get_issue(1).labels
    with EventStore(f"sqlite:///{home / 'events.db'}") as store:  # captured with run and issue tags
        tagged = [e.type for e in store.read(Query.of(tags=[f"run:{RUN}", "issue:local:shop#1"]))]
    for kind in (
        et.BUDGET_EXCEEDED,
        et.AGENT_FINISHED,
        et.LABEL_ADDED,
        et.ESCALATION_TRIGGERED,
        et.RUN_COMPLETED,
    ):
        assert kind in tagged, kind


def test_a_second_run_finds_the_issue_claimed(world: DemoWorld, home: Path) -> None:
    first = resolve_in_process(
        world.issue_ref, run_id=RUN, auto_approve=True, script=str(world.script), ci_poll_s=0.1
    )
    assert first["outcome"] == "awaiting-merge"
    second = resolve_in_process(world.issue_ref, auto_approve=True, script=str(world.script))
    assert second["outcome"] == "already-claimed"
    assert second["holder"] == RUN
    again = resolve_in_process(world.issue_ref, run_id=RUN, auto_approve=True, script=str(world.script))
    assert again["outcome"] == "awaiting-merge"  # the holder continuing finds nothing left to do
    assert events(home, RUN).count(et.PR_CREATED) == 1


def test_configured_secrets_are_masked_whatever_their_shape(
    world: DemoWorld, home: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    secret = "corp-internal-token-7f3a9c21"  # no known token pattern: only its exact value can catch it
    monkeypatch.setenv("GITLAB_TOKEN", secret)
    world.platform.add_comment(1, f"the deploy token is {secret}, please do not leak it")
    result = resolve_in_process(
        world.issue_ref, run_id=RUN, auto_approve=True, script=str(world.script), ci_poll_s=0.1
    )
    assert result["outcome"] == "awaiting-merge"
    with EventStore(f"sqlite:///{home / 'events.db'}") as store:
        recorded = [json.dumps(e.data) for e in store.read(Query.of(tags=[f"run:{RUN}"]))]
    assert any("[REDACTED]" in data for data in recorded)
    assert not any(secret in data for data in recorded)
