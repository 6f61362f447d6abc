"""Appending Tamma's decisions to the event store: versioned, tagged, attributed, redacted.

Every layer that records (the agent loop, its tools, the flows) goes through one `Recorder`,
so every event carries `data["v"]`, the run and issue tags, an `actor` in its metadata
(tamma, model, user or a worker) and no secret: data is redacted before it is written.
"""

from __future__ import annotations

from collections.abc import Iterable

from event_store import EventStore, NewEvent
from tamma.redaction import Redactor

__all__ = ["EVENT_VERSION", "Recorder"]

EVENT_VERSION = 1


class Recorder:
    def __init__(self, store: EventStore, tags: Iterable[str], *, redactor: Redactor | None = None) -> None:
        self.store = store
        self.tags = tuple(dict.fromkeys(tags))
        self.redactor = redactor or Redactor()

    def with_tags(self, *tags: str) -> Recorder:
        """A recorder that adds `tags` to these (e.g. `agent:builtin` for one backend's events)."""
        return Recorder(self.store, (*self.tags, *tags), redactor=self.redactor)

    def record(self, event_type: str, *, actor: str = "tamma", **data: object) -> int:
        """Append one event; returns its position."""
        event = NewEvent(
            event_type,
            {"v": EVENT_VERSION, **self.redactor.value(data)},
            tags=self.tags,
            metadata={"actor": actor},
        )
        return self.store.append(event)
