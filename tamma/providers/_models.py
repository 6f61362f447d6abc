"""The normalized conversation: what every provider accepts and returns.

SDK objects never leave an adapter; callers (the agent loop, analysis, planning) speak only
these models, so a recorded exchange replays the same whichever provider produced it.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field

__all__ = [
    "Completed",
    "ContentBlock",
    "Message",
    "Request",
    "Response",
    "Retrying",
    "StopReason",
    "StreamEvent",
    "TextBlock",
    "TextDelta",
    "ToolResultBlock",
    "ToolSpec",
    "ToolUseBlock",
    "ToolUseReceived",
    "Usage",
    "replay_stream",
]


class _Frozen(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class TextBlock(_Frozen):
    type: Literal["text"] = "text"
    text: str


class ToolUseBlock(_Frozen):
    """The model asks to call tool `name` with `input`; `id` pairs it with its result."""

    type: Literal["tool_use"] = "tool_use"
    id: str
    name: str
    input: dict[str, Any]


class ToolResultBlock(_Frozen):
    """What a tool returned, sent back to the model in a user message."""

    type: Literal["tool_result"] = "tool_result"
    tool_use_id: str
    content: str
    is_error: bool = False


ContentBlock = Annotated[TextBlock | ToolUseBlock | ToolResultBlock, Field(discriminator="type")]


class Message(_Frozen):
    role: Literal["user", "assistant"]
    content: tuple[ContentBlock, ...]

    @classmethod
    def user(cls, text: str) -> Message:
        return cls(role="user", content=(TextBlock(text=text),))

    @property
    def text(self) -> str:
        """The message's text blocks joined: what a person would read."""
        return "".join(block.text for block in self.content if isinstance(block, TextBlock))


class ToolSpec(_Frozen):
    """A tool the model may call: its name, what it does, and its input's JSON schema."""

    name: str
    description: str
    input_schema: dict[str, Any]


class Request(_Frozen):
    """One model call. `model` may be empty: the provider then uses its configured model."""

    messages: tuple[Message, ...]
    system: str = ""
    tools: tuple[ToolSpec, ...] = ()
    tool_choice: str = ""
    """Empty: the model decides whether to call a tool; "any": it must call one of `tools`; a
    tool's name: it must call that tool. How structured answers are asked for."""
    model: str = ""
    max_tokens: int = 4096
    temperature: float | None = None
    purpose: str = ""
    """What the call is for (analysis, plan, or the agent's phase: tests, fix, refactor, lint,
    ci-fix): recorded with the request and never sent to a model."""


StopReason = Literal["end_turn", "tool_use", "max_tokens", "stop_sequence", "refusal", "other"]


class Usage(_Frozen):
    """Tokens of one call. `input_tokens` excludes the cached ones, as Anthropic reports it."""

    input_tokens: int = 0
    output_tokens: int = 0
    cache_read_tokens: int = 0
    cache_write_tokens: int = 0

    @property
    def total_input_tokens(self) -> int:
        return self.input_tokens + self.cache_read_tokens + self.cache_write_tokens

    def __add__(self, other: Usage) -> Usage:
        return Usage(
            input_tokens=self.input_tokens + other.input_tokens,
            output_tokens=self.output_tokens + other.output_tokens,
            cache_read_tokens=self.cache_read_tokens + other.cache_read_tokens,
            cache_write_tokens=self.cache_write_tokens + other.cache_write_tokens,
        )


class Response(_Frozen):
    """The model's answer, with what it cost and which provider gave it."""

    id: str
    model: str
    content: tuple[ContentBlock, ...]
    stop_reason: StopReason
    usage: Usage
    cost_usd: float
    provider: str

    @property
    def text(self) -> str:
        return "".join(block.text for block in self.content if isinstance(block, TextBlock))

    @property
    def tool_uses(self) -> tuple[ToolUseBlock, ...]:
        return tuple(block for block in self.content if isinstance(block, ToolUseBlock))

    def as_message(self) -> Message:
        """The answer as the assistant turn of the next request."""
        return Message(role="assistant", content=self.content)


class TextDelta(_Frozen):
    """A piece of text as it streams in."""

    type: Literal["text_delta"] = "text_delta"
    text: str


class ToolUseReceived(_Frozen):
    """A complete tool call, emitted once its input has fully streamed."""

    type: Literal["tool_use"] = "tool_use"
    block: ToolUseBlock


class Completed(_Frozen):
    """The last stream event: the same Response `complete()` would have returned."""

    type: Literal["completed"] = "completed"
    response: Response


class Retrying(_Frozen):
    """Attempt `attempt` (of at most `attempts`) failed transiently; the next starts after
    `delay_s`. Discard every event since the stream (or the previous `Retrying`) began: the
    next attempt answers from the start, and its `Completed` is the answer."""

    type: Literal["retrying"] = "retrying"
    attempt: int
    attempts: int
    error: str
    """The failure's class name, e.g. `ProviderOverloaded`."""
    message: str
    delay_s: float


StreamEvent = TextDelta | ToolUseReceived | Retrying | Completed


def replay_stream(response: Response) -> Iterator[StreamEvent]:
    """The stream a live provider would have produced for `response`, one event per block:
    what scripted and replayed providers yield, so stream consumers see the same shapes."""
    for block in response.content:
        if isinstance(block, TextBlock):
            yield TextDelta(text=block.text)
        elif isinstance(block, ToolUseBlock):
            yield ToolUseReceived(block=block)
    yield Completed(response=response)
