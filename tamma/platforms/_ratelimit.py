"""Waiting out platform rate limits: up to 3 retries after 2, 4 and 8 s (or the server's
word, capped), then `PlatformRateLimited` saying when to try again.

Adapters raise `Throttled` from their error translation when a response says "rate
limited"; this policy is the one retry owner for it (the SDKs' own retries are off).
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime
from typing import TypeVar

from tamma.errors import PlatformRateLimited

__all__ = ["RateLimitPolicy", "Throttled"]

T = TypeVar("T")


class Throttled(Exception):
    """A rate-limited response: `wait_s` from Retry-After, `reset_at` (epoch s) if known, and the
    HTTP `status` it came with (GitHub says "rate limited" with 403 as well as 429)."""

    def __init__(
        self,
        platform: str,
        *,
        wait_s: float | None = None,
        reset_at: float | None = None,
        status: int = 429,
    ) -> None:
        self.platform, self.wait_s, self.reset_at, self.status = platform, wait_s, reset_at, status
        super().__init__(f"{platform}: rate limited ({status})")

    @classmethod
    def from_headers(
        cls, platform: str, retry_after: str | None, reset: str | None, *, status: int = 429
    ) -> Throttled:
        """From a `Retry-After` (seconds, or an HTTP date as proxies send it) and a reset time
        (epoch seconds); the first wins. A value that is neither is ignored: our backoff then."""
        wait_s = _seconds_until(retry_after) if retry_after else None
        return cls(
            platform,
            wait_s=wait_s,
            reset_at=float(reset) if reset and wait_s is None else None,
            status=status,
        )


def _seconds_until(retry_after: str) -> float | None:
    try:
        return float(retry_after)
    except ValueError:
        pass
    try:
        when = parsedate_to_datetime(retry_after)
    except (TypeError, ValueError):
        return None
    return max(0.0, (when - datetime.now(UTC)).total_seconds())


@dataclass(frozen=True)
class RateLimitPolicy:
    retries: int = 3
    backoff_s: tuple[float, ...] = (2.0, 4.0, 8.0)
    cap_s: float = 60.0
    sleep: Callable[[float], None] = field(default=time.sleep, compare=False)
    clock: Callable[[], float] = field(default=time.time, compare=False)

    def delay(self, retry: int, throttled: Throttled) -> float:
        """The server's Retry-After, else the time to its reset, else our backoff; capped."""
        if throttled.wait_s is not None:
            wait = throttled.wait_s
        elif throttled.reset_at is not None:
            wait = throttled.reset_at - self.clock()
        else:
            wait = 0.0
        if wait <= 0:
            wait = self.backoff_s[min(retry, len(self.backoff_s) - 1)]
        return min(wait, self.cap_s)

    def call(self, attempt: Callable[[], T], *, doing: str = "") -> T:
        """`attempt()`, again after each wait; `doing` opens the message if the waits run out
        (a listing says how far it got)."""
        for retry in range(self.retries + 1):
            try:
                return attempt()
            except Throttled as throttled:
                if retry == self.retries:
                    raise self._gave_up(throttled, doing) from None
                self.sleep(self.delay(retry, throttled))
        raise AssertionError("unreachable: the loop returns or raises")

    def _gave_up(self, throttled: Throttled, doing: str) -> PlatformRateLimited:
        wait_s = throttled.wait_s
        retry_at = throttled.reset_at or (self.clock() + wait_s if wait_s is not None else None)
        when = (
            f"retry after {datetime.fromtimestamp(retry_at, UTC):%Y-%m-%d %H:%M:%S} UTC"
            if retry_at
            else "retry later"
        )
        return PlatformRateLimited(
            f"{doing}{': ' if doing else ''}rate limited after {self.retries} waits; {when}",
            platform=throttled.platform,
            status=throttled.status,
            retry_at=retry_at,
        )
