"""Recording every model exchange as events, and answering from them again offline.

`RecordingProvider` appends `AI.REQUEST.STARTED` before a call and `AI.RESPONSE.RECEIVED`
(or `AI.REQUEST.FAILED`) after it, secrets redacted before anything is written. Each attempt
the provider's retry policy made again is an `AI.REQUEST.FAILED` with `retried: true` in
between: visible in the audit and the progress output, and skipped by replay, which only
needs the answers.
`ReplayProvider` reads those events back for one run and answers the same sequence of
requests with the recorded responses: no network, no model, and `ReplayDivergence` at the
first request that differs from the recording. That is black-box replay.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable, Iterator
from typing import Any

from event_store import EventStore, NewEvent, Query
from tamma import event_types
from tamma.errors import ProviderError, ReplayDivergence
from tamma.json_diff import first_difference
from tamma.metrics import timed_append
from tamma.providers._models import Completed, Request, Response, Retrying, StreamEvent, replay_stream
from tamma.providers._protocol import Provider
from tamma.providers._retry import retries_reported_to
from tamma.redaction import Redactor

__all__ = ["RecordingProvider", "ReplayProvider"]

REQUEST_STARTED = event_types.AI_REQUEST_STARTED
RESPONSE_RECEIVED = event_types.AI_RESPONSE_RECEIVED
REQUEST_FAILED = event_types.AI_REQUEST_FAILED
EVENT_VERSION = 1


class RecordingProvider:
    """Wraps `inner`; every exchange becomes events tagged with `tags` and the provider."""

    def __init__(
        self, inner: Provider, store: EventStore, tags: Iterable[str], *, redactor: Redactor | None = None
    ) -> None:
        self.inner = inner
        self.name = inner.name
        self._store = store
        self._tags = [*tags, f"provider:{inner.name}"]
        self._redact = redactor or Redactor()

    def complete(self, request: Request) -> Response:
        started = self._started(request)
        try:
            with retries_reported_to(lambda notice: self._retried(started, notice)):
                response = self.inner.complete(request)
        except ProviderError as exc:
            self._failed(started, exc)
            raise
        self._received(started, response)
        return response

    def stream(self, request: Request) -> Iterator[StreamEvent]:
        started = self._started(request)
        try:
            for event in self.inner.stream(request):
                if isinstance(event, Completed):
                    self._received(started, event.response)
                elif isinstance(event, Retrying):
                    self._retried(started, event)
                yield event
        except ProviderError as exc:
            self._failed(started, exc)
            raise

    def _started(self, request: Request) -> tuple[NewEvent, float]:
        event = NewEvent(
            REQUEST_STARTED,
            {
                "v": EVENT_VERSION,
                "provider": self.name,
                "request": self._redact.value(request.model_dump(mode="json")),
            },
            tags=self._tags,
            metadata={"actor": "tamma"},
        )
        timed_append(self._store, event)
        return event, time.perf_counter()

    def _received(self, started: tuple[NewEvent, float], response: Response) -> None:
        self._outcome(
            RESPONSE_RECEIVED,
            started,
            actor="model",
            provider=response.provider,
            model=response.model,
            response=self._redact.value(response.model_dump(mode="json")),
            usage=response.usage.model_dump(),
            cost_usd=response.cost_usd,
        )

    def _failed(self, started: tuple[NewEvent, float], error: ProviderError) -> None:
        self._outcome(
            REQUEST_FAILED,
            started,
            actor="tamma",
            provider=self.name,
            error=type(error).__name__,
            message=self._redact.text(str(error)),
            retryable=error.retryable,
        )

    def _retried(self, started: tuple[NewEvent, float], notice: Retrying) -> None:
        self._outcome(
            REQUEST_FAILED,
            started,
            actor="tamma",
            provider=self.name,
            error=notice.error,
            message=self._redact.text(notice.message),
            retryable=True,
            retried=True,
            attempt=notice.attempt,
            attempts=notice.attempts,
            delay_s=round(notice.delay_s, 3),
        )

    def _outcome(
        self, event_type: str, started: tuple[NewEvent, float], *, actor: str, **fields: Any
    ) -> None:
        """Append how a request ended, linked to its AI.REQUEST.STARTED event, with its latency."""
        request_event, began = started
        data = {
            "v": EVENT_VERSION,
            "request_id": str(request_event.id),
            **fields,
            "latency_s": round(time.perf_counter() - began, 4),
        }
        timed_append(self._store, NewEvent(event_type, data, tags=self._tags, metadata={"actor": actor}))


class ReplayProvider:
    """Answers from the recorded exchanges of the run tagged `run_tag`, in order.

    `until` keeps only the exchanges requested before that position, and `then` is the model
    that answers after them: a fork replays the run up to its fork point and goes on live.
    `normalize` is applied to both the recorded and the replayed request before they are
    compared, for what legitimately differs between two runs (test timings, scratch paths).
    """

    name = "replay"

    def __init__(
        self,
        store: EventStore,
        run_tag: str,
        *,
        redactor: Redactor | None = None,
        until: int | None = None,
        then: Provider | None = None,
        normalize: Callable[[Any], Any] = lambda value: value,
    ) -> None:
        self._redact = redactor or Redactor()
        self._exchanges = _recorded_exchanges(store, run_tag, until)
        self._next = 0
        self._then = then
        self._normalize = normalize

    @property
    def remaining(self) -> int:
        return len(self._exchanges) - self._next

    def complete(self, request: Request) -> Response:
        index = self._next
        if index >= len(self._exchanges):
            if self._then is not None:
                return self._then.complete(request)
            raise ReplayDivergence(
                f"the recording has only {len(self._exchanges)} requests", at=f"model request #{index + 1}"
            )
        recorded_request, response = self._exchanges[index]
        asked = self._normalize(self._redact.value(request.model_dump(mode="json")))
        difference = first_difference(self._normalize(recorded_request), asked, "request")
        if difference:
            raise ReplayDivergence(
                difference.describe("recorded", "replay asked"), at=f"model request #{index + 1}"
            )
        self._next += 1
        return response

    def stream(self, request: Request) -> Iterator[StreamEvent]:
        if self._next >= len(self._exchanges) and self._then is not None:
            yield from self._then.stream(request)
        else:
            yield from replay_stream(self.complete(request))


def _recorded_exchanges(store: EventStore, run_tag: str, until: int | None) -> list[tuple[Any, Response]]:
    requests: dict[str, Any] = {}
    exchanges = []
    query = Query.of(types=[REQUEST_STARTED, RESPONSE_RECEIVED], tags=[run_tag])
    for event in store.read(query):
        if event.type == REQUEST_STARTED:
            if until is None or event.position < until:
                requests[str(event.id)] = event.data["request"]
        elif event.data["request_id"] in requests:
            exchanges.append((requests.pop(event.data["request_id"]), Response(**event.data["response"])))
    return exchanges
