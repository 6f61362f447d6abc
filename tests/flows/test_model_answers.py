"""What the model answers is checked before anything acts on it: a refusal is never a plan, a
misfit answer is asked for again once, and no call goes out that the budget cannot pay for."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from event_store import EventStore, Query
from flows.resolve_issue import resolve_in_process
from tamma import event_types as et
from tamma.demo.scenario import DemoWorld, analysis_answer, build_world, conversations, plan_answer
from tamma.git import git
from tamma.providers import Response, save_script, scripted_text, scripted_tool_use
from tests.flows.test_resolve_issue import RUN, assert_replays_identically

REFUSAL = "I cannot help with this issue: it asks me to change billing code I am not allowed to touch."


def run(world: DemoWorld, home: Path, **replaced: list[Response]) -> dict[str, object]:
    script = save_script(conversations(ci_failure=False) | replaced, home / "answers-session.json")
    return resolve_in_process(
        world.issue_ref, run_id=RUN, auto_approve=True, script=str(script), ci_poll_s=0.1
    )


def recorded(home: Path, *types: str) -> list[dict[str, object]]:
    with EventStore(f"sqlite:///{home / 'events.db'}") as store:
        return [
            {"type": e.type, "position": e.position, **e.data}
            for e in store.read(Query.of(types=list(types), tags=[f"run:{RUN}"]))
        ]


def comments(world: DemoWorld) -> list[str]:
    return [c.body for c in world.platform.get_issue(1).comments]


@pytest.mark.parametrize(
    "refusal",
    [
        scripted_tool_use("decline", {"reason": REFUSAL}),
        scripted_tool_use("submit_plan", {"plan": REFUSAL}),
        scripted_text(REFUSAL),
    ],
    ids=["decline-tool", "refusal-as-plan", "refusal-as-text"],
)
def test_a_refused_plan_escalates_with_the_models_words_and_is_never_approved(
    world: DemoWorld, home: Path, refusal: Response
) -> None:
    result = run(world, home, plan=[refusal])
    assert result["outcome"] == "escalated"
    assert REFUSAL in str(result["escalated"])
    kinds = [e["type"] for e in recorded(home, et.PLAN_PROPOSED, et.APPROVAL_PROVIDED, et.AI_REQUEST_STARTED)]
    assert et.PLAN_PROPOSED not in kinds
    assert et.APPROVAL_PROVIDED not in kinds
    assert (
        kinds.count(et.AI_REQUEST_STARTED) == 2
    )  # the analysis and one plan call: a refusal is not asked again
    [rejected] = recorded(home, et.AI_ANSWER_REJECTED)
    assert rejected["declined"] is True
    assert not any("Tamma's plan" in body for body in comments(world))
    [escalation] = [body for body in comments(world) if "needs a human" in body]
    assert REFUSAL in escalation
    assert_replays_identically(RUN)


def test_a_json_blob_for_a_plan_is_sent_back_once_and_the_second_answer_stands(
    world: DemoWorld, home: Path
) -> None:
    blob = json.dumps({"steps": ["edit calc.py"], "tests": ["tests/test_add.py"]})
    result = run(world, home, plan=[plan_answer(blob), plan_answer("**Fix.** Make `add` return the sum.")])
    assert result["outcome"] == "awaiting-merge"
    [rejected] = recorded(home, et.AI_ANSWER_REJECTED)
    assert "JSON" in str(rejected["problem"])
    [proposed] = recorded(home, et.PLAN_PROPOSED)
    assert proposed["plan"] == "**Fix.** Make `add` return the sum."
    second_request = recorded(home, et.AI_REQUEST_STARTED)[2]["request"]
    assert isinstance(second_request, dict)
    assert second_request["tool_choice"] == "any"
    correction = second_request["messages"][-1]["content"][0]
    assert correction["is_error"] is True
    assert "JSON" in correction["content"]


def test_an_analysis_without_its_ambiguity_is_asked_again_then_escalates(
    world: DemoWorld, home: Path
) -> None:
    incomplete = scripted_tool_use("report_analysis", {"reasons": ["clear"], "questions": []})
    result = run(world, home, analysis=[incomplete, incomplete])
    assert result["outcome"] == "escalated"
    assert "ambiguity" in str(result["escalated"])
    assert "twice" in str(result["escalated"])
    assert len(recorded(home, et.AI_ANSWER_REJECTED)) == 2
    assert recorded(home, et.ANALYSIS_COMPLETED) == []  # never read as 0/100


def test_a_refusing_agent_stops_at_its_first_refusal_and_the_escalation_quotes_it(
    world: DemoWorld, home: Path
) -> None:
    result = run(world, home, tests=[scripted_text(REFUSAL)])
    assert result["outcome"] == "escalated"
    assert REFUSAL in str(result["escalated"])
    turns = [e for e in recorded(home, et.AI_REQUEST_STARTED) if e["request"]["purpose"] == "tests"]  # type: ignore[index]
    assert len(turns) == 1
    [escalation] = [body for body in comments(world) if "needs a human" in body]
    assert REFUSAL in escalation


def test_an_issue_too_large_for_the_budget_is_never_sent(home: Path) -> None:
    world = build_world(home, ci_failure=False, name="huge")
    huge = world.platform.create_issue("Totals are wrong", "x" * 10_000_000, labels=["tamma"], author="alice")
    script = save_script(conversations(ci_failure=False), home / "huge-session.json")
    result = resolve_in_process(str(huge.ref), run_id=RUN, auto_approve=True, script=str(script))
    assert result["outcome"] == "escalated"
    assert "budget: tokens" in str(result["escalated"])
    assert recorded(home, et.AI_REQUEST_STARTED) == []
    [exceeded] = recorded(home, et.BUDGET_EXCEEDED)
    assert exceeded["phase"] == "analysis"


def test_the_scripted_analysis_answer_fits_its_form() -> None:
    """The demo's and the bench's scripts answer in the form the analysis step asks for."""
    answer = analysis_answer(85, ["no currency"], ["Which currency?"])
    [use] = answer.tool_uses
    assert (use.name, use.input["ambiguity"]) == ("report_analysis", 85)


def test_work_committed_before_the_agent_stopped_is_pushed_and_the_escalation_says_how_to_go_on(
    world: DemoWorld, home: Path
) -> None:
    unfixed = [scripted_tool_use("finish", {"summary": "done"}, tool_id=f"f{n}") for n in range(3)]
    result = run(world, home, fix=unfixed)  # the fix phase never makes the suite pass
    assert result["outcome"] == "escalated"
    assert "fix: the check still failed after 3 attempts" in str(result["escalated"])
    [pushed] = recorded(home, et.BRANCH_PUSHED)
    [tests_commit] = [e for e in recorded(home, et.COMMIT_CREATED) if e["phase"] == "tests"]
    assert pushed["sha"] == tests_commit["sha"]
    branch = str(pushed["branch"])
    assert git("rev-parse", branch, cwd=world.platform.remote).stdout.strip() == pushed["sha"]
    assert world.platform.find_pull_request(branch) is None
    [escalation] = [body for body in comments(world) if "needs a human" in body]
    assert f"kept on branch `{branch}`" in escalation
    assert "- tests: tests/test_add.py shows add(1, 2) == -1" in escalation
    [fix_started] = [e for e in recorded(home, et.AGENT_PHASE_STARTED) if e["phase"] == "fix"]
    assert f"tamma replay {RUN} --from {fix_started['position']} --provider NAME" in escalation
