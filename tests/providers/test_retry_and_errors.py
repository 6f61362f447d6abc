"""The retry policy on a virtual clock, Retry-After parsing, and status classification."""

from __future__ import annotations

import pytest

from tamma.errors import (
    AuthenticationFailed,
    ContextTooLong,
    InvalidRequest,
    ModelNotFound,
    PermissionDenied,
    ProviderOverloaded,
    ProviderServerError,
    RateLimited,
    TransientProviderError,
)
from tamma.providers import RetryPolicy
from tamma.providers._classify import error_for_status
from tamma.providers._retry import parse_retry_after


class VirtualClock:
    def __init__(self) -> None:
        self.slept: list[float] = []

    def sleep(self, seconds: float) -> None:
        self.slept.append(seconds)


def failing(errors: list[Exception], result: str = "ok"):
    calls = []

    def attempt() -> str:
        calls.append(1)
        if errors:
            raise errors.pop(0)
        return result

    return attempt, calls


def test_transient_errors_retry_three_times_with_backoff_and_jitter() -> None:
    clock = VirtualClock()
    policy = RetryPolicy(sleep=clock.sleep, random_fraction=lambda: 0.5)
    attempt, calls = failing([ProviderServerError("x"), ProviderOverloaded("x"), RateLimited("x")])
    assert policy.call(attempt) == "ok"
    assert len(calls) == 4
    assert clock.slept == [1.125, 2.125, 4.125]


def test_gives_up_after_three_retries() -> None:
    clock = VirtualClock()
    attempt, calls = failing([ProviderServerError(str(i)) for i in range(5)])
    with pytest.raises(ProviderServerError, match="3"):
        RetryPolicy(sleep=clock.sleep).call(attempt)
    assert len(calls) == 4


def test_retry_after_is_honoured_and_capped() -> None:
    clock = VirtualClock()
    errors: list[Exception] = [RateLimited("x", retry_after=7), RateLimited("x", retry_after=3600)]
    attempt, _ = failing(errors)
    RetryPolicy(sleep=clock.sleep).call(attempt)
    assert clock.slept == [7, 60.0]


def test_permanent_errors_are_not_retried() -> None:
    clock = VirtualClock()
    attempt, calls = failing([AuthenticationFailed("bad key")])
    with pytest.raises(AuthenticationFailed):
        RetryPolicy(sleep=clock.sleep).call(attempt)
    assert (len(calls), clock.slept) == (1, [])


def test_parse_retry_after_reads_seconds_and_http_dates() -> None:
    assert parse_retry_after("12") == 12.0
    assert parse_retry_after("0.5") == 0.5
    assert parse_retry_after("Wed, 21 Oct 2015 07:28:30 GMT", now=lambda: 1445412500.0) == 10.0
    assert parse_retry_after(None) is None
    assert parse_retry_after("soon") is None


@pytest.mark.parametrize(
    ("status", "message", "expected"),
    [
        (429, "slow down", RateLimited),
        (529, "overloaded", ProviderOverloaded),
        (503, "unavailable", ProviderOverloaded),
        (500, "boom", ProviderServerError),
        (400, "bad field", InvalidRequest),
        (400, "prompt is too long: 210000 tokens > 200000 maximum", ContextTooLong),
        (401, "invalid x-api-key", AuthenticationFailed),
        (403, "not allowed", PermissionDenied),
        (404, "model: nope", ModelNotFound),
    ],
)
def test_status_classification(status: int, message: str, expected: type[Exception]) -> None:
    error = error_for_status(status, message, provider="anthropic", retry_after=2.0)
    assert type(error) is expected
    assert error.status == status
    assert error.retryable == issubclass(expected, TransientProviderError)
    assert str(error).startswith("anthropic: ")


def test_classified_messages_never_carry_a_key() -> None:
    error = error_for_status(401, "invalid key sk-ant-api03-abcdefghijklmnop", provider="anthropic")
    assert "sk-ant-api03" not in str(error)
    assert "[REDACTED]" in str(error)
