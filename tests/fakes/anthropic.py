"""A fake Anthropic Messages API (`POST /v1/messages`) that speaks the real wire format.

Why: the Anthropic provider must be tested through the official SDK, so this fake answers what
api.anthropic.com answers: `message` objects, the SSE event sequence `messages.stream()` folds
(message_start, content_block_start/delta/stop, ping, message_delta, message_stop), and errors
as `{"type": "error", "error": {"type", "message"}}` with the status codes the SDK maps to its
typed exceptions. One scripted `MessageReply` answers either a plain or a streamed request, so
a test can check that both paths assemble the same message.

Faults, for the provider's retries: `cut_stream` drops the connection mid-stream,
`midstream_error` sends an SSE `error` event after the first delta, `overloaded_errors(k)`
answers 529 k times in a row.

`FakeAnthropic.auto_cache_usage` models prompt caching from the request's `cache_control`
markers (see `PromptCache`) so the benchmark can measure the share of input served from cache.
`tests.fakes.claude_code` makes the same server the model behind the Claude Code CLI.
"""

from __future__ import annotations

import hashlib
import json
import uuid
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, replace
from typing import Any

from tests.fakes._server import (
    CHARS_PER_TOKEN,
    Disconnect,
    FakeServer,
    JsonReply,
    RecordedRequest,
    ScriptEntry,
    SSEFrame,
    SSEReply,
    WireReply,
    error_reply,
    estimate_tokens,
    split_text,
)

CACHE_LOOKBACK_BLOCKS = 20
"""The API looks for an earlier cache entry up to ~20 content blocks before each breakpoint."""

ERRORS = {
    "invalid_request_error": (400, "messages: field required"),
    "authentication_error": (401, "invalid x-api-key"),
    "permission_error": (403, "Your API key does not have permission to use the specified resource."),
    "not_found_error": (404, "Not found"),
    "request_too_large": (413, "Request exceeds the maximum allowed number of bytes."),
    "rate_limit_error": (429, "Number of request tokens has exceeded your per-minute rate limit"),
    "api_error": (500, "Internal server error"),
    "overloaded_error": (529, "Overloaded"),
}
"""Status and a typical message for each `error.type` the API documents."""


@dataclass(frozen=True)
class TokenCounts:
    """The `usage` of a message, with the wire's field names."""

    input_tokens: int
    output_tokens: int
    cache_creation_input_tokens: int = 0
    cache_read_input_tokens: int = 0


def text_block(text: str) -> dict[str, Any]:
    return {"type": "text", "text": text}


def tool_use_block(name: str, input: dict[str, Any], *, tool_id: str | None = None) -> dict[str, Any]:
    return {
        "type": "tool_use",
        "id": tool_id or f"toolu_fake_{uuid.uuid4().hex[:20]}",
        "name": name,
        "input": input,
    }


@dataclass(frozen=True)
class MessageReply:
    """One assistant message, sent as JSON or as SSE depending on the request's `stream` flag.

    `model=None` echoes the requested model; `usage=None` estimates input tokens from the
    request and output tokens from the content. `frame_delay` slows a streamed answer down;
    `midstream_error` makes a stream fail after its first delta with an SSE `error` event (the
    API's overloaded-after-200 case), and a plain request fail with that error's status.
    `cut_after` drops the connection after that many SSE frames, in the middle of the chunked
    body (a plain request: before any answer).
    """

    content: tuple[dict[str, Any], ...]
    stop_reason: str
    message_id: str
    model: str | None = None
    usage: TokenCounts | None = None
    frame_delay: float = 0.0
    midstream_error: str | None = None
    cut_after: int | None = None

    @property
    def output_tokens(self) -> int:
        return self.usage.output_tokens if self.usage else estimate_tokens(json.dumps(self.content))

    def message(self, request: RecordedRequest | None = None) -> dict[str, Any]:
        """The non-streamed `message` body this reply stands for (given the request it answers)."""
        body = request.json if request is not None else {}
        usage = self.usage or TokenCounts(input_tokens=prompt_tokens(body), output_tokens=self.output_tokens)
        return {
            "id": self.message_id,
            "type": "message",
            "role": "assistant",
            "model": self.model or body.get("model", "claude-fake"),
            "content": [dict(block) for block in self.content],
            "stop_reason": self.stop_reason,
            "stop_sequence": None,
            "stop_details": None,
            "usage": vars(usage).copy(),
        }

    def __call__(self, request: RecordedRequest) -> WireReply:
        headers = {"request-id": _request_id()}
        if self.cut_after is not None and not request.streaming:
            return Disconnect()
        if self.midstream_error and not request.streaming:
            return typed_error(self.midstream_error)
        message = self.message(request)
        if not request.streaming:
            return JsonReply(message, headers=headers)
        frames: Sequence[SSEFrame] = message_events(message, midstream_error=self.midstream_error)
        if self.cut_after is not None:
            frames = dropped_after(frames, self.cut_after)
        return SSEReply(frames, headers=headers, frame_delay=self.frame_delay)


