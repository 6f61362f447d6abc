"""`FailoverProvider`: providers in order of preference, each behind a circuit breaker.

A provider failing transiently (after its own retries) counts a failure on its breaker; five
in sixty seconds open the circuit for five minutes, during which calls skip it. Then one
probe is let through (half-open): success closes the circuit, failure reopens it. Provider-
specific permanent failures (bad key, unknown model) move on to the next provider too; a
malformed request does not, as every provider would refuse it.
"""

from __future__ import annotations

import threading
import time
from collections import deque
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from typing import Literal, TypeVar

from tamma.errors import InvalidRequest, ProviderError, ProviderUnavailable, TransientProviderError
from tamma.providers._models import Request, Response, StreamEvent
from tamma.providers._protocol import Provider

__all__ = ["BreakerSettings", "CircuitBreaker", "FailoverProvider"]

T = TypeVar("T")
BreakerState = Literal["closed", "open", "half_open"]


@dataclass(frozen=True)
class BreakerSettings:
    failures: int = 5
    window_s: float = 60.0
    open_s: float = 300.0


class CircuitBreaker:
    """Counts recent failures; `allow()` says whether a call may go through now."""

    def __init__(
        self, settings: BreakerSettings | None = None, clock: Callable[[], float] = time.monotonic
    ) -> None:
        self.settings = settings or BreakerSettings()
        self._clock = clock
        self._failures: deque[float] = deque()
        self._opened_at: float | None = None
        self._probing = False
        self._lock = threading.Lock()

    @property
    def state(self) -> BreakerState:
        if self._opened_at is None:
            return "closed"
        if self._clock() - self._opened_at >= self.settings.open_s:
            return "half_open"
        return "open"

    def allow(self) -> bool:
        with self._lock:
            state = self.state
            if state == "half_open" and not self._probing:
                self._probing = True  # exactly one probe at a time
                return True
            return state == "closed"

    def record_success(self) -> None:
        with self._lock:
            self._failures.clear()
            self._opened_at, self._probing = None, False

    def record_failure(self) -> None:
        with self._lock:
            now = self._clock()
            if self._probing:
                self._opened_at, self._probing = now, False
                return
            self._failures.append(now)
            while self._failures and now - self._failures[0] > self.settings.window_s:
                self._failures.popleft()
            if len(self._failures) >= self.settings.failures:
                self._opened_at = now
                self._failures.clear()


class FailoverProvider:
    """Tries `providers` in order; the Response's `provider` names the one that answered."""

    def __init__(
        self,
        providers: Sequence[Provider],
        *,
        breaker: BreakerSettings | None = None,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        if not providers:
            raise ValueError("FailoverProvider needs at least one provider")
        self.providers = list(providers)
        self.name = "failover(" + ",".join(p.name for p in self.providers) + ")"
        self.breakers = {p.name: CircuitBreaker(breaker, clock) for p in self.providers}

    def complete(self, request: Request) -> Response:
        return self._first_answer(lambda provider: provider.complete(request))

    def stream(self, request: Request) -> Iterator[StreamEvent]:
        """Fails over while opening a stream; once a provider has produced output, its
        errors go to the caller (half a streamed answer cannot be taken back)."""
        stream, first = self._first_answer(lambda provider: _started(provider.stream(request)))
        yield first
        yield from stream

    def _first_answer(self, call: Callable[[Provider], T]) -> T:
        failures: list[str] = []
        for provider in self.providers:
            breaker = self.breakers[provider.name]
            if not breaker.allow():
                failures.append(f"{provider.name}: circuit open")
                continue
            try:
                result = call(provider)
            except InvalidRequest:
                breaker.record_success()  # the provider answered; the request was at fault
                raise
            except TransientProviderError as exc:
                breaker.record_failure()
                failures.append(_reason(provider, exc))
            except ProviderError as exc:
                failures.append(_reason(provider, exc))
            else:
                breaker.record_success()
                return result
        raise ProviderUnavailable("every provider failed: " + "; ".join(failures), provider=self.name)


def _reason(provider: Provider, error: ProviderError) -> str:
    return str(error) if error.provider else f"{provider.name}: {error}"


def _started(events: Iterator[StreamEvent]) -> tuple[Iterator[StreamEvent], StreamEvent]:
    """Pull the first event, so that a failure to start happens inside the failover loop."""
    return events, next(events)
