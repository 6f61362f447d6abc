"""Record every exchange as events, then replay the run offline; divergence is caught."""

from __future__ import annotations

from pathlib import Path

import pytest

from event_store import EventStore, Query
from tamma.errors import ProviderServerError, ReplayDivergence
from tamma.providers import (
    Completed,
    Message,
    RecordingProvider,
    ReplayProvider,
    Request,
    ScriptedProvider,
    TextDelta,
    ToolResultBlock,
    ToolSpec,
    ToolUseReceived,
    Usage,
    scripted_text,
    scripted_tool_use,
)

RUN = "run:r-1"
KEY = "sk-ant-api03-SECRETSECRETSECRET"
TOOLS = (ToolSpec(name="read_file", description="Read a file", input_schema={"type": "object"}),)


@pytest.fixture
def store(tmp_path: Path) -> EventStore:
    return EventStore(f"sqlite:///{tmp_path / 'events.db'}")


def conversation() -> list[Request]:
    first = Request(system="You fix bugs.", messages=(Message.user(f"Fix it. My key is {KEY}"),), tools=TOOLS)
    tool_turn = scripted_tool_use("read_file", {"path": "a.py"}, tool_id="toolu_1").as_message()
    result = Message(role="user", content=(ToolResultBlock(tool_use_id="toolu_1", content="print(1)"),))
    return [first, first.model_copy(update={"messages": (*first.messages, tool_turn, result)})]


def script() -> list:
    return [
        scripted_tool_use("read_file", {"path": "a.py"}, tool_id="toolu_1"),
        scripted_text("Done.", Usage(input_tokens=10, output_tokens=3, cache_read_tokens=90)),
    ]


def record(store: EventStore) -> list:
    recorder = RecordingProvider(ScriptedProvider(script()), store, [RUN, "issue:local:demo#1"])
    first, second = conversation()
    return [recorder.complete(first), list(recorder.stream(second))]


def test_recording_appends_request_and_response_events_with_tags(store: EventStore) -> None:
    record(store)
    events = list(store.read(Query.of(tags=[RUN])))
    assert [e.type for e in events] == ["AI.REQUEST.STARTED", "AI.RESPONSE.RECEIVED"] * 2
    received = events[3]
    assert received.data["request_id"] == str(events[2].id)
    assert received.data["usage"]["cache_read_tokens"] == 90
    assert received.data["response"]["content"][0]["text"] == "Done."
    assert set(received.tags) >= {RUN, "issue:local:demo#1", "provider:scripted"}
    assert received.data["latency_s"] >= 0


def test_a_key_in_a_prompt_never_reaches_the_event_store(store: EventStore) -> None:
    record(store)
    stored = " ".join(str(e.data) for e in store.read())
    assert KEY not in stored
    assert "[REDACTED]" in stored


def test_replay_answers_identically_without_the_provider(store: EventStore) -> None:
    recorded_first, recorded_stream = record(store)
    replay = ReplayProvider(store, RUN)
    first, second = conversation()
    assert replay.complete(first) == recorded_first
    assert replay.complete(second) == recorded_stream[-1].response
    assert replay.remaining == 0


def test_replay_names_the_first_difference(store: EventStore) -> None:
    record(store)
    replay = ReplayProvider(store, RUN)
    first, _ = conversation()
    changed = first.model_copy(update={"system": "You write poems."})
    with pytest.raises(ReplayDivergence, match=r"#1: request\.system: recorded 'You fix bugs\.'"):
        replay.complete(changed)


def test_replay_past_the_end_of_the_recording_diverges(store: EventStore) -> None:
    record(store)
    replay = ReplayProvider(store, RUN)
    first, second = conversation()
    replay.complete(first)
    replay.complete(second)
    with pytest.raises(ReplayDivergence, match="only 2 requests"):
        replay.complete(first)


def test_streamed_events_pass_through_in_order(store: EventStore) -> None:
    _, streamed = record(store)
    assert isinstance(streamed[0], TextDelta)
    assert isinstance(streamed[-1], Completed)
    tool_stream = list(ScriptedProvider([script()[0]]).stream(conversation()[0]))
    assert isinstance(tool_stream[0], ToolUseReceived)


def test_failures_are_recorded_and_reraised(store: EventStore) -> None:
    class Down:
        name = "anthropic"

        def complete(self, request: Request) -> None:
            raise ProviderServerError(f"boom with {KEY}", provider="anthropic", status=500)

        def stream(self, request: Request):
            raise NotImplementedError

    with pytest.raises(ProviderServerError):
        RecordingProvider(Down(), store, [RUN]).complete(conversation()[0])  # type: ignore[arg-type]
    failed = list(store.read(Query.of(types=["AI.REQUEST.FAILED"])))
    assert failed[0].data["error"] == "ProviderServerError"
    assert failed[0].data["retryable"] is True
    assert KEY not in failed[0].data["message"]


def test_replayed_stream_has_the_recorded_event_shapes(store: EventStore) -> None:
    _, recorded_stream = record(store)
    replay = ReplayProvider(store, RUN)
    first, second = conversation()
    replayed_tool_turn = list(replay.stream(first))
    assert [type(e) for e in replayed_tool_turn] == [ToolUseReceived, Completed]
    assert list(replay.stream(second)) == recorded_stream
