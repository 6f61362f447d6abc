"""Recording every model exchange as events, and answering from them again offline.

`RecordingProvider` appends `AI.REQUEST.STARTED` before a call and `AI.RESPONSE.RECEIVED`
(or `AI.REQUEST.FAILED`) after it, secrets redacted before anything is written.
`ReplayProvider` reads those events back for one run and answers the same sequence of
requests with the recorded responses: no network, no model, and `ReplayDivergence` at the
first request that differs from the recording. That is black-box replay.
"""

from __future__ import annotations

import time
from collections.abc import Iterable, Iterator
from typing import Any

from event_store import EventStore, NewEvent, Query
from tamma import event_types
from tamma.errors import ProviderError, ReplayDivergence
from tamma.providers._models import Completed, Request, Response, StreamEvent, replay_stream
from tamma.providers._protocol import Provider
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
        self._store.append([event])
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
        self._store.append([NewEvent(event_type, data, tags=self._tags, metadata={"actor": actor})])


class ReplayProvider:
    """Answers from the recorded exchanges of the run tagged `run_tag`, in order."""

    name = "replay"

    def __init__(self, store: EventStore, run_tag: str, *, redactor: Redactor | None = None) -> None:
        self._redact = redactor or Redactor()
        self._exchanges = _recorded_exchanges(store, run_tag)
        self._next = 0

    @property
    def remaining(self) -> int:
        return len(self._exchanges) - self._next

    def complete(self, request: Request) -> Response:
        index = self._next
        if index >= len(self._exchanges):
            raise ReplayDivergence(index, f"the recording has only {len(self._exchanges)} requests")
        recorded_request, response = self._exchanges[index]
        asked = self._redact.value(request.model_dump(mode="json"))
        difference = _first_difference(recorded_request, asked, "request")
        if difference:
            raise ReplayDivergence(index, difference)
        self._next += 1
        return response

    def stream(self, request: Request) -> Iterator[StreamEvent]:
        yield from replay_stream(self.complete(request))


def _recorded_exchanges(store: EventStore, run_tag: str) -> list[tuple[Any, Response]]:
    requests: dict[str, Any] = {}
    exchanges = []
    query = Query.of(types=[REQUEST_STARTED, RESPONSE_RECEIVED], tags=[run_tag])
    for event in store.read(query):
        if event.type == REQUEST_STARTED:
            requests[str(event.id)] = event.data["request"]
        elif event.data["request_id"] in requests:
            exchanges.append((requests.pop(event.data["request_id"]), Response(**event.data["response"])))
    return exchanges


def _first_difference(expected: Any, actual: Any, path: str) -> str | None:
    """Where two JSON values first differ, as `path: recorded X, replay asked Y`."""
    if isinstance(expected, dict) and isinstance(actual, dict):
        for key in sorted(expected.keys() | actual.keys()):
            found = _first_difference(expected.get(key), actual.get(key), f"{path}.{key}")
            if found:
                return found
        return None
    if isinstance(expected, list) and isinstance(actual, list):
        for i, (left, right) in enumerate(zip(expected, actual, strict=False)):
            found = _first_difference(left, right, f"{path}[{i}]")
            if found:
                return found
        if len(expected) != len(actual):
            return f"{path}: recorded {len(expected)} items, replay asked {len(actual)}"
        return None
    if expected != actual:
        return f"{path}: recorded {_short(expected)}, replay asked {_short(actual)}"
    return None


def _short(value: Any, limit: int = 80) -> str:
    text = repr(value)
    return text if len(text) <= limit else text[: limit - 1] + "…"
