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
from collections.abc import Callable, Generator, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Literal

from tamma.errors import InvalidRequest, ProviderError, ProviderUnavailable, TransientProviderError
from tamma.providers._models import Request, Response, Retrying, StreamEvent
from tamma.providers._protocol import Provider

__all__ = ["BreakerSettings", "CircuitBreaker", "FailoverProvider"]

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
        failures: list[str] = []
        for provider in self._allowed(failures):
            with self._failing_over(provider, failures):
                return provider.complete(request)
        raise _unavailable(self.name, failures)

    def stream(self, request: Request) -> Iterator[StreamEvent]:
        """Fails over until a provider produces output; from then on its errors go to the
        caller (half a streamed answer cannot be taken back). `Retrying` events are not
        output: they pass through while a provider is still trying to start its answer."""
        failures: list[str] = []
        for provider in self._allowed(failures):
            events = provider.stream(request)
            first: StreamEvent | None = None
            with self._failing_over(provider, failures):
                first = yield from _until_output(events)
            if first is not None:
                yield first
                yield from events
                return
        raise _unavailable(self.name, failures)

    def _allowed(self, failures: list[str]) -> Iterator[Provider]:
        """The providers in order, skipping (and noting) those whose circuit is open."""
        for provider in self.providers:
            if self.breakers[provider.name].allow():
                yield provider
            else:
                failures.append(f"{provider.name}: circuit open")

    @contextmanager
    def _failing_over(self, provider: Provider, failures: list[str]) -> Iterator[None]:
        """Count the call's outcome on `provider`'s breaker; a failure another provider may not
        have is noted in `failures` and swallowed, so the caller moves on to the next one."""
        breaker = self.breakers[provider.name]
        try:
            yield
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


def _unavailable(name: str, failures: list[str]) -> ProviderUnavailable:
    return ProviderUnavailable("every provider failed: " + "; ".join(failures), provider=name)


def _reason(provider: Provider, error: ProviderError) -> str:
    return str(error) if error.provider else f"{provider.name}: {error}"


def _until_output(events: Iterator[StreamEvent]) -> Generator[StreamEvent, None, StreamEvent]:
    """Pass on the `Retrying` events a stream starts with; return its first real event, so
    that a failure to start happens inside the failover loop."""
    while isinstance(event := next(events), Retrying):
        yield event
    return event
