"""Model providers behind one protocol: Anthropic, OpenAI-compatible, failover, recording
and replay.

    provider = RecordingProvider(AnthropicProvider(model="claude-sonnet-4-5"), store, ["run:42"])
    response = provider.complete(Request(messages=(Message.user("Plan a fix for ..."),)))

Everything here is plain Python (no Prefect) and speaks the normalized models of
`tamma.providers._models`; errors are `tamma.errors.ProviderError`s.
"""

from tamma.providers._anthropic import AnthropicProvider
from tamma.providers._failover import BreakerSettings, CircuitBreaker, FailoverProvider
from tamma.providers._models import (
    Completed,
    ContentBlock,
    Message,
    Request,
    Response,
    StopReason,
    StreamEvent,
    TextBlock,
    TextDelta,
    ToolResultBlock,
    ToolSpec,
    ToolUseBlock,
    ToolUseReceived,
    Usage,
)
from tamma.providers._openai import OpenAICompatibleProvider
from tamma.providers._pricing import ModelPrice, PriceTable
from tamma.providers._protocol import Provider
from tamma.providers._recording import RecordingProvider, ReplayProvider
from tamma.providers._retry import RetryPolicy
from tamma.providers._scripted import ScriptedProvider, scripted_text, scripted_tool_use

__all__ = [
    "AnthropicProvider",
    "BreakerSettings",
    "CircuitBreaker",
    "Completed",
    "ContentBlock",
    "FailoverProvider",
    "Message",
    "ModelPrice",
    "OpenAICompatibleProvider",
    "PriceTable",
    "Provider",
    "RecordingProvider",
    "ReplayProvider",
    "Request",
    "Response",
    "RetryPolicy",
    "ScriptedProvider",
    "StopReason",
    "StreamEvent",
    "TextBlock",
    "TextDelta",
    "ToolResultBlock",
    "ToolSpec",
    "ToolUseBlock",
    "ToolUseReceived",
    "Usage",
    "scripted_text",
    "scripted_tool_use",
]
