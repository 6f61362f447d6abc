"""`AnthropicProvider`: the Messages API through the official `anthropic` SDK.

Prompt caching: the system prompt (which follows the tools, so it covers them too), the
last block of the conversation and the end of the previous request carry `cache_control`
(3 of the API's 4 breakpoints). Each turn of an agent loop only
appends to the conversation, so turn n+1 reads turn n's prefix from the cache and pays the
cache-write price for the new part alone.

The SDK's own retries are off (`max_retries=0`); `RetryPolicy` is the one retry owner, for
streams too: a stream cut or broken by an `error` event mid-answer is asked again as a whole.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import anthropic
import httpx

from tamma.errors import ProviderConnectionError
from tamma.providers._classify import error_for_status
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
    ToolUseBlock,
    ToolUseReceived,
    Usage,
)
from tamma.providers._pricing import PriceTable
from tamma.providers._retry import RetryPolicy, parse_retry_after
from tamma.redaction import redact

__all__ = ["AnthropicProvider"]

DEFAULT_MODEL = "claude-sonnet-4-6"
DEFAULT_TIMEOUT_S = 600.0
_CACHE = {"type": "ephemeral"}
# Anthropic's documented error types, for errors that arrive as events inside a stream.
_ERROR_TYPE_STATUS = {
    "invalid_request_error": 400,
    "authentication_error": 401,
    "permission_error": 403,
    "not_found_error": 404,
    "request_too_large": 413,
    "rate_limit_error": 429,
    "api_error": 500,
    "overloaded_error": 529,
}
_STOP_REASONS: dict[str | None, StopReason] = {
    "end_turn": "end_turn",
    "tool_use": "tool_use",
    "max_tokens": "max_tokens",
    "stop_sequence": "stop_sequence",
    "refusal": "refusal",
}


class AnthropicProvider:
    """Claude models. `base_url` defaults to ANTHROPIC_BASE_URL, then Anthropic's API."""

    default_model = DEFAULT_MODEL

    def __init__(
        self,
        *,
        api_key: str | None = None,
        model: str = DEFAULT_MODEL,
        base_url: str | None = None,
        timeout_s: float = DEFAULT_TIMEOUT_S,
        prices: PriceTable | None = None,
        retry: RetryPolicy | None = None,
        name: str = "anthropic",
    ) -> None:
        self.name = name
        self.model = model
        self._prices = prices or PriceTable()
        self._retry = retry or RetryPolicy()
        self._client = anthropic.Anthropic(
            api_key=api_key,
            base_url=base_url,
            timeout=timeout_s,
            max_retries=0,
        )

    def complete(self, request: Request) -> Response:
        params = self._params(request)

        def attempt() -> Response:
            with self._translate_errors():
                return self._response(self._client.messages.create(**params))

        return self._retry.call(attempt)

    def stream(self, request: Request) -> Iterator[StreamEvent]:
        """Retried as a whole, even mid-answer: `Retrying` says to drop the partial output."""
        params = self._params(request)
        return self._retry.stream(lambda: self._stream_once(params))

    def _stream_once(self, params: dict[str, Any]) -> Iterator[StreamEvent]:
        with self._translate_errors(), self._client.messages.stream(**params) as stream:
            for event in stream:
                if event.type == "text":
                    yield TextDelta(text=event.text)
                elif event.type == "content_block_stop" and event.content_block.type == "tool_use":
                    block = event.content_block
                    yield ToolUseReceived(
                        block=ToolUseBlock(id=block.id, name=block.name, input=dict(block.input))
                    )
            final = stream.get_final_message()
        yield Completed(response=self._response(final))

    def _params(self, request: Request) -> dict[str, Any]:
        params: dict[str, Any] = {
            "model": request.model or self.model,
            "max_tokens": request.max_tokens,
            "messages": _messages(request.messages),
        }
        if request.system:
            params["system"] = [{"type": "text", "text": request.system, "cache_control": _CACHE}]
        if request.tools:
            params["tools"] = [
                {"name": t.name, "description": t.description, "input_schema": t.input_schema}
                for t in request.tools
            ]
        if request.tool_choice:
            params["tool_choice"] = _tool_choice(request.tool_choice)
        if request.temperature is not None:
            params["temperature"] = request.temperature
        return params

    def _response(self, message: Any) -> Response:
        usage = Usage(
            input_tokens=message.usage.input_tokens or 0,
            output_tokens=message.usage.output_tokens or 0,
            cache_read_tokens=message.usage.cache_read_input_tokens or 0,
            cache_write_tokens=message.usage.cache_creation_input_tokens or 0,
        )
        content: list[ContentBlock] = []
        for block in message.content:
            if block.type == "text":
                content.append(TextBlock(text=block.text))
            elif block.type == "tool_use":
                content.append(ToolUseBlock(id=block.id, name=block.name, input=dict(block.input)))
        return Response(
            id=message.id,
            model=message.model,
            content=tuple(content),
            stop_reason=_STOP_REASONS.get(message.stop_reason, "other"),
            usage=usage,
            cost_usd=self._prices.cost(message.model, usage),
            provider=self.name,
        )

    @contextmanager
    def _translate_errors(self) -> Iterator[None]:
        try:
            yield
        except anthropic.APIStatusError as exc:
            retry_after = parse_retry_after(exc.response.headers.get("retry-after"))
            raise error_for_status(
                _status(exc), _error_message(exc), provider=self.name, retry_after=retry_after
            ) from exc
        except anthropic.APITimeoutError as exc:
            raise ProviderConnectionError("request timed out", provider=self.name) from exc
        except anthropic.APIConnectionError as exc:
            raise ProviderConnectionError(f"cannot connect: {redact(str(exc))}", provider=self.name) from exc
        except _transport_errors() as exc:  # the SDK leaves errors while reading a stream unwrapped
            raise ProviderConnectionError(
                f"connection lost mid-answer: {redact(str(exc))}", provider=self.name
            ) from exc


