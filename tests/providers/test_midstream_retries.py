"""Transient failures inside a model response are retried by the provider, visibly.

A stream cut mid-body, an error event after the 200, and a long run of overloads go through
the provider's own retry policy before anything reaches the caller; each retried attempt is
an `AI.REQUEST.FAILED` with `retried: true`, a line of progress, and nothing a replay trips
over. Both real clients (the `anthropic` SDK, httpx) talk to the fake servers on 127.0.0.1.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from event_store import Event, EventStore, Query
from tamma import event_types as et
from tamma.audit.compare import first_divergence
from tamma.audit.recording import Recording
from tamma.audit.summaries import describe
from tamma.errors import ProviderConnectionError, ProviderError, ProviderOverloaded
from tamma.providers import (
    AnthropicProvider,
    Completed,
    FailoverProvider,
    Message,
    OpenAICompatibleProvider,
    Provider,
    RecordingProvider,
    ReplayProvider,
    Request,
    Response,
    Retrying,
    RetryPolicy,
    StreamEvent,
    TextDelta,
)
from tests.fakes import anthropic as fa
from tests.fakes import openai as fo

RUN = "run:r-retry"
FIRST = "The first try, which the connection cuts short or an error breaks."
SECOND = "The second answer, whole."
REQUEST = Request(system="You are Tamma.", messages=(Message.user("Fix the pager."),))


@dataclass(frozen=True)
class Backend:
    """One provider and the fake it talks to, with that fake's way of scripting each fault."""

    fixture: str
    build: Callable[[Any, RetryPolicy], Provider]
    answer: Callable[[str], Any]
    cut: Callable[[Any], Any]
    error_event: Callable[[Any], Any]
    overloads: Callable[[int], list[Any]]


ANTHROPIC = Backend(
    "fake_anthropic",
    lambda fake, retry: AnthropicProvider(api_key="sk-ant-test", base_url=fake.base_url, retry=retry),
    fa.text_message,
    lambda reply: fa.cut_stream(reply, after_frames=5),  # start, block start, ping, two deltas
    fa.midstream_error,
    fa.overloaded_errors,
)
OPENAI = Backend(
    "fake_openai",
    lambda fake, retry: OpenAICompatibleProvider(base_url=fake.base_url, model="qwen2.5-coder", retry=retry),
    fo.text_completion,
    lambda reply: fo.cut_stream(reply, after_lines=3),  # the role, then two content pieces
    fo.midstream_error,
    fo.overloaded_errors,
)


@dataclass
class Harness:
    """A recorded provider over a fake server, its retries sleeping on a virtual clock."""

    backend: Backend
    fake: Any
    store: EventStore
    slept: list[float]

    def provider(self) -> Provider:
        return self.backend.build(self.fake, self.policy())

    def policy(self) -> RetryPolicy:
        return RetryPolicy(sleep=self.slept.append, random_fraction=lambda: 0.0)

    def recorded(self, provider: Provider | None = None) -> RecordingProvider:
        return RecordingProvider(provider or self.provider(), self.store, [RUN])

    def failures(self) -> list[Event]:
        return list(self.store.read(Query.of(types=[et.AI_REQUEST_FAILED])))


@pytest.fixture(params=[ANTHROPIC, OPENAI], ids=["anthropic", "openai-compatible"])
def harness(request: pytest.FixtureRequest, tmp_path: Path) -> Harness:
    backend: Backend = request.param
    store = EventStore(f"sqlite:///{tmp_path / 'events.db'}")
    return Harness(backend, request.getfixturevalue(backend.fixture), store, [])


def ask(provider: Provider, how: str) -> tuple[Response, list[StreamEvent]]:
    """The answer through `complete()` or `stream()`, with the stream's events (none for complete)."""
    if how == "complete":
        return provider.complete(REQUEST), []
    events = list(provider.stream(REQUEST))
    assert isinstance(events[-1], Completed)
    return events[-1].response, events


def shown_text(events: Iterable[StreamEvent]) -> str:
    """What a consumer that resets on `Retrying` has shown when the stream ends."""
    text = ""
    for event in events:
        if isinstance(event, Retrying):
            text = ""
        elif isinstance(event, TextDelta):
            text += event.text
    return text


FAULTS = {
    "cut stream": (lambda backend: backend.cut, ProviderConnectionError),
    "error event": (lambda backend: backend.error_event, ProviderOverloaded),
}


