"""The fakes checked through the clients the providers use: the real `anthropic` SDK and httpx.

Why: a fake that drifts from the wire format would let a provider pass here and fail in
production, so every reply kind is decoded by the real client code, not by the fake's own.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Iterator
from typing import Any

import anthropic
import httpx
import pytest

from tests.fakes import Disconnect, FakeAnthropic, FakeOpenAI, JsonReply, delayed
from tests.fakes import anthropic as fa
from tests.fakes import openai as fo

MODEL = "claude-sonnet-4-6"
KEY = "sk-ant-test-0123456789abcdef"
ASK: dict[str, Any] = {"model": MODEL, "max_tokens": 256, "messages": [{"role": "user", "content": "Hi"}]}


@pytest.fixture
def client(fake_anthropic: FakeAnthropic) -> Iterator[anthropic.Anthropic]:
    with anthropic.Anthropic(base_url=fake_anthropic.base_url, api_key=KEY, max_retries=0) as sdk:
        yield sdk


# -- Anthropic ----------------------------------------------------------------------------------


def test_create_returns_the_scripted_text_and_records_the_request(
    fake_anthropic: FakeAnthropic, client: anthropic.Anthropic
) -> None:
    usage = fa.TokenCounts(input_tokens=12, output_tokens=3, cache_read_input_tokens=100)
    fake_anthropic.enqueue(fa.text_message("Hello!", usage=usage))

    message = client.messages.create(**ASK)

    assert [block.type for block in message.content] == ["text"]
    assert message.content[0].text == "Hello!"
    assert (message.stop_reason, message.model) == ("end_turn", MODEL)
    assert (message.usage.input_tokens, message.usage.output_tokens) == (12, 3)
    assert (message.usage.cache_read_input_tokens, message.usage.cache_creation_input_tokens) == (100, 0)
    request = fake_anthropic.last_request
    assert (request.method, request.path) == ("POST", "/v1/messages")
    assert request.json["messages"] == ASK["messages"]
    assert KEY in request.headers["authorization"] + request.headers.get("x-api-key", "")
    assert fake_anthropic.pending == 0


def test_tool_use_reply(fake_anthropic: FakeAnthropic, client: anthropic.Anthropic) -> None:
    fake_anthropic.enqueue(
        fa.tool_use_message("read_file", {"path": "a.py"}, tool_id="toolu_1", text="Reading")
    )

    message = client.messages.create(**ASK)

    assert message.stop_reason == "tool_use"
    text, call = message.content
    assert text.type == "text"
    assert call.type == "tool_use"
    assert (call.id, call.name, call.input) == ("toolu_1", "read_file", {"path": "a.py"})


REPLIES: dict[str, Callable[[], fa.MessageReply]] = {
    "text": lambda: fa.text_message("A longer answer, so that it is cut into several deltas."),
    "tool_use": lambda: fa.tool_use_message("grep", {"pattern": "def main", "paths": ["src", "tests"]}),
    "text_and_two_tools": lambda: fa.message_reply(
        [fa.text_block("Two at once."), fa.tool_use_block("ls", {}), fa.tool_use_block("cat", {"path": "x"})],
        stop_reason="tool_use",
    ),
}


@pytest.mark.parametrize("make", REPLIES.values(), ids=REPLIES.keys())
def test_stream_assembles_the_same_message_as_create(
    fake_anthropic: FakeAnthropic, client: anthropic.Anthropic, make: Callable[[], fa.MessageReply]
) -> None:
    reply = make()
    fake_anthropic.enqueue(reply, reply)

    created = client.messages.create(**ASK)
    with client.messages.stream(**ASK) as stream:
        events = [event.type for event in stream]
        streamed = stream.get_final_message()

    assert streamed.to_dict() == created.to_dict()
    assert fake_anthropic.requests[1].json["stream"] is True
    assert events.count("content_block_stop") == len(created.content)
    assert events.count("text") + events.count("input_json") > len(created.content)  # several deltas


def test_text_stream_yields_the_text_in_pieces(
    fake_anthropic: FakeAnthropic, client: anthropic.Anthropic
) -> None:
    fake_anthropic.enqueue(fa.text_message("Once upon a time", frame_delay=0.01))

    with client.messages.stream(**ASK) as stream:
        pieces = list(stream.text_stream)

    assert len(pieces) > 1
    assert "".join(pieces) == "Once upon a time"


ERRORS: list[tuple[JsonReply, type[anthropic.APIStatusError], int, str]] = [
    (fa.rate_limit_error(), anthropic.RateLimitError, 429, "rate_limit_error"),
    (fa.overloaded_error(), anthropic.InternalServerError, 529, "overloaded_error"),
    (fa.api_error(), anthropic.InternalServerError, 500, "api_error"),
    (fa.invalid_request_error(), anthropic.BadRequestError, 400, "invalid_request_error"),
    (fa.prompt_too_long_error(), anthropic.BadRequestError, 400, "invalid_request_error"),
    (fa.authentication_error(), anthropic.AuthenticationError, 401, "authentication_error"),
]


@pytest.mark.parametrize(("reply", "error", "status", "error_type"), ERRORS)
def test_errors_raise_the_sdk_typed_exceptions(
    fake_anthropic: FakeAnthropic,
    client: anthropic.Anthropic,
    reply: JsonReply,
    error: type[anthropic.APIStatusError],
    status: int,
    error_type: str,
) -> None:
    fake_anthropic.enqueue(reply)

    with pytest.raises(error) as raised:
        client.messages.create(**ASK)

    assert raised.value.status_code == status
    assert raised.value.type == error_type
    assert raised.value.request_id is not None
    assert KEY not in str(raised.value)


def test_prompt_too_long_says_so(fake_anthropic: FakeAnthropic, client: anthropic.Anthropic) -> None:
    fake_anthropic.enqueue(fa.prompt_too_long_error(tokens=201_000))

    with pytest.raises(anthropic.BadRequestError, match="prompt is too long: 201000 tokens > 200000"):
        client.messages.create(**ASK)


def test_retry_after_is_visible_on_the_response(
    fake_anthropic: FakeAnthropic, client: anthropic.Anthropic
) -> None:
    fake_anthropic.enqueue(fa.overloaded_error(retry_after=7), fa.rate_limit_error(retry_after=0.5))

    with pytest.raises(anthropic.OverloadedError) as overloaded:
        client.messages.create(**ASK)
    with pytest.raises(anthropic.RateLimitError) as limited:
        client.messages.create(**ASK)

    assert overloaded.value.response.headers["retry-after"] == "7"
    assert limited.value.response.headers["retry-after"] == "0.5"


def test_a_slow_reply_trips_the_client_timeout(
    fake_anthropic: FakeAnthropic, client: anthropic.Anthropic
) -> None:
    fake_anthropic.enqueue(delayed(fa.text_message("too late"), 5.0), fa.text_message("on time"))
    started = time.monotonic()

    with pytest.raises(anthropic.APITimeoutError):
        client.messages.create(**ASK, timeout=0.2)

    assert time.monotonic() - started < 2
    assert client.messages.create(**ASK).content[0].text == "on time"


def test_dropped_connection_and_midstream_error(
    fake_anthropic: FakeAnthropic, client: anthropic.Anthropic
) -> None:
    fake_anthropic.enqueue(Disconnect(), fa.midstream_error(fa.text_message("partial answer")))

    with pytest.raises(anthropic.APIConnectionError):
        client.messages.create(**ASK)
    with (
        pytest.raises(anthropic.APIStatusError, match="overloaded_error"),
        client.messages.stream(**ASK) as stream,
    ):
        stream.get_final_message()


def test_unscripted_and_misrouted_requests_fail_clearly(
    fake_anthropic: FakeAnthropic, client: anthropic.Anthropic
) -> None:
    with pytest.raises(anthropic.InternalServerError, match="did not script a reply"):
        client.messages.create(**ASK)
    fake_anthropic.enqueue(fa.text_message("kept for the right path"))
    with pytest.raises(anthropic.NotFoundError, match="serves POST /v1/messages"):
        client.models.list()

    assert len(fake_anthropic.unscripted) == 1
    assert fake_anthropic.pending == 1


def test_default_reply_answers_when_the_script_is_empty(
    fake_anthropic: FakeAnthropic, client: anthropic.Anthropic
) -> None:
    fake_anthropic.default_reply = fa.text_message("again")

    texts = [client.messages.create(**ASK).content[0].text for _ in range(3)]

    assert texts == ["again"] * 3


def _turn(history: list[dict[str, Any]]) -> dict[str, Any]:
    """A request as a caching provider builds it: marker on the system prompt and the last block."""
    messages = [dict(message) for message in history]
    last = messages[-1]
    messages[-1] = {
        **last,
        "content": [{"type": "text", "text": last["content"], "cache_control": {"type": "ephemeral"}}],
    }
    system = [
        {"type": "text", "text": "You are a careful engineer. " * 40, "cache_control": {"type": "ephemeral"}}
    ]
    tools = [{"name": "read_file", "description": "Read a file", "input_schema": {"type": "object"}}]
    return {**ASK, "system": system, "tools": tools, "messages": messages}


def test_auto_cache_usage_reads_the_prefix_written_by_the_previous_turn(
    fake_anthropic: FakeAnthropic, client: anthropic.Anthropic
) -> None:
    fake_anthropic.auto_cache_usage = True
    fake_anthropic.default_reply = fa.text_message("Done: " + "x" * 200)
    history: list[dict[str, Any]] = [{"role": "user", "content": "Fix the bug in parser.py, please."}]
    usages = []
    for turn in range(20):
        usages.append(client.messages.create(**_turn(history)).usage)
        history += [
            {"role": "assistant", "content": f"Step {turn} done: " + "y" * 300},
            {"role": "user", "content": f"Now step {turn + 1}."},
        ]
    repeat = client.messages.create(**_turn(history[:1])).usage

    first, second = usages[0], usages[1]
    assert (first.cache_read_input_tokens, first.input_tokens) == (0, 0)
    assert first.cache_creation_input_tokens == fa.prompt_tokens(_turn(history[:1]))
    assert second.cache_read_input_tokens == first.cache_creation_input_tokens
    assert 0 < (second.cache_creation_input_tokens or 0) < first.cache_creation_input_tokens
    assert (repeat.cache_read_input_tokens, repeat.cache_creation_input_tokens) == (
        first.cache_creation_input_tokens,
        0,
    )
    read = sum(usage.cache_read_input_tokens or 0 for usage in usages[1:])
    total = sum(
        u.input_tokens + (u.cache_read_input_tokens or 0) + (u.cache_creation_input_tokens or 0)
        for u in usages[1:]
    )
    assert read / total >= 0.8


def test_auto_cache_usage_without_markers_is_all_input(
    fake_anthropic: FakeAnthropic, client: anthropic.Anthropic
) -> None:
    fake_anthropic.auto_cache_usage = True
    fake_anthropic.enqueue(fa.text_message("a"), fa.text_message("b"))

    usages = [client.messages.create(**ASK).usage for _ in range(2)]

    assert [(u.cache_creation_input_tokens, u.cache_read_input_tokens) for u in usages] == [(0, 0), (0, 0)]
    assert usages[1].input_tokens == fa.prompt_tokens(ASK)


# -- OpenAI-compatible --------------------------------------------------------------------------

CHAT: dict[str, Any] = {"model": "qwen2.5-coder", "messages": [{"role": "user", "content": "Hi"}]}


@pytest.fixture
def http(fake_openai: FakeOpenAI) -> Iterator[httpx.Client]:
    headers = {"authorization": "Bearer sk-openai-test-0123456789abcdef"}
    with httpx.Client(base_url=fake_openai.base_url, headers=headers, timeout=5) as session:
        yield session


def _stream(http: httpx.Client, body: dict[str, Any]) -> list[dict[str, Any]]:
    """POST with `stream: true` and parse the SSE `data:` lines; the last one must be [DONE]."""
    with http.stream("POST", "/chat/completions", json={**body, "stream": True}) as response:
        assert response.headers["content-type"].startswith("text/event-stream")
        data = [line.removeprefix("data: ") for line in response.iter_lines() if line.startswith("data: ")]
    assert data[-1] == "[DONE]"
    return [json.loads(item) for item in data[:-1]]


def _assemble(chunks: list[dict[str, Any]]) -> tuple[dict[str, Any], str | None]:
    """Fold streamed deltas into a message, as a client must."""
    message: dict[str, Any] = {"role": "assistant", "content": None}
    finish = None
    for chunk in chunks:
        for choice in chunk["choices"]:
            delta, finish = choice["delta"], choice["finish_reason"] or finish
            if delta.get("content") is not None:
                message["content"] = (message["content"] or "") + delta["content"]
            for call in delta.get("tool_calls") or []:
                calls = message.setdefault("tool_calls", [])
                if call["index"] == len(calls):
                    calls.append({"id": call["id"], "type": call["type"], "function": dict(call["function"])})
                else:
                    calls[call["index"]]["function"]["arguments"] += call["function"]["arguments"]
    return message, finish


def test_text_completion(fake_openai: FakeOpenAI, http: httpx.Client) -> None:
    fake_openai.enqueue(fo.text_completion("Hello!", usage=fo.ChatUsage(20, 2, cached_tokens=16)))

    response = http.post("/chat/completions", json=CHAT)

    body = response.json()
    assert (response.status_code, body["object"], body["model"]) == (200, "chat.completion", "qwen2.5-coder")
    assert body["choices"][0]["message"] == {"role": "assistant", "content": "Hello!"}
    assert body["choices"][0]["finish_reason"] == "stop"
    assert body["usage"]["prompt_tokens_details"] == {"cached_tokens": 16}
    assert body["usage"]["total_tokens"] == 22
    assert fake_openai.last_request.path == "/v1/chat/completions"


def test_tool_calls_completion(fake_openai: FakeOpenAI, http: httpx.Client) -> None:
    fake_openai.enqueue(
        fo.tool_calls_completion(fo.tool_call("read_file", {"path": "a.py"}, call_id="call_1"))
    )

    choice = http.post("/chat/completions", json=CHAT).json()["choices"][0]

    assert choice["finish_reason"] == "tool_calls"
    (call,) = choice["message"]["tool_calls"]
    assert (call["id"], call["function"]["name"]) == ("call_1", "read_file")
    assert json.loads(call["function"]["arguments"]) == {"path": "a.py"}


COMPLETIONS: dict[str, Callable[[], fo.CompletionReply]] = {
    "text": lambda: fo.text_completion("A longer answer streamed in pieces."),
    "truncated": lambda: fo.text_completion("Cut off", finish_reason="length"),
    "tools": lambda: fo.tool_calls_completion(
        fo.tool_call("grep", {"pattern": "def main"}), fo.tool_call("ls", {"path": "src"}), content="Looking."
    ),
}


@pytest.mark.parametrize("make", COMPLETIONS.values(), ids=COMPLETIONS.keys())
def test_streamed_deltas_reassemble_the_completion(
    fake_openai: FakeOpenAI, http: httpx.Client, make: Callable[[], fo.CompletionReply]
) -> None:
    reply = make()
    fake_openai.enqueue(reply, reply)

    plain = http.post("/chat/completions", json=CHAT).json()["choices"][0]
    chunks = _stream(http, CHAT)

    assert all(chunk["object"] == "chat.completion.chunk" for chunk in chunks)
    assert len(chunks) > 3
    assert _assemble(chunks) == (plain["message"], plain["finish_reason"])
    assert all("usage" not in chunk for chunk in chunks)


def test_usage_chunk_when_requested(fake_openai: FakeOpenAI, http: httpx.Client) -> None:
    fake_openai.enqueue(fo.text_completion("Hi", usage=fo.ChatUsage(30, 1, cached_tokens=24)))

    chunks = _stream(http, {**CHAT, "stream_options": {"include_usage": True}})

    *deltas, last = chunks
    assert last["choices"] == []
    assert last["usage"]["prompt_tokens_details"]["cached_tokens"] == 24
    assert all(chunk["usage"] is None for chunk in deltas)


@pytest.mark.parametrize(
    ("reply", "status", "code"),
    [
        (fo.rate_limit_error(retry_after=3), 429, "rate_limit_exceeded"),
        (fo.server_error(), 500, None),
        (fo.context_length_error(), 400, "context_length_exceeded"),
        (fo.authentication_error, 401, "invalid_api_key"),
    ],
)
def test_openai_errors(
    fake_openai: FakeOpenAI, http: httpx.Client, reply: Any, status: int, code: str | None
) -> None:
    fake_openai.enqueue(reply)

    response = http.post("/chat/completions", json=CHAT)

    assert response.status_code == status
    error = response.json()["error"]
    assert set(error) == {"message", "type", "param", "code"}
    assert error["code"] == code
    assert "sk-openai-test-0123456789abcdef" not in response.text
    assert response.headers.get("retry-after") == ("3" if status == 429 else None)


def test_openai_unscripted_and_timeout(fake_openai: FakeOpenAI, http: httpx.Client) -> None:
    assert http.post("/chat/completions", json=CHAT).status_code == 500
    assert http.post("/completions", json=CHAT).status_code == 404
    fake_openai.enqueue(delayed(fo.text_completion("late"), 5.0))

    with pytest.raises(httpx.ReadTimeout):
        http.post("/chat/completions", json=CHAT, timeout=0.2)

    assert len(fake_openai.unscripted) == 1
