"""The `Provider` protocol: what the agent loop and the flows need from a model."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Protocol, runtime_checkable

from tamma.providers._models import Request, Response, StreamEvent

__all__ = ["Provider"]


@runtime_checkable
class Provider(Protocol):
    """A model behind one interface.

    `stream()` yields `TextDelta`s and `ToolUseReceived`s as they arrive and ends with one
    `Completed` carrying the same `Response` that `complete()` returns for the request. A
    `Retrying` in between means the answer so far is void and starts again: a consumer that
    collects the pieces resets on it. Errors are `tamma.errors.ProviderError`s, already
    retried where that made sense.
    """

    name: str

    def complete(self, request: Request) -> Response: ...

    def stream(self, request: Request) -> Iterator[StreamEvent]: ...