def message_reply(
    content: Sequence[dict[str, Any]],
    *,
    stop_reason: str,
    usage: TokenCounts | None = None,
    model: str | None = None,
    message_id: str | None = None,
    frame_delay: float = 0.0,
) -> MessageReply:
    """Any message: e.g. `[text_block("Reading it"), tool_use_block(...), tool_use_block(...)]`."""
    return MessageReply(
        content=tuple(content),
        stop_reason=stop_reason,
        message_id=message_id or f"msg_fake_{uuid.uuid4().hex[:20]}",
        model=model,
        usage=usage,
        frame_delay=frame_delay,
    )


def text_message(
    text: str,
    *,
    stop_reason: str = "end_turn",
    usage: TokenCounts | None = None,
    model: str | None = None,
    message_id: str | None = None,
    frame_delay: float = 0.0,
) -> MessageReply:
    """A text answer (`stop_reason="max_tokens"` for a truncated one)."""
    return message_reply(
        [text_block(text)],
        stop_reason=stop_reason,
        usage=usage,
        model=model,
        message_id=message_id,
        frame_delay=frame_delay,
    )


def tool_use_message(
    name: str,
    input: dict[str, Any],
    *,
    tool_id: str | None = None,
    text: str | None = None,
    usage: TokenCounts | None = None,
    model: str | None = None,
    message_id: str | None = None,
    frame_delay: float = 0.0,
) -> MessageReply:
    """A request to call one tool, optionally preceded by text, with `stop_reason="tool_use"`."""
    blocks = [text_block(text)] if text else []
    blocks.append(tool_use_block(name, input, tool_id=tool_id))
    return message_reply(
        blocks,
        stop_reason="tool_use",
        usage=usage,
        model=model,
        message_id=message_id,
        frame_delay=frame_delay,
    )


def midstream_error(reply: MessageReply, error_type: str = "overloaded_error") -> MessageReply:
    """`reply`, but its stream breaks after the first delta with an SSE `error` event."""
    return replace(reply, midstream_error=error_type)


def cut_stream(reply: MessageReply, after_frames: int) -> MessageReply:
    """`reply`, but its stream stops after `after_frames` SSE frames as the connection drops."""
    return replace(reply, cut_after=after_frames)


class _DroppedAfter(tuple[SSEFrame, ...]):
    """Frames whose iteration ends in a lost connection, not in the end of the body.

    Why an error: the fake's handler takes an OSError while writing for a client gone away and
    closes the socket without the chunked body's last chunk, which is exactly what a client
    sees when a proxy or the server dies mid-answer (httpx: "peer closed connection without
    sending complete message body").
    """

    def __iter__(self) -> Iterator[SSEFrame]:
        yield from super().__iter__()
        raise ConnectionAbortedError("the fake drops the connection mid-stream")


def dropped_after(frames: Sequence[SSEFrame], count: int) -> Sequence[SSEFrame]:
    """The first `count` of `frames`, then the connection drops (shared with the OpenAI fake)."""
    return _DroppedAfter(frames[:count])


