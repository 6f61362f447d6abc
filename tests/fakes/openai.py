"""A fake OpenAI-compatible chat completions server (`POST /v1/chat/completions`).

Why: the OpenAI-compatible provider talks plain httpx to Ollama, vLLM, LM Studio or
OpenRouter, which all copy OpenAI's wire format. This fake answers in that format: a
`chat.completion` object, or for `"stream": true` the `data: {chat.completion.chunk}` lines
(content pieces; tool calls as index + id + name, then argument fragments; a finish chunk; a
usage chunk when `stream_options.include_usage` is set) closed by `data: [DONE]`; errors as
`{"error": {"message", "type", "param", "code"}}`. One scripted `CompletionReply` answers
either way, so streamed deltas can be checked against the plain message.

Faults, for the provider's retries: `cut_stream` drops the connection mid-stream,
`midstream_error` sends an `error` chunk after the first content piece (as vLLM and
OpenRouter do when the model fails after the 200), `overloaded_errors(k)` answers 503 k times.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Sequence
from dataclasses import dataclass, replace
from typing import Any

from tests.fakes._server import (
    Disconnect,
    FakeServer,
    JsonReply,
    RecordedRequest,
    SSEFrame,
    SSEReply,
    WireReply,
    error_reply,
    estimate_tokens,
    split_text,
)
from tests.fakes.anthropic import dropped_after

CREATED = 1_760_000_000
"""A fixed `created` timestamp: replies are reproducible, and nothing should depend on it."""


@dataclass(frozen=True)
class ChatUsage:
    """The `usage` of a completion; `cached_tokens` goes to `prompt_tokens_details`."""

    prompt_tokens: int
    completion_tokens: int
    cached_tokens: int = 0

    def wire(self) -> dict[str, Any]:
        return {
            "prompt_tokens": self.prompt_tokens,
            "completion_tokens": self.completion_tokens,
            "total_tokens": self.prompt_tokens + self.completion_tokens,
            "prompt_tokens_details": {"cached_tokens": self.cached_tokens},
            "completion_tokens_details": {"reasoning_tokens": 0},
        }


def tool_call(name: str, arguments: dict[str, Any], *, call_id: str | None = None) -> dict[str, Any]:
    """One entry of `message.tool_calls`; the arguments travel as a JSON string."""
    return {
        "id": call_id or f"call_fake_{uuid.uuid4().hex[:20]}",
        "type": "function",
        "function": {"name": name, "arguments": json.dumps(arguments)},
    }


@dataclass(frozen=True)
class CompletionReply:
    """One assistant message, as a `chat.completion` or as chunks per the request's `stream`.

    `model=None` echoes the requested model; `usage=None` estimates prompt tokens from the
    request's messages and tools and completion tokens from the reply. `midstream_error` (a
    status) puts an `error` chunk after the first content piece and ends the stream there,
    and fails a plain request with that status; `cut_after` drops the connection after that
    many `data:` lines (a plain request: before any answer).
    """

    content: str | None
    tool_calls: tuple[dict[str, Any], ...]
    finish_reason: str
    completion_id: str
    model: str | None = None
    usage: ChatUsage | None = None
    frame_delay: float = 0.0
    midstream_error: int | None = None
    cut_after: int | None = None

    def completion(self, request: RecordedRequest | None = None) -> dict[str, Any]:
        """The non-streamed `chat.completion` body this reply stands for."""
        body = request.json if request is not None else {}
        message: dict[str, Any] = {"role": "assistant", "content": self.content}
        if self.tool_calls:
            message["tool_calls"] = [dict(call) for call in self.tool_calls]
        usage = self.usage or ChatUsage(
            prompt_tokens=estimate_tokens(json.dumps([body.get("messages"), body.get("tools")])),
            completion_tokens=estimate_tokens(json.dumps(message)),
        )
        return {
            "id": self.completion_id,
            "object": "chat.completion",
            "created": CREATED,
            "model": self.model or body.get("model", "fake-model"),
            "choices": [
                {"index": 0, "message": message, "logprobs": None, "finish_reason": self.finish_reason}
            ],
            "usage": usage.wire(),
        }

    def __call__(self, request: RecordedRequest) -> WireReply:
        if self.cut_after is not None and not request.streaming:
            return Disconnect()
        if self.midstream_error and not request.streaming:
            return server_error(status=self.midstream_error)
        completion = self.completion(request)
        if not request.streaming:
            return JsonReply(completion)
        options = request.json.get("stream_options") or {}
        frames: Sequence[SSEFrame] = completion_chunks(
            completion, include_usage=bool(options.get("include_usage"))
        )
        if self.midstream_error:
            frames = [*frames[:2], (None, json.dumps(_stream_error(self.midstream_error)))]
        if self.cut_after is not None:
            frames = dropped_after(frames, self.cut_after)
        return SSEReply(frames, frame_delay=self.frame_delay)


def completion_reply(
    content: str | None = None,
    *,
    tool_calls: Sequence[dict[str, Any]] = (),
    finish_reason: str | None = None,
    usage: ChatUsage | None = None,
    model: str | None = None,
    completion_id: str | None = None,
    frame_delay: float = 0.0,
) -> CompletionReply:
    """Any completion; `finish_reason` defaults to "tool_calls" when there are calls, else "stop"."""
    return CompletionReply(
        content=content,
        tool_calls=tuple(tool_calls),
        finish_reason=finish_reason or ("tool_calls" if tool_calls else "stop"),
        completion_id=completion_id or f"chatcmpl-fake{uuid.uuid4().hex[:20]}",
        model=model,
        usage=usage,
        frame_delay=frame_delay,
    )


def text_completion(
    text: str,
    *,
    finish_reason: str = "stop",
    usage: ChatUsage | None = None,
    model: str | None = None,
    frame_delay: float = 0.0,
) -> CompletionReply:
    """A text answer (`finish_reason="length"` for one cut off by `max_tokens`)."""
    return completion_reply(
        text, finish_reason=finish_reason, usage=usage, model=model, frame_delay=frame_delay
    )


def tool_calls_completion(
    *calls: dict[str, Any],
    content: str | None = None,
    usage: ChatUsage | None = None,
    model: str | None = None,
    frame_delay: float = 0.0,
) -> CompletionReply:
    """Calls to one or more tools (`tool_call(...)` each), `finish_reason="tool_calls"`."""
    return completion_reply(content, tool_calls=calls, usage=usage, model=model, frame_delay=frame_delay)


def midstream_error(reply: CompletionReply, status: int = 503) -> CompletionReply:
    """`reply`, but its stream ends after the first content piece with an `error` chunk."""
    return replace(reply, midstream_error=status)


def cut_stream(reply: CompletionReply, after_lines: int) -> CompletionReply:
    """`reply`, but its stream stops after `after_lines` `data:` lines as the connection drops."""
    return replace(reply, cut_after=after_lines)


def completion_chunks(completion: dict[str, Any], *, include_usage: bool = False) -> list[SSEFrame]:
    """The `data:` lines a server streams for `completion`, ending with `[DONE]`."""
    message = completion["choices"][0]["message"]
    content = message.get("content")
    deltas: list[dict[str, Any]] = [{"role": "assistant", "content": "" if content is not None else None}]
    deltas += [{"content": piece} for piece in split_text(content or "")]
    for index, call in enumerate(message.get("tool_calls") or []):
        head = {"index": index, "id": call["id"], "type": "function"}
        deltas.append(
            {"tool_calls": [{**head, "function": {"name": call["function"]["name"], "arguments": ""}}]}
        )
        deltas += [
            {"tool_calls": [{"index": index, "function": {"arguments": piece}}]}
            for piece in split_text(call["function"]["arguments"])
        ]
    finish = completion["choices"][0]["finish_reason"]
    chunks = [_chunk(completion, delta, None, include_usage) for delta in deltas]
    chunks.append(_chunk(completion, {}, finish, include_usage))
    if include_usage:
        chunks.append({**_chunk(completion, {}, None, False), "choices": [], "usage": completion["usage"]})
    frames: list[SSEFrame] = [(None, json.dumps(chunk)) for chunk in chunks]
    return [*frames, (None, "[DONE]")]


def _chunk(
    completion: dict[str, Any], delta: dict[str, Any], finish: str | None, usage: bool
) -> dict[str, Any]:
    chunk = {
        "id": completion["id"],
        "object": "chat.completion.chunk",
        "created": completion["created"],
        "model": completion["model"],
        "choices": [{"index": 0, "delta": delta, "logprobs": None, "finish_reason": finish}],
    }
    if usage:
        chunk["usage"] = None
    return chunk


# -- errors -------------------------------------------------------------------------------------


def _stream_error(status: int) -> dict[str, Any]:
    """The `error` chunk that ends a stream broken after the 200; `code` is the status, as vLLM sends it."""
    message = "The server is overloaded or not ready yet." if status == 503 else "The server had an error."
    return {"error": {"message": message, "type": "server_error", "param": None, "code": status}}


def openai_error(
    status: int,
    message: str,
    *,
    error_type: str = "invalid_request_error",
    code: str | None = None,
    param: str | None = None,
    retry_after: float | None = None,
) -> JsonReply:
    """Any error in OpenAI's shape, with an optional `retry-after` header in seconds."""
    body = {"error": {"message": message, "type": error_type, "param": param, "code": code}}
    return error_reply(status, body, retry_after=retry_after)


