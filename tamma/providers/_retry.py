"""The one retry policy for model calls: transient errors only, bounded, jittered.

Providers pass `max_retries=0` to their SDKs so this is the only retry layer (STYLE.md,
pattern 6). A Prefect task around a model call must not retry provider errors again.
"""

from __future__ import annotations

import random
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from email.utils import parsedate_to_datetime
from typing import TypeVar

from tamma.errors import TransientProviderError

__all__ = ["RetryPolicy", "parse_retry_after"]

T = TypeVar("T")

ATTEMPTS_AFTER_FIRST = 3
BACKOFF_S = (1.0, 2.0, 4.0)
JITTER_S = 0.25
RETRY_AFTER_CAP_S = 60.0


@dataclass(frozen=True)
class RetryPolicy:
    """Retry `TransientProviderError` up to `retries` times.

    The wait before retry n is `backoff_s[n]` plus up to `jitter_s` of noise, or the server's
    Retry-After when it gave one (capped at `retry_after_cap_s`). `sleep` is injectable so
    tests run on a virtual clock.
    """

    retries: int = ATTEMPTS_AFTER_FIRST
    backoff_s: tuple[float, ...] = BACKOFF_S
    jitter_s: float = JITTER_S
    retry_after_cap_s: float = RETRY_AFTER_CAP_S
    sleep: Callable[[float], None] = field(default=time.sleep, compare=False)
    random_fraction: Callable[[], float] = field(default=random.random, compare=False)

    def delay(self, retry: int, error: TransientProviderError) -> float:
        """Seconds to wait before retry number `retry` (0-based) after `error`."""
        if error.retry_after is not None:
            return min(max(error.retry_after, 0.0), self.retry_after_cap_s)
        base = self.backoff_s[min(retry, len(self.backoff_s) - 1)]
        return base + self.jitter_s * self.random_fraction()

    def call(self, attempt: Callable[[], T]) -> T:
        for retry in range(self.retries + 1):
            try:
                return attempt()
            except TransientProviderError as error:
                if retry == self.retries:
                    raise
                self.sleep(self.delay(retry, error))
        raise AssertionError("unreachable: the loop returns or raises")


def parse_retry_after(value: str | None, *, now: Callable[[], float] = time.time) -> float | None:
    """Seconds from a Retry-After header: delta-seconds or an HTTP date; None if absent or bad."""
    if not value:
        return None
    try:
        return max(float(value), 0.0)
    except ValueError:
        pass
    try:
        when = parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    return max(when.timestamp() - now(), 0.0)
