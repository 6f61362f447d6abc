"""Reading a structured answer: the form filled in, a refusal in any of its shapes, or what is wrong."""

from __future__ import annotations

import pytest

from tamma.agent.answers import ANALYSIS, PLAN, Analysis, Declined, Invalid, PlanAnswer, looks_like_refusal
from tamma.providers import Response, TextBlock, Usage, scripted_text, scripted_tool_use


@pytest.mark.parametrize(
    "text",
    [
        "I cannot help with this issue.",
        "I can't assist with that request.",
        "I'm sorry, but I won't write code that disables the licence check.",
        "Sorry, but this is outside what I can do.",
        "  I must decline: the issue asks for malware.",
        "Unfortunately, I cannot continue with this task.",
        "I won't do that.",
    ],
)
def test_refusals_are_recognised(text: str) -> None:
    assert looks_like_refusal(text)


@pytest.mark.parametrize(
    "text",
    [
        "I cannot reproduce the crash on Python 3.12, so the first test pins 3.11.",
        "**Cause.** `add` subtracts. I will add a failing test first.",
        "The fix cannot change the public API.",
    ],
)
def test_plans_that_mention_cannot_are_not_refusals(text: str) -> None:
    assert not looks_like_refusal(text)


def test_a_filled_in_form_is_the_answer() -> None:
    answer = ANALYSIS.read(
        scripted_tool_use("report_analysis", {"ambiguity": 85, "reasons": ["no currency"]})
    )
    assert answer == Analysis(ambiguity=85, reasons=["no currency"], questions=[])


@pytest.mark.parametrize(
    ("tool_input", "problem"),
    [
        ({"reasons": ["clear"]}, "ambiguity: Field required"),
        ({"ambiguity": 140, "reasons": ["clear"]}, "ambiguity: Input should be less than or equal to 100"),
        ({"ambiguity": "low", "reasons": ["clear"]}, "ambiguity: Input should be a valid integer"),
        ({"ambiguity": 5, "reasons": []}, "reasons: List should have at least 1 item"),
    ],
)
def test_a_form_with_a_missing_or_invalid_field_says_which(
    tool_input: dict[str, object], problem: str
) -> None:
    answer = ANALYSIS.read(scripted_tool_use("report_analysis", tool_input))
    assert isinstance(answer, Invalid)
    assert problem in answer.problem


def test_a_plan_must_be_prose() -> None:
    for plan, problem in (
        ("   ", "empty"),
        ('{"steps": ["fix it"]}', "JSON"),
        ('```json\n["fix"]\n```', "JSON"),
    ):
        answer = PLAN.read(scripted_tool_use("submit_plan", {"plan": plan}))
        assert isinstance(answer, Invalid)
        assert problem in answer.problem
    assert PLAN.read(scripted_tool_use("submit_plan", {"plan": " Fix `add`. "})) == PlanAnswer(
        plan="Fix `add`."
    )


def test_text_instead_of_the_tool_is_sent_back() -> None:
    answer = PLAN.read(scripted_text("Here is my plan: fix add()."))
    assert answer == Invalid("no submit_plan call: answer by calling the submit_plan tool")


def test_every_shape_of_refusal_is_declined_with_the_models_words() -> None:
    words = "I cannot help with this issue."
    api_refusal = Response(
        id="m",
        model="m",
        content=(TextBlock(text=words),),
        stop_reason="refusal",
        usage=Usage(),
        cost_usd=0.0,
        provider="p",
    )
    for response in (
        scripted_tool_use("decline", {"reason": words}),
        scripted_tool_use("submit_plan", {"plan": words}),
        scripted_text(words),
        api_refusal,
    ):
        assert PLAN.read(response) == Declined(words)


def test_the_forms_schema_is_what_the_model_fills() -> None:
    schema = ANALYSIS.tool.input_schema
    assert schema["required"] == ["ambiguity", "reasons"]
    assert schema["properties"]["ambiguity"]["maximum"] == 100
    assert [tool.name for tool in PLAN.tools] == ["submit_plan", "decline"]