def rate_limit_error(*, retry_after: float | None = None) -> JsonReply:
    message = "Rate limit reached for requests per min (RPM): Limit 3, Used 3, Requested 1."
    return openai_error(
        429, message, error_type="requests", code="rate_limit_exceeded", retry_after=retry_after
    )


def server_error(*, status: int = 500) -> JsonReply:
    message = "The server had an error while processing your request. Sorry about that!"
    return openai_error(status, message, error_type="server_error")


def overloaded_errors(times: int) -> list[JsonReply]:
    """`times` 503 overloaded answers in a row: `fake.enqueue(*overloaded_errors(40))`."""
    message = "The engine is currently overloaded, please try again later"
    return [openai_error(503, message, error_type="server_error") for _ in range(times)]


def invalid_request_error(message: str = "Invalid request", *, code: str | None = None) -> JsonReply:
    return openai_error(400, message, code=code)


def context_length_error(*, tokens: int = 131_072, maximum: int = 128_000) -> JsonReply:
    """The 400 for a prompt over the context window (a permanent error)."""
    message = (
        f"This model's maximum context length is {maximum} tokens. However, your messages resulted in "
        f"{tokens} tokens. Please reduce the length of the messages."
    )
    return openai_error(400, message, code="context_length_exceeded", param="messages")


def authentication_error(request: RecordedRequest) -> JsonReply:
    """A 401 that echoes the key masked, as OpenAI does: a test that the full key never leaks.

    Enqueue the function itself (`fake.enqueue(authentication_error)`): it needs the request.
    """
    key = request.headers.get("authorization", "").removeprefix("Bearer ")
    masked = f"{key[:3]}{'*' * (len(key) - 7)}{key[-4:]}" if len(key) > 12 else "*" * len(key)
    message = f"Incorrect API key provided: {masked}. You can find your API key at your provider's console."
    return openai_error(401, message, code="invalid_api_key")


class FakeOpenAI(FakeServer):
    """An OpenAI-compatible server on 127.0.0.1; POST `{fake.base_url}/chat/completions`."""

    routes = frozenset({("POST", "/v1/chat/completions")})

    @property
    def base_url(self) -> str:
        """The conventional OpenAI-compatible base URL, with `/v1` (as Ollama's `.../v1`)."""
        return f"{self.url}/v1"

    def _error(self, status: int, message: str) -> JsonReply:
        if status == 404:
            return openai_error(404, message, code="unknown_url")
        return openai_error(status, message, error_type="server_error")