def message_events(message: dict[str, Any], *, midstream_error: str | None = None) -> list[SSEFrame]:
    """The SSE frames the API streams for `message`, in the API's order."""
    start = {**message, "content": [], "stop_reason": None, "stop_sequence": None, "stop_details": None}
    start["usage"] = {**message["usage"], "output_tokens": 1}
    events: list[dict[str, Any]] = [{"type": "message_start", "message": start}]
    for index, block in enumerate(message["content"]):
        if block["type"] == "tool_use":
            opening = {**block, "input": {}}
            deltas = [{"type": "input_json_delta", "partial_json": part} for part in _pieces(block["input"])]
        else:
            opening = {**block, "text": ""}
            deltas = [{"type": "text_delta", "text": part} for part in split_text(block["text"])]
        events.append({"type": "content_block_start", "index": index, "content_block": opening})
        if index == 0:
            events.append({"type": "ping"})
        for delta in deltas:
            events.append({"type": "content_block_delta", "index": index, "delta": delta})
            if midstream_error:
                events.append(_error_body(midstream_error, ERRORS[midstream_error][1]))
                return _frames(events)
        events.append({"type": "content_block_stop", "index": index})
    events.append(
        {
            "type": "message_delta",
            "delta": {"stop_reason": message["stop_reason"], "stop_sequence": None},
            "usage": message["usage"],
        }
    )
    events.append({"type": "message_stop"})
    return _frames(events)


def _frames(events: list[dict[str, Any]]) -> list[SSEFrame]:
    return [(event["type"], json.dumps(event)) for event in events]


def _pieces(tool_input: dict[str, Any]) -> list[str]:
    """Partial JSON as the API sends it: an empty first fragment, then a few raw slices."""
    return ["", *split_text(json.dumps(tool_input))]


# -- errors -------------------------------------------------------------------------------------


def _request_id() -> str:
    return f"req_fake_{uuid.uuid4().hex[:24]}"


def _error_body(error_type: str, message: str) -> dict[str, Any]:
    return {"type": "error", "error": {"type": error_type, "message": message}, "request_id": _request_id()}


def anthropic_error(
    status: int, error_type: str, message: str, *, retry_after: float | None = None
) -> JsonReply:
    """Any API error: status, `error.type`, `error.message`, optional `retry-after` seconds."""
    return error_reply(
        status,
        _error_body(error_type, message),
        retry_after=retry_after,
        headers={"request-id": _request_id()},
    )


def typed_error(
    error_type: str, message: str | None = None, *, retry_after: float | None = None
) -> JsonReply:
    """An error of a documented `error.type` with its usual status and message."""
    status, usual = ERRORS[error_type]
    return anthropic_error(status, error_type, message or usual, retry_after=retry_after)


def rate_limit_error(*, retry_after: float | None = None) -> JsonReply:
    return typed_error("rate_limit_error", retry_after=retry_after)


def overloaded_error(*, retry_after: float | None = None) -> JsonReply:
    return typed_error("overloaded_error", retry_after=retry_after)


def overloaded_errors(times: int, *, retry_after: float | None = None) -> list[JsonReply]:
    """`times` 529 overloaded answers in a row: `fake.enqueue(*overloaded_errors(40))`."""
    return [overloaded_error(retry_after=retry_after) for _ in range(times)]


def api_error(*, retry_after: float | None = None) -> JsonReply:
    return typed_error("api_error", retry_after=retry_after)


def invalid_request_error(message: str | None = None) -> JsonReply:
    return typed_error("invalid_request_error", message)


def prompt_too_long_error(*, tokens: int = 204_512, maximum: int = 200_000) -> JsonReply:
    """The 400 the API returns when the context window is exceeded (a permanent error)."""
    return invalid_request_error(f"prompt is too long: {tokens} tokens > {maximum} maximum")


def authentication_error() -> JsonReply:
    return typed_error("authentication_error")


# -- prompt caching -----------------------------------------------------------------------------


