"""AnthropicProvider through the real `anthropic` SDK against the fake Messages API."""

from __future__ import annotations

from pathlib import Path

import pytest

from event_store import EventStore
from tamma.errors import (
    ProviderConnectionError,
    ProviderOverloaded,
)
from tamma.providers import (
    AnthropicProvider,
    Completed,
    Message,
    RecordingProvider,
    ReplayProvider,
    Request,
    RetryPolicy,
    TextDelta,
    ToolResultBlock,
    ToolSpec,
)
from tests.fakes import anthropic as fa
from tests.fakes import delayed
from tests.fakes.anthropic import FakeAnthropic

KEY = "sk-ant-api03-test-KEYKEYKEYKEYKEY"
MODEL = "claude-sonnet-4-6"
READ_FILE = ToolSpec(
    name="read_file",
    description="Read a file of the workspace",
    input_schema={"type": "object", "properties": {"path": {"type": "string"}}, "required": ["path"]},
)


class Sleeps:
    def __init__(self) -> None:
        self.slept: list[float] = []

    def __call__(self, seconds: float) -> None:
        self.slept.append(seconds)


def provider(
    fake: FakeAnthropic, sleeps: Sleeps | None = None, *, retries: int = 3, **options: object
) -> AnthropicProvider:
    retry = RetryPolicy(retries=retries, sleep=sleeps or Sleeps(), random_fraction=lambda: 0.0)
    return AnthropicProvider(api_key=KEY, model=MODEL, base_url=fake.base_url, retry=retry, **options)  # type: ignore[arg-type]


def ask(text: str = "What is in a.py?") -> Request:
    return Request(system="You are Tamma.", messages=(Message.user(text),), tools=(READ_FILE,))


def test_tool_use_round_trip(fake_anthropic: FakeAnthropic) -> None:
    fake_anthropic.enqueue(
        fa.tool_use_message("read_file", {"path": "a.py"}, tool_id="toolu_1", text="Let me look."),
        fa.text_message("a.py prints 1."),
    )
    claude = provider(fake_anthropic)
    first = claude.complete(ask())
    assert first.stop_reason == "tool_use"
    assert first.text == "Let me look."
    [call] = first.tool_uses
    assert (call.id, call.name, call.input) == ("toolu_1", "read_file", {"path": "a.py"})
    result = Message(role="user", content=(ToolResultBlock(tool_use_id="toolu_1", content="print(1)"),))
    second = claude.complete(
        ask().model_copy(update={"messages": (*ask().messages, first.as_message(), result)})
    )
    assert (second.text, second.stop_reason, second.provider) == ("a.py prints 1.", "end_turn", "anthropic")
    sent = fake_anthropic.requests[1].json
    assert sent["tools"][0]["name"] == "read_file"
    assert sent["messages"][1]["content"][1] == {
        "type": "tool_use",
        "id": "toolu_1",
        "name": "read_file",
        "input": {"path": "a.py"},
    }
    assert sent["messages"][2]["content"][0]["type"] == "tool_result"


def test_cache_control_marks_system_and_the_end_of_the_conversation(fake_anthropic: FakeAnthropic) -> None:
    fake_anthropic.enqueue(fa.text_message("ok"))
    provider(fake_anthropic).complete(ask())
    sent = fake_anthropic.last_request.json
    assert sent["system"] == [
        {"type": "text", "text": "You are Tamma.", "cache_control": {"type": "ephemeral"}}
    ]
    assert sent["messages"][-1]["content"][-1]["cache_control"] == {"type": "ephemeral"}
    marked = [b for m in sent["messages"] for b in m["content"] if "cache_control" in b]
    assert len(marked) == 1, "a one-message conversation has no previous request to mark"


def test_cost_counts_cache_reads_and_writes(fake_anthropic: FakeAnthropic) -> None:
    usage = fa.TokenCounts(
        input_tokens=1000, output_tokens=500, cache_creation_input_tokens=2000, cache_read_input_tokens=10_000
    )
    fake_anthropic.enqueue(fa.text_message("ok", usage=usage))
    response = provider(fake_anthropic).complete(ask())
    assert response.usage.cache_read_tokens == 10_000
    assert response.usage.cache_write_tokens == 2000
    # $3/MTok input, $15 output, $0.30 cache read, $3.75 cache write
    assert response.cost_usd == pytest.approx((1000 * 3 + 500 * 15 + 10_000 * 0.3 + 2000 * 3.75) / 1e6)


def test_retries_stop_after_three(fake_anthropic: FakeAnthropic) -> None:
    fake_anthropic.enqueue(*[fa.overloaded_error() for _ in range(4)])
    with pytest.raises(ProviderOverloaded) as failure:
        provider(fake_anthropic).complete(ask())
    assert failure.value.status == 529
    assert len(fake_anthropic.requests) == 4