def _transport_errors() -> tuple[type[Exception], ...]:
    """What the SDK's HTTP client raises for a connection cut mid-body: anthropic>=2 speaks
    HTTP through its own fork, `httpx2`; older releases through httpx."""
    try:
        import httpx2
    except ImportError:
        return (httpx.TransportError,)
    return (httpx.TransportError, httpx2.TransportError)


def _status(exc: anthropic.APIStatusError) -> int:
    """The HTTP status, or for an error event inside a 200 stream, the status its type has."""
    if exc.status_code < 400:
        return _ERROR_TYPE_STATUS.get(_error_body(exc).get("type", ""), 500)
    return exc.status_code


def _error_body(exc: anthropic.APIStatusError) -> dict[str, Any]:
    body: dict[str, Any] = exc.body if isinstance(exc.body, dict) else {}
    return body["error"] if isinstance(body.get("error"), dict) else {}


def _error_message(exc: anthropic.APIStatusError) -> str:
    error = _error_body(exc)
    kind, message = error.get("type", ""), error.get("message", "")
    return f"{kind}: {message}" if kind and message else str(exc.message)


def _messages(messages: tuple[Message, ...]) -> list[dict[str, Any]]:
    """Wire messages, with cache breakpoints at the end of this and of the previous request."""
    contents = [[_block(b) for b in m.content] for m in messages]
    # The last block, and the end of the previous request (before the assistant turn and the
    # tool results it added): the API looks back only ~20 blocks from a marker for a cached
    # prefix, and a turn with many parallel tool calls adds more than that.
    for index in (-1, -3):
        if len(contents) >= -index and contents[index]:
            contents[index][-1]["cache_control"] = _CACHE
    return [{"role": m.role, "content": content} for m, content in zip(messages, contents, strict=True)]


def _block(block: ContentBlock) -> dict[str, Any]:
    if isinstance(block, TextBlock):
        return {"type": "text", "text": block.text}
    if isinstance(block, ToolUseBlock):
        return {"type": "tool_use", "id": block.id, "name": block.name, "input": block.input}
    assert isinstance(block, ToolResultBlock)
    return {
        "type": "tool_result",
        "tool_use_id": block.tool_use_id,
        "content": block.content,
        "is_error": block.is_error,
    }


def _tool_choice(choice: str) -> dict[str, str]:
    return {"type": "any"} if choice == "any" else {"type": "tool", "name": choice}
