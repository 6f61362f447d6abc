"""The one retry policy for model calls: transient errors only, bounded, jittered.

Providers pass `max_retries=0` to their SDKs so this is the only retry layer (STYLE.md,
pattern 6). A Prefect task around a model call must not retry provider errors again.

A failure in the middle of a streamed answer (the connection cut, an `error` event after the
200) is retried like one before it: `stream()` runs the whole attempt again, and a `Retrying`
event tells the consumer to drop what the failed attempt yielded. So no transient failure
reaches the caller before the policy has given up, and the agent phase is never restarted
for one. Every retry is announced: in the stream, and for `call()` to the listeners of
`retries_reported_to()`.
"""

from __future__ import annotations

import random
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass, field
from email.utils import parsedate_to_datetime
from typing import TypeVar

from tamma.errors import TransientProviderError
from tamma.providers._models import Retrying, StreamEvent

__all__ = ["RetryPolicy", "parse_retry_after", "retries_reported_to"]

T = TypeVar("T")
RetryListener = Callable[[Retrying], None]

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
        """`attempt()`'s result, trying again after each transient failure while retries last."""
        for retry in range(self.retries + 1):
            try:
                return attempt()
            except TransientProviderError as error:
                if retry == self.retries:
                    raise
                notice = self._retrying(retry, error)
            for listener in _LISTENERS.get():
                listener(notice)
            self.sleep(notice.delay_s)
        raise AssertionError("unreachable: the loop returns or raises")

    def stream(self, attempt: Callable[[], Iterator[StreamEvent]]) -> Iterator[StreamEvent]:
        """`attempt()`'s events; after a transient failure, even mid-answer, a `Retrying` event
        and then the events of a whole new attempt."""
        for retry in range(self.retries + 1):
            try:
                yield from attempt()
                return
            except TransientProviderError as error:
                if retry == self.retries:
                    raise
                notice = self._retrying(retry, error)
            yield notice
            self.sleep(notice.delay_s)

    def _retrying(self, retry: int, error: TransientProviderError) -> Retrying:
        return Retrying(
            attempt=retry + 1,
            attempts=self.retries + 1,
            error=type(error).__name__,
            message=str(error),
            delay_s=self.delay(retry, error),
        )


_LISTENERS: ContextVar[tuple[RetryListener, ...]] = ContextVar("tamma_retry_listeners", default=())


@contextmanager
def retries_reported_to(listener: RetryListener) -> Iterator[None]:
    """Tell `listener` about each retry `RetryPolicy.call` makes inside the block.

    Why a context variable: `complete()` returns a single Response, so a wrapper such as
    `RecordingProvider` cannot see the attempts behind it through the `Provider` protocol,
    whatever sits in between (a `FailoverProvider`, say). Streams carry `Retrying` events
    instead, as a context variable set inside a generator would leak into its consumer.
    """
    token = _LISTENERS.set((*_LISTENERS.get(), listener))
    try:
        yield
    finally:
        _LISTENERS.reset(token)


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
