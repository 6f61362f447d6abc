"""`OpenAICompatibleProvider`: `/v1/chat/completions` over httpx, for Ollama, vLLM, LM Studio,
OpenRouter and anything else that speaks OpenAI's chat format.

Tool calls map to and from the normalized tool_use/tool_result blocks; streaming parses the
server-sent `data:` lines and reassembles the same Response a plain call returns. Cached
prompt tokens (`prompt_tokens_details.cached_tokens`) count as cache reads. A stream cut or
broken by an `error` chunk mid-answer is asked again as a whole (see `RetryPolicy.stream`).
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import httpx

from tamma.errors import ProviderConnectionError, ProviderServerError
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

__all__ = ["OpenAICompatibleProvider"]

DEFAULT_TIMEOUT_S = 600.0
_FINISH_REASONS: dict[str | None, StopReason] = {
    "stop": "end_turn",
    "tool_calls": "tool_use",
    "function_call": "tool_use",
    "length": "max_tokens",
    "content_filter": "refusal",
}


class OpenAICompatibleProvider:
    """`base_url` is the API root including `/v1`, e.g. http://127.0.0.1:11434/v1 for Ollama."""

    def __init__(
        self,
        *,
        base_url: str,
        model: str,
        api_key: str | None = None,
        timeout_s: float = DEFAULT_TIMEOUT_S,
        prices: PriceTable | None = None,
        retry: RetryPolicy | None = None,
        name: str = "openai-compatible",
    ) -> None:
        self.name = name
        self.model = model
        self._prices = prices or PriceTable()
        self._retry = retry or RetryPolicy()
        headers = {"Authorization": f"Bearer {api_key}"} if api_key else {}
        self._http = httpx.Client(base_url=base_url.rstrip("/") + "/", headers=headers, timeout=timeout_s)

    def complete(self, request: Request) -> Response:
        body = self._body(request, stream=False)

        def attempt() -> Response:
            with self._translate_errors():
                reply = self._http.post("chat/completions", json=body)
                _raise_for_status(reply, self.name)
                return self._response(reply.json())

        return self._retry.call(attempt)

    def stream(self, request: Request) -> Iterator[StreamEvent]:
        """Retried as a whole, even mid-answer: `Retrying` says to drop the partial output."""
        body = self._body(request, stream=True)
        return self._retry.stream(lambda: self._stream_once(body))

    def _stream_once(self, body: dict[str, Any]) -> Iterator[StreamEvent]:
        assembly = _Assembly()
        with self._translate_errors(), self._http.stream("POST", "chat/completions", json=body) as reply:
            if reply.is_error:
                reply.read()
                _raise_for_status(reply, self.name)
            for line in reply.iter_lines():
                if not line.startswith("data:"):
                    continue
                payload = line.removeprefix("data:").strip()
                if payload == "[DONE]":
                    break
                yield from assembly.add(_chunk(payload, self.name))
        yield Completed(response=self._response(assembly.completion()))

    def _body(self, request: Request, *, stream: bool) -> dict[str, Any]:
        body: dict[str, Any] = {
            "model": request.model or self.model,
            "max_tokens": request.max_tokens,
            "messages": _messages(request),
        }
        if request.tools:
            body["tools"] = [
                {
                    "type": "function",
                    "function": {"name": t.name, "description": t.description, "parameters": t.input_schema},
                }
                for t in request.tools
            ]
        if request.tool_choice:
            body["tool_choice"] = _tool_choice(request.tool_choice)
        if request.temperature is not None:
            body["temperature"] = request.temperature
        if stream:
            body |= {"stream": True, "stream_options": {"include_usage": True}}
        return body

    def _response(self, completion: dict[str, Any]) -> Response:
        choice = completion["choices"][0]
        message = choice.get("message") or {}
        content: list[ContentBlock] = [TextBlock(text=message["content"])] if message.get("content") else []
        for call in message.get("tool_calls") or []:
            function = call["function"]
            content.append(
                ToolUseBlock(id=call["id"], name=function["name"], input=_arguments(function, self.name))
            )
        usage = _usage(completion.get("usage") or {})
        model = completion.get("model") or self.model
        return Response(
            id=completion.get("id", ""),
            model=model,
            content=tuple(content),
            stop_reason=_FINISH_REASONS.get(choice.get("finish_reason"), "other"),
            usage=usage,
            cost_usd=self._prices.cost(model, usage),
            provider=self.name,
        )

    @contextmanager
    def _translate_errors(self) -> Iterator[None]:
        try:
            yield
        except httpx.TimeoutException as exc:
            raise ProviderConnectionError("request timed out", provider=self.name) from exc
        except httpx.TransportError as exc:
            raise ProviderConnectionError(
                f"cannot connect: {type(exc).__name__}", provider=self.name
            ) from exc