def test_timeouts_are_transient(fake_anthropic: FakeAnthropic) -> None:
    fake_anthropic.enqueue(*[delayed(fa.text_message("late"), 2.0) for _ in range(2)])
    with pytest.raises(ProviderConnectionError, match="timed out"):
        provider(fake_anthropic, retries=1, timeout_s=0.2).complete(ask())
    assert len(fake_anthropic.requests) == 2


def test_anthropic_base_url_env_is_honoured(
    fake_anthropic: FakeAnthropic, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("ANTHROPIC_BASE_URL", fake_anthropic.base_url)
    fake_anthropic.enqueue(fa.text_message("via env"))
    assert AnthropicProvider(api_key=KEY, model=MODEL).complete(ask()).text == "via env"


def test_the_key_goes_only_into_the_authorization_header(fake_anthropic: FakeAnthropic) -> None:
    fake_anthropic.enqueue(fa.text_message("ok"))
    provider(fake_anthropic).complete(ask())
    request = fake_anthropic.last_request
    assert KEY in (request.headers.get("x-api-key", "") + request.headers.get("authorization", ""))
    assert KEY not in request.raw_body.decode()


@pytest.mark.parametrize("parallel_calls", [1, 12])
def test_each_turn_reads_the_previous_turns_from_the_cache(
    fake_anthropic: FakeAnthropic, parallel_calls: int
) -> None:
    """The fake accounts cache use as the API does: writes at markers, reads of prefixes
    found within 20 blocks of a marker (12 parallel tool calls add 24 blocks a turn)."""
    fake_anthropic.auto_cache_usage = True
    calls = [
        fa.tool_use_block("read_file", {"path": f"{n}.py"}, tool_id=f"toolu_{n}")
        for n in range(parallel_calls)
    ]
    fake_anthropic.default_reply = fa.message_reply(calls, stop_reason="tool_use")
    claude = provider(fake_anthropic)
    request = ask().model_copy(update={"system": "You are Tamma. " * 200})
    usages = []
    for turn in range(10):
        response = claude.complete(request)
        usages.append(response.usage)
        results = tuple(
            ToolResultBlock(tool_use_id=call.id, content=f"line {turn}\n" * 40) for call in response.tool_uses
        )
        request = request.model_copy(
            update={
                "messages": (*request.messages, response.as_message(), Message(role="user", content=results))
            }
        )
    assert usages[0].cache_read_tokens == 0
    assert usages[0].cache_write_tokens > 0
    later = usages[1:]
    assert all(u.cache_read_tokens > 0 for u in later)
    read = sum(u.cache_read_tokens for u in later)
    assert read / sum(u.total_input_tokens for u in later) >= 0.8


def test_recorded_run_replays_identically_with_zero_http_requests(
    fake_anthropic: FakeAnthropic, tmp_path: Path
) -> None:
    store = EventStore(f"sqlite:///{tmp_path / 'events.db'}")
    fake_anthropic.enqueue(
        fa.tool_use_message("read_file", {"path": "a.py"}, tool_id="toolu_1"), fa.text_message("Fixed.")
    )
    recorder = RecordingProvider(provider(fake_anthropic), store, ["run:live-1"])
    first = recorder.complete(ask())
    follow_up = ask().model_copy(
        update={
            "messages": (
                *ask().messages,
                first.as_message(),
                Message(role="user", content=(ToolResultBlock(tool_use_id="toolu_1", content="x = 1"),)),
            )
        }
    )
    streamed = list(recorder.stream(follow_up))
    assert isinstance(streamed[-1], Completed)
    second = streamed[-1].response
    served = len(fake_anthropic.requests)

    replay = ReplayProvider(store, "run:live-1")
    assert replay.complete(ask()) == first
    assert replay.complete(follow_up) == second
    assert len(fake_anthropic.requests) == served
    assert KEY not in " ".join(str(e.data) for e in store.read())


def test_an_error_event_inside_a_stream_is_classified_by_its_type(fake_anthropic: FakeAnthropic) -> None:
    fake_anthropic.enqueue(fa.midstream_error(fa.text_message("Half an answer, then"), "overloaded_error"))
    events: list[object] = []
    with pytest.raises(ProviderOverloaded) as failure:
        events.extend(provider(fake_anthropic, retries=0).stream(ask()))
    assert failure.value.retryable
    assert len(fake_anthropic.requests) == 1
    assert any(isinstance(e, TextDelta) for e in events), "the error came after the 200 and some output"


def test_a_structured_answer_is_asked_for_as_a_forced_tool_call(fake_anthropic: FakeAnthropic) -> None:
    model = provider(fake_anthropic)
    fake_anthropic.enqueue(fa.tool_use_message("read_file", {"path": "a.py"}))
    fake_anthropic.enqueue(fa.tool_use_message("read_file", {"path": "a.py"}))
    model.complete(ask().model_copy(update={"tool_choice": "any"}))
    assert fake_anthropic.last_request.json["tool_choice"] == {"type": "any"}
    model.complete(ask().model_copy(update={"tool_choice": "read_file"}))
    assert fake_anthropic.last_request.json["tool_choice"] == {"type": "tool", "name": "read_file"}
