"""The provider contract: every scenario runs on the Anthropic and the OpenAI-compatible
provider, each through its real client against its fake server."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import pytest

from tamma.errors import AuthenticationFailed, ContextTooLong, ProviderError, RateLimited
from tamma.providers import (
    AnthropicProvider,
    Completed,
    Message,
    OpenAICompatibleProvider,
    Provider,
    Request,
    RetryPolicy,
    TextDelta,
    ToolSpec,
    ToolUseReceived,
)
from tests.fakes import FakeServer
from tests.fakes import anthropic as fa
from tests.fakes import openai as fo

KEY = "sk-ant-api03-contract-KEYKEYKEYKEY"
REQUEST = Request(
    system="You are Tamma.",
    messages=(Message.user("Run the tests."),),
    tools=(ToolSpec(name="run_tests", description="Run the suite", input_schema={"type": "object"}),),
)


@dataclass(frozen=True)
class Backend:
    """How to script one fake server and build the provider that talks to it."""

    fake: FakeServer
    build: Callable[[RetryPolicy], Provider]
    text: Callable[[str], Any]
    tool: Callable[[str, dict[str, Any], str], Any]
    rate_limited: Callable[[float], Any]
    server_error: Any
    auth_error: Any
    context_too_long: Any


@pytest.fixture(params=["anthropic", "openai-compatible"])
def backend(request: pytest.FixtureRequest) -> Backend:
    if request.param == "anthropic":
        anthropic: fa.FakeAnthropic = request.getfixturevalue("fake_anthropic")
        return Backend(
            fake=anthropic,
            build=lambda retry: AnthropicProvider(
                api_key=KEY, model="claude-sonnet-4-6", base_url=anthropic.base_url, retry=retry
            ),
            text=fa.text_message,
            tool=lambda name, args, call_id: fa.tool_use_message(
                name, args, tool_id=call_id, text="Running."
            ),
            rate_limited=lambda seconds: fa.rate_limit_error(retry_after=seconds),
            server_error=fa.overloaded_error(),
            auth_error=fa.authentication_error(),
            context_too_long=fa.prompt_too_long_error(),
        )
    openai: fo.FakeOpenAI = request.getfixturevalue("fake_openai")
    return Backend(
        fake=openai,
        build=lambda retry: OpenAICompatibleProvider(
            base_url=openai.base_url, model="qwen2.5-coder", api_key=KEY, retry=retry
        ),
        text=fo.text_completion,
        tool=lambda name, args, call_id: fo.tool_calls_completion(fo.tool_call(name, args, call_id=call_id)),
        rate_limited=lambda seconds: fo.rate_limit_error(retry_after=seconds),
        server_error=fo.server_error(),
        auth_error=fo.authentication_error,
        context_too_long=fo.context_length_error(),
    )


def provider(backend: Backend, slept: list[float] | None = None) -> Provider:
    sleep = (slept if slept is not None else []).append
    return backend.build(RetryPolicy(sleep=sleep, random_fraction=lambda: 0.0))


@pytest.mark.parametrize("kind", ["text", "tool"])
def test_streaming_assembles_the_same_response(backend: Backend, kind: str) -> None:
    reply = (
        backend.text("Streaming works.")
        if kind == "text"
        else backend.tool("run_tests", {"k": [1, 2]}, "call_7")
    )
    backend.fake.enqueue(reply, reply)
    model = provider(backend)
    plain = model.complete(REQUEST)
    events = list(model.stream(REQUEST))
    assert backend.fake.requests[-1].streaming
    assert "".join(e.text for e in events if isinstance(e, TextDelta)) == plain.text
    assert [e.block for e in events if isinstance(e, ToolUseReceived)] == list(plain.tool_uses)
    assert isinstance(events[-1], Completed)
    assert events[-1].response.model_copy(update={"id": plain.id}) == plain


def test_transient_errors_are_retried_after_the_servers_delay_or_with_backoff(backend: Backend) -> None:
    backend.fake.enqueue(backend.rate_limited(7), backend.server_error, backend.text("finally"))
    slept: list[float] = []
    assert provider(backend, slept).complete(REQUEST).text == "finally"
    assert slept == [7.0, 2.0]


def test_opening_a_stream_is_retried_too(backend: Backend) -> None:
    backend.fake.enqueue(backend.rate_limited(1), backend.text("streamed"))
    events = list(provider(backend).stream(REQUEST))
    assert isinstance(events[-1], Completed)
    assert events[-1].response.text == "streamed"


def test_retries_stop_after_three(backend: Backend) -> None:
    backend.fake.enqueue(*[backend.rate_limited(1) for _ in range(4)])
    with pytest.raises(RateLimited) as failure:
        provider(backend).complete(REQUEST)
    assert (failure.value.status, failure.value.retry_after) == (429, 1.0)
    assert len(backend.fake.requests) == 4


@pytest.mark.parametrize(
    ("reply", "error"), [("auth_error", AuthenticationFailed), ("context_too_long", ContextTooLong)]
)
def test_permanent_errors_are_raised_at_once_without_the_key(
    backend: Backend, reply: str, error: type[ProviderError]
) -> None:
    backend.fake.enqueue(getattr(backend, reply))
    with pytest.raises(error) as failure:
        provider(backend).complete(REQUEST)
    assert len(backend.fake.requests) == 1
    assert KEY not in str(failure.value)
