"""Structured answers: the analysis and the plan, asked for as a tool call and checked.

Why a tool and not "answer with JSON": a tool's input schema is what models are trained to
fill, `tool_choice` makes the model call one, and the provider hands back parsed arguments.
A prompt that merely described JSON got a template that was not JSON, answers that left the
ambiguity out (and were read as 0/100), and, for the plan, a JSON blob where prose belonged.

Every form offers a second tool, `decline`: a model that will not or cannot do what is asked
says so there, and its words escalate the run. A refusal in any other shape (the API's
`refusal` stop reason, a text answer that opens like one, a plan that is one) is read the same
way. A refusal is never an answer: it is never posted, approved or acted on.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from typing import Any, Generic, TypeVar

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from tamma.providers import Response, ToolSpec
from tamma.redaction import Redactor

__all__ = [
    "ANALYSIS",
    "DECLINE",
    "PLAN",
    "Analysis",
    "AnswerForm",
    "Declined",
    "Invalid",
    "PlanAnswer",
    "looks_like_refusal",
    "quote_model",
]

_DECLINING_VERB = r"(?:help|assist|comply|do (?:that|this)|fulfill?|provide|continue|proceed|work on|take (?:this|that) on|complete)"
_REFUSAL = re.compile(
    r"^\W*(?:I(?:'m| am) sorry|sorry,? but|I(?:'m| am) afraid I|I must decline|unfortunately,? I (?:can't|cannot)|"
    rf"I (?:cannot|can't|can not|won't|will not|am unable to|'m unable to|am not able to|'m not able to) {_DECLINING_VERB})",
    re.IGNORECASE,
)
"""How refusals open. Narrow on purpose: a plan may well begin "I cannot reproduce it when..."."""


QUOTED_CHARS = 500


def quote_model(words: str, redactor: Redactor) -> str:
    """A model's words as they may appear in an escalation: redacted, on one line, capped."""
    text = " ".join(redactor.text(words).split())
    return f'"{text[:QUOTED_CHARS]}{"…" if len(text) > QUOTED_CHARS else ""}"'


def looks_like_refusal(text: str) -> bool:
    """Whether `text` opens the way refusals open ("I cannot help with...", "Sorry, ...")."""
    return bool(_REFUSAL.match(text.strip()[:200]))


class Analysis(BaseModel):
    """The analyst's verdict on an issue."""

    model_config = ConfigDict(extra="forbid")

    ambiguity: int = Field(
        ge=0,
        le=100,
        description="How unclear the issue is: 0 = clear enough to fix as written, 100 = impossible "
        "to tell what is wanted.",
    )
    reasons: list[str] = Field(min_length=1, description="Why, one short point per item.")
    questions: list[str] = Field(
        default_factory=list,
        max_length=5,
        description="When the issue is unclear, 2 to 5 questions for the reporter; otherwise empty.",
    )


class PlanAnswer(BaseModel):
    """The planner's plan: markdown prose for the people who approve it."""

    model_config = ConfigDict(extra="forbid")

    plan: str = Field(
        description="The plan in markdown prose (no JSON): what is wrong, which tests will show it "
        "failing first, which code will change and how, and the risks."
    )

    @field_validator("plan")
    @classmethod
    def _prose(cls, plan: str) -> str:
        plan = plan.strip()
        if not plan:
            raise ValueError("the plan is empty")
        if _is_json(plan):
            raise ValueError("the plan is JSON; write it as markdown prose for a human reader")
        return plan


def _is_json(text: str) -> bool:
    unfenced = re.sub(r"^```\w*\s*|\s*```$", "", text)
    if not unfenced.startswith(("{", "[")):
        return False
    try:
        json.loads(unfenced)
    except ValueError:
        return False
    return True


DECLINE = ToolSpec(
    name="decline",
    description="Call this instead when you will not or cannot do what is asked. Say why in one or "
    "two sentences; a human reads it.",
    input_schema={
        "type": "object",
        "properties": {"reason": {"type": "string", "description": "Why you decline."}},
        "required": ["reason"],
    },
)


@dataclass(frozen=True)
class Declined:
    """The model would not answer; `words` are its own."""

    words: str


@dataclass(frozen=True)
class Invalid:
    """The answer did not fit the form; `problem` says how, for the model and for the record."""

    problem: str


T = TypeVar("T", bound=BaseModel)


@dataclass(frozen=True)
class AnswerForm(Generic[T]):
    """What a structured question asks the model to fill: a tool named `tool_name` taking `model`."""

    tool_name: str
    description: str
    model: type[T]

    @property
    def tool(self) -> ToolSpec:
        return ToolSpec(name=self.tool_name, description=self.description, input_schema=_schema(self.model))

    @property
    def tools(self) -> tuple[ToolSpec, ...]:
        return (self.tool, DECLINE)

    def read(self, response: Response) -> T | Declined | Invalid:
        """The answer in `response`: the form filled in, a refusal, or what is wrong with it."""
        if response.stop_reason == "refusal":
            return Declined(response.text.strip() or "(the model gave no reason)")
        uses = response.tool_uses
        declined = next((use for use in uses if use.name == DECLINE.name), None)
        if declined is not None:
            return Declined(str(declined.input.get("reason", "")).strip() or "(the model gave no reason)")
        use = next((use for use in uses if use.name == self.tool_name), None)
        if use is None:
            if looks_like_refusal(response.text):
                return Declined(response.text.strip())
            return Invalid(f"no {self.tool_name} call: answer by calling the {self.tool_name} tool")
        try:
            answer = self.model.model_validate(use.input)
        except ValidationError as error:
            return Invalid(_problems(error))
        refusal = next(
            (v for v in answer.model_dump().values() if isinstance(v, str) and looks_like_refusal(v)), None
        )
        return Declined(refusal) if refusal is not None else answer


def _schema(model: type[BaseModel]) -> dict[str, Any]:
    schema = model.model_json_schema()
    schema.pop("title", None)
    for field in schema.get("properties", {}).values():
        field.pop("title", None)
    return schema


def _problems(error: ValidationError) -> str:
    return "; ".join(
        f"{'.'.join(str(part) for part in problem['loc']) or 'input'}: {problem['msg']}"
        for problem in error.errors()
    )


ANALYSIS = AnswerForm(
    tool_name="report_analysis",
    description="Report how clear the issue is, why, and what to ask the reporter if it is unclear.",
    model=Analysis,
)
PLAN = AnswerForm(
    tool_name="submit_plan",
    description="Submit the plan to fix the issue test-first, for a human to approve.",
    model=PlanAnswer,
)
