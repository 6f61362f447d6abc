"""Fake model APIs on 127.0.0.1 that the real `anthropic` SDK and httpx are pointed at.

The servers and the wire-level reply types are exported here; the reply builders stay in
`tests.fakes.anthropic` and `tests.fakes.openai` (their names overlap, e.g. `rate_limit_error`),
so import those modules by name. Fixtures live in `tests.fakes.fixtures`.
"""

from __future__ import annotations

from tests.fakes._server import (
    Delayed,
    Disconnect,
    FakeServer,
    JsonReply,
    RecordedRequest,
    ScriptEntry,
    SSEReply,
    delayed,
    error_reply,
)
from tests.fakes.anthropic import FakeAnthropic, MessageReply, PromptCache, TokenCounts
from tests.fakes.openai import ChatUsage, CompletionReply, FakeOpenAI

__all__ = [
    "ChatUsage",
    "CompletionReply",
    "Delayed",
    "Disconnect",
    "FakeAnthropic",
    "FakeOpenAI",
    "FakeServer",
    "JsonReply",
    "MessageReply",
    "PromptCache",
    "RecordedRequest",
    "SSEReply",
    "ScriptEntry",
    "TokenCounts",
    "delayed",
    "error_reply",
]