class PromptCache:
    """Cache accounting from `cache_control` breakpoints, close to how the API behaves.

    The prompt is read as content blocks in cache order: tools, system, then each message's
    blocks. Each breakpoint (a block with `cache_control`) writes a cache entry for the prefix
    ending there. A request reads the longest prefix already written, searching back up to
    `CACHE_LOOKBACK_BLOCKS` blocks from each of its breakpoints, and creates the rest up to its
    last breakpoint; everything after that is plain input. So a prefix seen before is a read
    in full, and a conversation that moves its breakpoint to the newest message reads the
    previous turn's prefix and writes only the new turn. Prefixes shorter than `min_tokens`
    (the API's per-model minimum, e.g. 1024) are not cached. The marker itself and the TTL
    are ignored; the key includes the model.
    """

    def __init__(self, min_tokens: int = 0) -> None:
        self.min_tokens = min_tokens
        self._written: set[str] = set()

    def account(self, body: dict[str, Any], output_tokens: int) -> TokenCounts:
        parts = _prompt_parts(body)
        digests, tokens = [hashlib.sha256(str(body.get("model")).encode()).hexdigest()], [0]
        chars = 0
        for text, _ in parts:
            chars += len(text)
            digests.append(hashlib.sha256((digests[-1] + text).encode()).hexdigest())
            tokens.append(chars // CHARS_PER_TOKEN)
        total = prompt_tokens(body)
        breakpoints = [index + 1 for index, (_, marked) in enumerate(parts) if marked]
        if not breakpoints or tokens[breakpoints[-1]] < self.min_tokens:
            return TokenCounts(input_tokens=total, output_tokens=output_tokens)
        read = 0
        for breakpoint in breakpoints:
            for length in range(breakpoint, max(0, breakpoint - CACHE_LOOKBACK_BLOCKS), -1):
                if digests[length] in self._written:
                    read = max(read, length)
                    break
        cached = tokens[breakpoints[-1]]
        self._written.update(digests[b] for b in breakpoints if tokens[b] >= self.min_tokens)
        return TokenCounts(
            input_tokens=total - cached,
            output_tokens=output_tokens,
            cache_creation_input_tokens=cached - tokens[read],
            cache_read_input_tokens=tokens[read],
        )


def prompt_tokens(body: dict[str, Any]) -> int:
    """The fake's input token count for a request body: its system, tools and messages."""
    return estimate_tokens("".join(text for text, _ in _prompt_parts(body)))


def _prompt_parts(body: dict[str, Any]) -> list[tuple[str, bool]]:
    """(canonical JSON without the marker, has `cache_control`) per block, in cache order."""
    parts: list[tuple[str, Any]] = [("tool", tool) for tool in body.get("tools") or []]
    system = body.get("system")
    blocks = [text_block(system)] if isinstance(system, str) else system or []
    parts += [("system", block) for block in blocks]
    for message in body.get("messages") or []:
        content = message.get("content")
        blocks = [text_block(content)] if isinstance(content, str) else content or []
        parts += [(message.get("role"), block) for block in blocks]
    return [
        (
            json.dumps([where, {k: v for k, v in block.items() if k != "cache_control"}], sort_keys=True),
            bool(block.get("cache_control")),
        )
        for where, block in parts
    ]


class FakeAnthropic(FakeServer):
    """The Messages API on 127.0.0.1: `anthropic.Anthropic(base_url=fake.base_url, ...)`.

    Set `auto_cache_usage = True` to have every `MessageReply` report usage computed by
    `cache` (a `PromptCache`) from the request instead of its own numbers; `reset()` turns
    it off and empties the cache.
    """

    routes = frozenset({("POST", "/v1/messages")})

    def __init__(self) -> None:
        super().__init__()
        self.auto_cache_usage = False
        self.cache = PromptCache()

    @property
    def base_url(self) -> str:
        """What the SDK and `ANTHROPIC_BASE_URL` expect: the root, without `/v1`."""
        return self.url

    def reset(self) -> None:
        super().reset()
        self.auto_cache_usage = False
        self.cache = PromptCache()

    def _error(self, status: int, message: str) -> JsonReply:
        return anthropic_error(status, "not_found_error" if status == 404 else "api_error", message)

    def _render(self, entry: ScriptEntry, request: RecordedRequest) -> WireReply:
        if self.auto_cache_usage and isinstance(entry, MessageReply):
            entry = replace(entry, usage=self.cache.account(request.json, entry.output_tokens))
        return super()._render(entry, request)