class _Assembly:
    """Folds streamed chunks into one `chat.completion`, yielding events as pieces complete."""

    def __init__(self) -> None:
        self.text: list[str] = []
        self.calls: dict[int, dict[str, Any]] = {}
        self.meta: dict[str, Any] = {}
        self.finish_reason: str | None = None
        self.usage: dict[str, Any] = {}

    def add(self, chunk: dict[str, Any]) -> Iterator[StreamEvent]:
        self.meta.setdefault("id", chunk.get("id", ""))
        self.meta.setdefault("model", chunk.get("model"))
        self.usage = chunk.get("usage") or self.usage
        for choice in chunk.get("choices") or []:
            delta = choice.get("delta") or {}
            if delta.get("content"):
                self.text.append(delta["content"])
                yield TextDelta(text=delta["content"])
            for piece in delta.get("tool_calls") or []:
                call = self.calls.setdefault(piece["index"], {"id": "", "name": "", "arguments": ""})
                call["id"] = piece.get("id") or call["id"]
                function = piece.get("function") or {}
                call["name"] = function.get("name") or call["name"]
                call["arguments"] += function.get("arguments") or ""
            if choice.get("finish_reason"):
                self.finish_reason = choice["finish_reason"]
                for call in self._tool_calls():
                    yield ToolUseReceived(
                        block=ToolUseBlock(
                            id=call["id"],
                            name=call["function"]["name"],
                            input=_arguments(call["function"], ""),
                        )
                    )

    def _tool_calls(self) -> list[dict[str, Any]]:
        return [
            {"id": c["id"], "type": "function", "function": {"name": c["name"], "arguments": c["arguments"]}}
            for _, c in sorted(self.calls.items())
        ]

    def completion(self) -> dict[str, Any]:
        message: dict[str, Any] = {"role": "assistant", "content": "".join(self.text) or None}
        if self.calls:
            message["tool_calls"] = self._tool_calls()
        return {
            **self.meta,
            "choices": [{"index": 0, "message": message, "finish_reason": self.finish_reason}],
            "usage": self.usage,
        }


def _raise_for_status(reply: httpx.Response, provider: str) -> None:
    if reply.is_success:
        return
    try:
        error = reply.json().get("error") or {}
        message = error.get("message", "") if isinstance(error, dict) else str(error)
    except ValueError:
        message = reply.text[:300]
    retry_after = parse_retry_after(reply.headers.get("retry-after"))
    raise error_for_status(reply.status_code, message, provider=provider, retry_after=retry_after)


def _chunk(payload: str, provider: str) -> dict[str, Any]:
    """One streamed chunk; an `error` object in its place (vLLM, OpenRouter and others send one
    when the model fails after the 200) is raised as the error its `code` names, else a 500."""
    chunk: dict[str, Any] = json.loads(payload)
    error = chunk.get("error")
    if not error:
        return chunk
    details = error if isinstance(error, dict) else {"message": str(error)}
    code = details.get("code")
    status = code if isinstance(code, int) and 400 <= code < 600 else 500
    raise error_for_status(status, str(details.get("message", "")), provider=provider)


def _arguments(function: dict[str, Any], provider: str) -> dict[str, Any]:
    try:
        arguments = json.loads(function.get("arguments") or "{}")
    except json.JSONDecodeError as exc:
        raise ProviderServerError(f"tool call arguments are not JSON: {exc}", provider=provider) from None
    return arguments if isinstance(arguments, dict) else {"value": arguments}


def _usage(usage: dict[str, Any]) -> Usage:
    cached = (usage.get("prompt_tokens_details") or {}).get("cached_tokens") or 0
    return Usage(
        input_tokens=max((usage.get("prompt_tokens") or 0) - cached, 0),
        output_tokens=usage.get("completion_tokens") or 0,
        cache_read_tokens=cached,
    )


def _messages(request: Request) -> list[dict[str, Any]]:
    wire: list[dict[str, Any]] = [{"role": "system", "content": request.system}] if request.system else []
    for message in request.messages:
        wire.extend(_message(message))
    return wire


def _message(message: Message) -> list[dict[str, Any]]:
    """One normalized message; tool results become separate `tool` role messages."""
    text = "".join(b.text for b in message.content if isinstance(b, TextBlock))
    results = [b for b in message.content if isinstance(b, ToolResultBlock)]
    calls = [b for b in message.content if isinstance(b, ToolUseBlock)]
    wire: list[dict[str, Any]] = [
        {"role": "tool", "tool_call_id": r.tool_use_id, "content": r.content} for r in results
    ]
    if message.role == "assistant":
        entry: dict[str, Any] = {"role": "assistant", "content": text or None}
        if calls:
            entry["tool_calls"] = [
                {
                    "id": c.id,
                    "type": "function",
                    "function": {"name": c.name, "arguments": json.dumps(c.input)},
                }
                for c in calls
            ]
        wire.append(entry)
    elif text:
        wire.append({"role": "user", "content": text})
    return wire


def _tool_choice(choice: str) -> str | dict[str, Any]:
    """OpenAI's spelling: "required" for any tool, else the named function."""
    return "required" if choice == "any" else {"type": "function", "function": {"name": choice}}
