"""Model providers behind one protocol: Anthropic, OpenAI-compatible, failover, recording
and replay.

    provider = RecordingProvider(AnthropicProvider(model="claude-sonnet-4-5"), store, ["run:42"])
    response = provider.complete(Request(messages=(Message.user("Plan a fix for ..."),)))

Everything here is plain Python (no Prefect) and speaks the normalized models of
`tamma.providers._models`; errors are `tamma.errors.ProviderError`s. The adapters load their
SDKs on first use, so importing settings or models from here stays cheap for the CLI.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

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
from tamma.providers._pricing import ModelPrice, PriceTable
from tamma.providers._protocol import Provider
from tamma.providers._recording import RecordingProvider, ReplayProvider
from tamma.providers._retry import RetryPolicy
from tamma.providers._scripted import ScriptedProvider, scripted_text, scripted_tool_use

if TYPE_CHECKING:
    from tamma.providers._anthropic import AnthropicProvider
    from tamma.providers._factory import build_provider
    from tamma.providers._openai import OpenAICompatibleProvider

_LAZY = {
    "AnthropicProvider": "tamma.providers._anthropic",
    "OpenAICompatibleProvider": "tamma.providers._openai",
    "build_provider": "tamma.providers._factory",
}


def __getattr__(name: str) -> Any:
    if name in _LAZY:
        from importlib import import_module

        return getattr(import_module(_LAZY[name]), name)
    raise AttributeError(f"module 'tamma.providers' has no attribute {name!r}")


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
    "build_provider",
    "scripted_text",
    "scripted_tool_use",
]
