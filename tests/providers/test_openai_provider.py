"""OpenAICompatibleProvider over httpx against the fake chat completions API."""

from __future__ import annotations

from tamma.providers import (
    Message,
    OpenAICompatibleProvider,
    Request,
    RetryPolicy,
    ToolResultBlock,
    ToolSpec,
)
from tests.fakes import openai as fo
from tests.fakes.openai import FakeOpenAI

KEY = "sk-proj-test-KEYKEYKEYKEYKEYKEYKEY"
RUN_TESTS = ToolSpec(name="run_tests", description="Run the suite", input_schema={"type": "object"})


def provider(
    fake: FakeOpenAI, slept: list[float] | None = None, **options: object
) -> OpenAICompatibleProvider:
    retry = RetryPolicy(sleep=(slept if slept is not None else []).append, random_fraction=lambda: 0.0)
    return OpenAICompatibleProvider(
        base_url=fake.base_url, model="qwen2.5-coder", api_key=KEY, retry=retry, **options
    )  # type: ignore[arg-type]


def ask() -> Request:
    return Request(system="You are Tamma.", messages=(Message.user("Run the tests."),), tools=(RUN_TESTS,))


def test_tool_call_round_trip_in_openai_wire_format(fake_openai: FakeOpenAI) -> None:
    fake_openai.enqueue(
        fo.tool_calls_completion(fo.tool_call("run_tests", {"filter": "pager"}, call_id="call_1")),
        fo.text_completion("All green.", usage=fo.ChatUsage(120, 4, cached_tokens=100)),
    )
    model = provider(fake_openai)
    first = model.complete(ask())
    assert first.stop_reason == "tool_use"
    [call] = first.tool_uses
    assert (call.id, call.name, call.input) == ("call_1", "run_tests", {"filter": "pager"})
    result = Message(role="user", content=(ToolResultBlock(tool_use_id="call_1", content="3 passed"),))
    second = model.complete(
        ask().model_copy(update={"messages": (*ask().messages, first.as_message(), result)})
    )
    assert (second.text, second.stop_reason) == ("All green.", "end_turn")
    assert (second.usage.input_tokens, second.usage.cache_read_tokens) == (20, 100)
    sent = fake_openai.last_request.json
    assert sent["messages"][0] == {"role": "system", "content": "You are Tamma."}
    assert sent["messages"][2]["tool_calls"][0]["function"] == {
        "name": "run_tests",
        "arguments": '{"filter": "pager"}',
    }
    assert sent["messages"][3] == {"role": "tool", "tool_call_id": "call_1", "content": "3 passed"}
    assert sent["tools"][0]["function"]["name"] == "run_tests"
    assert fake_openai.last_request.headers["authorization"] == f"Bearer {KEY}"


def test_no_key_sends_no_authorization(fake_openai: FakeOpenAI) -> None:
    fake_openai.enqueue(fo.text_completion("local model"))
    local = OpenAICompatibleProvider(base_url=fake_openai.base_url, model="llama3")
    assert local.complete(ask()).cost_usd == 0.0
    assert "authorization" not in fake_openai.last_request.headers


def test_a_structured_answer_is_asked_for_as_a_required_tool_call(fake_openai: FakeOpenAI) -> None:
    model = provider(fake_openai)
    fake_openai.enqueue(
        fo.tool_calls_completion(fo.tool_call("run_tests", {}, call_id="call_1")),
        fo.tool_calls_completion(fo.tool_call("run_tests", {}, call_id="call_2")),
    )
    model.complete(ask().model_copy(update={"tool_choice": "any"}))
    assert fake_openai.last_request.json["tool_choice"] == "required"
    model.complete(ask().model_copy(update={"tool_choice": "run_tests"}))
    assert fake_openai.last_request.json["tool_choice"] == {
        "type": "function",
        "function": {"name": "run_tests"},
    }
