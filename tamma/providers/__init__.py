"""Model providers behind one protocol: Anthropic, OpenAI-compatible, failover, recording
and replay.

    provider = RecordingProvider(AnthropicProvider(model="claude-sonnet-4-5"), store, ["run:42"])
    response = provider.complete(Request(messages=(Message.user("Plan a fix for ..."),)))

Everything here is plain Python (no Prefect) and speaks the normalized models of
`tamma.providers._models`; errors are `tamma.errors.ProviderError`s. Names load on first
use (PEP 562), so importing one of them does not pull in every SDK: the CLI stays fast.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from tamma._lazy import lazy_attributes

if TYPE_CHECKING:
    from tamma.providers._anthropic import AnthropicProvider
    from tamma.providers._factory import build_provider
    from tamma.providers._failover import BreakerSettings, CircuitBreaker, FailoverProvider
    from tamma.providers._models import (
        Completed,
        ContentBlock,
        Message,
        Request,
        Response,
        Retrying,
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
    from tamma.providers._scripted import ScriptedProvider, save_script, scripted_text, scripted_tool_use

# Keep in step with __all__ below (a test checks that every name resolves).
_LAZY = {
    "AnthropicProvider": "tamma.providers._anthropic",
    "BreakerSettings": "tamma.providers._failover",
    "CircuitBreaker": "tamma.providers._failover",
    "Completed": "tamma.providers._models",
    "ContentBlock": "tamma.providers._models",
    "FailoverProvider": "tamma.providers._failover",
    "Message": "tamma.providers._models",
    "ModelPrice": "tamma.providers._pricing",
    "OpenAICompatibleProvider": "tamma.providers._openai",
    "PriceTable": "tamma.providers._pricing",
    "Provider": "tamma.providers._protocol",
    "RecordingProvider": "tamma.providers._recording",
    "ReplayProvider": "tamma.providers._recording",
    "Request": "tamma.providers._models",
    "Response": "tamma.providers._models",
    "Retrying": "tamma.providers._models",
    "RetryPolicy": "tamma.providers._retry",
    "ScriptedProvider": "tamma.providers._scripted",
    "StopReason": "tamma.providers._models",
    "StreamEvent": "tamma.providers._models",
    "TextBlock": "tamma.providers._models",
    "TextDelta": "tamma.providers._models",
    "ToolResultBlock": "tamma.providers._models",
    "ToolSpec": "tamma.providers._models",
    "ToolUseBlock": "tamma.providers._models",
    "ToolUseReceived": "tamma.providers._models",
    "Usage": "tamma.providers._models",
    "build_provider": "tamma.providers._factory",
    "save_script": "tamma.providers._scripted",
    "scripted_text": "tamma.providers._scripted",
    "scripted_tool_use": "tamma.providers._scripted",
}

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
    "Retrying",
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
    "save_script",
    "scripted_text",
    "scripted_tool_use",
]


__getattr__ = lazy_attributes(__name__, _LAZY)
