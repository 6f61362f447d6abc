"""The platform rate-limit policy on a virtual clock."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from email.utils import format_datetime

import pytest

from tamma.errors import PlatformRateLimited
from tamma.platforms._ratelimit import RateLimitPolicy, Throttled


def throttling(times: int, **hints: float) -> tuple[object, list[int]]:
    calls: list[int] = []

    def attempt() -> str:
        calls.append(1)
        if len(calls) <= times:
            raise Throttled("github", **hints)
        return "done"

    return attempt, calls


def test_waits_2_4_8_seconds_without_hints_then_succeeds() -> None:
    slept: list[float] = []
    attempt, calls = throttling(3)
    assert RateLimitPolicy(sleep=slept.append).call(attempt) == "done"  # type: ignore[arg-type]
    assert (slept, len(calls)) == ([2.0, 4.0, 8.0], 4)


def test_retry_after_and_reset_times_are_honoured_and_capped() -> None:
    slept: list[float] = []
    policy = RateLimitPolicy(sleep=slept.append, clock=lambda: 1000.0)
    policy.call(throttling(1, wait_s=5)[0])  # type: ignore[arg-type]
    policy.call(throttling(1, reset_at=1030.0)[0])  # type: ignore[arg-type]
    policy.call(throttling(1, reset_at=5000.0)[0])  # type: ignore[arg-type]
    policy.call(throttling(1, reset_at=990.0)[0])  # type: ignore[arg-type]
    assert slept == [5, 30.0, 60.0, 2.0]


def test_gives_up_after_three_waits_saying_when_to_retry() -> None:
    slept: list[float] = []
    attempt, calls = throttling(10, reset_at=1_800_000_000.0)
    with pytest.raises(PlatformRateLimited, match="retry after 2027-01-15 08:00:00 UTC") as failure:
        RateLimitPolicy(sleep=slept.append, clock=lambda: 1_799_999_990.0).call(attempt)  # type: ignore[arg-type]
    assert failure.value.retry_at == 1_800_000_000.0
    assert len(calls) == 4


def test_a_retry_after_date_is_read_as_the_seconds_until_it() -> None:
    """Proxies in front of a forge may send `Retry-After` as an HTTP date rather than seconds."""
    soon = format_datetime(datetime.now(UTC) + timedelta(seconds=30), usegmt=True)
    throttled = Throttled.from_headers("github", soon, "1700000000")
    assert throttled.wait_s is not None
    assert 25 <= throttled.wait_s <= 30
    assert throttled.reset_at is None
    unreadable = Throttled.from_headers("gitlab", "soon", "1700000000", status=403)
    assert (unreadable.wait_s, unreadable.reset_at, unreadable.status) == (None, 1700000000.0, 403)
