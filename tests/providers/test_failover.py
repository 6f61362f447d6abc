"""Failover order and the circuit breaker's closed -> open -> half-open -> closed cycle."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tamma.errors import AuthenticationFailed, InvalidRequest, ProviderServerError, ProviderUnavailable
from tamma.providers import (
    BreakerSettings,
    CircuitBreaker,
    Completed,
    FailoverProvider,
    Message,
    Request,
    Response,
    ScriptedProvider,
    StreamEvent,
    scripted_text,
)

REQUEST = Request(messages=(Message.user("hi"),))


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


class Broken:
    """A provider that fails every call with `error` (after its own retries, as it were)."""

    def __init__(self, name: str, error: Exception) -> None:
        self.name, self.error, self.calls = name, error, 0

    def complete(self, request: Request) -> Response:
        self.calls += 1
        raise self.error

    def stream(self, request: Request) -> Iterator[StreamEvent]:
        self.calls += 1
        raise self.error
        yield  # pragma: no cover - makes this a generator


def answering(name: str, text: str = "ok", count: int = 20) -> ScriptedProvider:
    provider = ScriptedProvider([scripted_text(text).model_copy(update={"provider": name})] * count)
    provider.name = name
    return provider


def test_second_provider_answers_when_the_first_fails() -> None:
    first = Broken("anthropic", ProviderServerError("down"))
    chain = FailoverProvider([first, answering("local")])
    response = chain.complete(REQUEST)
    assert (response.provider, response.text) == ("local", "ok")
    assert first.calls == 1


def test_streams_fail_over_before_the_first_event() -> None:
    chain = FailoverProvider([Broken("anthropic", ProviderServerError("down")), answering("local")])
    events = list(chain.stream(REQUEST))
    assert isinstance(events[-1], Completed)
    assert events[-1].response.provider == "local"


def test_provider_specific_permanent_errors_fail_over_but_bad_requests_do_not() -> None:
    chain = FailoverProvider([Broken("a", AuthenticationFailed("bad key")), answering("b")])
    assert chain.complete(REQUEST).provider == "b"
    refusing = FailoverProvider([Broken("a", InvalidRequest("bad field")), answering("b")])
    with pytest.raises(InvalidRequest):
        refusing.complete(REQUEST)


def test_all_failing_names_every_reason() -> None:
    down, refused = Broken("a", ProviderServerError("down")), Broken("b", AuthenticationFailed("key"))
    with pytest.raises(ProviderUnavailable, match=r"a: down.*b: .*key"):
        FailoverProvider([down, refused]).complete(REQUEST)


def test_breaker_opens_after_five_failures_in_the_window_then_probes() -> None:
    clock = Clock()
    first = Broken("anthropic", ProviderServerError("down"))
    chain = FailoverProvider([first, answering("local")], clock=clock)
    breaker = chain.breakers["anthropic"]
    for _ in range(5):
        chain.complete(REQUEST)
    assert (breaker.state, first.calls) == ("open", 5)
    chain.complete(REQUEST)
    assert first.calls == 5, "an open circuit skips the provider"
    clock.now += 300
    assert breaker.state == "half_open"
    chain.complete(REQUEST)
    assert (first.calls, breaker.state) == (6, "open"), "a failed probe reopens the circuit"
    clock.now += 300
    chain.providers[0] = answering("anthropic")
    assert chain.complete(REQUEST).provider == "anthropic"
    assert breaker.state == "closed"


def test_failures_outside_the_window_do_not_open_the_circuit() -> None:
    clock = Clock()
    breaker = CircuitBreaker(BreakerSettings(failures=3, window_s=60, open_s=10), clock)
    for _ in range(2):
        breaker.record_failure()
    clock.now += 61
    breaker.record_failure()
    assert breaker.state == "closed"
    breaker.record_failure()
    breaker.record_failure()
    assert breaker.state == "open"


def test_half_open_lets_one_probe_through_at_a_time() -> None:
    clock = Clock()
    breaker = CircuitBreaker(BreakerSettings(failures=1, open_s=5), clock)
    breaker.record_failure()
    clock.now += 5
    assert breaker.allow() is True
    assert breaker.allow() is False
    breaker.record_success()
    assert breaker.allow() is True