@pytest.mark.parametrize("how", ["stream", "complete"])
@pytest.mark.parametrize("fault", FAULTS)
def test_a_broken_answer_is_asked_again_and_the_retry_is_recorded(
    harness: Harness, fault: str, how: str
) -> None:
    breaking, error = FAULTS[fault]
    harness.fake.enqueue(
        breaking(harness.backend)(harness.backend.answer(FIRST)), harness.backend.answer(SECOND)
    )

    response, events = ask(harness.recorded(), how)

    assert response.text == SECOND
    assert len(harness.fake.requests) == 2
    assert harness.slept == [1.0]
    [retried] = harness.failures()
    assert retried.data["retried"] is True
    assert (retried.data["error"], retried.data["attempt"], retried.data["attempts"]) == (
        error.__name__,
        1,
        4,
    )
    assert retried.data["delay_s"] == 1.0
    received = list(harness.store.read(Query.of(types=[et.AI_RESPONSE_RECEIVED])))
    assert [e.data["response"]["content"][0]["text"] for e in received] == [SECOND]
    if how == "stream":
        [notice] = [e for e in events if isinstance(e, Retrying)]
        assert (notice.attempt, notice.error) == (1, error.__name__)
        assert shown_text(events) == SECOND, "the partial first answer is discarded, not repeated"


@pytest.mark.parametrize("how", ["stream", "complete"])
@pytest.mark.parametrize("midstream", [False, True], ids=["overload statuses", "overload events"])
def test_forty_overloads_give_up_after_the_policy_attempts(
    harness: Harness, how: str, midstream: bool
) -> None:
    backend = harness.backend
    overloads = (
        [backend.error_event(backend.answer(FIRST)) for _ in range(40)]
        if midstream
        else backend.overloads(40)
    )
    harness.fake.enqueue(*overloads)

    with pytest.raises(ProviderOverloaded) as failure:
        ask(harness.recorded(), how)

    assert failure.value.retryable
    assert (len(harness.fake.requests), harness.fake.pending) == (4, 36)
    assert harness.slept == [1.0, 2.0, 4.0]
    failures = harness.failures()
    assert [(e.data.get("retried", False), e.data.get("attempt")) for e in failures] == [
        (True, 1),
        (True, 2),
        (True, 3),
        (False, None),
    ]
    assert failures[-1].data["error"] == "ProviderOverloaded"


def test_retries_before_any_output_pass_through_failover_before_it_moves_on(
    fake_anthropic: fa.FakeAnthropic, fake_openai: fo.FakeOpenAI, tmp_path: Path
) -> None:
    harness = Harness(ANTHROPIC, fake_anthropic, EventStore(f"sqlite:///{tmp_path / 'events.db'}"), [])
    fake_anthropic.enqueue(*fa.overloaded_errors(4))
    fake_openai.enqueue(fo.text_completion(SECOND))
    chain = FailoverProvider([harness.provider(), OPENAI.build(fake_openai, harness.policy())])

    response, events = ask(harness.recorded(chain), "stream")

    assert (response.text, response.provider) == (SECOND, "openai-compatible")
    assert [e.attempt for e in events if isinstance(e, Retrying)] == [1, 2, 3]
    assert [e.data["retried"] for e in harness.failures()] == [True, True, True]
    assert chain.breakers["anthropic"].state == "closed", "one failure counted, not four"


def test_a_run_with_retries_replays_and_shows_each_retry(harness: Harness, tmp_path: Path) -> None:
    harness.fake.enqueue(harness.backend.cut(harness.backend.answer(FIRST)), harness.backend.answer(SECOND))
    ask(harness.recorded(), "stream")
    recorded = list(harness.store.read(Query.of(tags=[RUN])))

    replay_store = EventStore(f"sqlite:///{tmp_path / 'replay.db'}")
    replayed_model = RecordingProvider(ReplayProvider(harness.store, RUN), replay_store, [RUN])
    assert ask(replayed_model, "stream")[0].text == SECOND
    replayed = list(replay_store.read(Query.of(tags=[RUN])))

    assert [e.type for e in recorded].count(et.AI_REQUEST_FAILED) == 1
    assert first_divergence(recorded, replayed) is None
    assert et.AI_REQUEST_FAILED not in [e.type for e in Recording(RUN, tuple(recorded)).prefix]
    [retried] = harness.failures()
    assert describe(retried) == (
        f"  model request failed ({retried.data['message']}), retrying in 1.0 s (attempt 2 of 4)"
    )


def test_a_final_failure_is_not_a_progress_line(harness: Harness) -> None:
    harness.fake.enqueue(*harness.backend.overloads(4))
    with pytest.raises(ProviderError):
        ask(harness.recorded(), "complete")
    assert [describe(e) is None for e in harness.failures()] == [False, False, False, True]
