"""Appending Tamma's decisions to the event store: versioned, tagged, attributed, redacted.

Every layer that records (the agent loop, its tools, the flows) goes through one `Recorder`,
so every event carries `data["v"]`, the run and issue tags, an `actor` in its metadata
(tamma, model, user or a worker) and no secret: data is redacted before it is written.

Observers (`Recorder.observers`) see each event once it is stored, e.g. to show progress in
an orchestrator's logs; a failing observer is logged and never fails the recording.

Each append is timed for `tamma_event_append_seconds` (`tamma.metrics.timed_append`): the
latency stays in this process's metrics, never in the event, whose content it is not.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable
from datetime import UTC, datetime

from event_store import Event, EventStore, NewEvent
from tamma.metrics import timed_append
from tamma.redaction import Redactor

__all__ = ["EVENT_VERSION", "Observer", "Recorder"]

EVENT_VERSION = 1

Observer = Callable[[Event], None]
"""Called with each event after it is stored (as a read would return it, but for `recorded_at`,
which is this process's clock)."""

_log = logging.getLogger(__name__)


class Recorder:
    def __init__(
        self,
        store: EventStore,
        tags: Iterable[str],
        *,
        redactor: Redactor | None = None,
        observers: list[Observer] | None = None,
    ) -> None:
        self.store = store
        self.tags = tuple(dict.fromkeys(tags))
        self.redactor = redactor or Redactor()
        self.observers: list[Observer] = [] if observers is None else observers

    def with_tags(self, *tags: str) -> Recorder:
        """A recorder that adds `tags` to these (e.g. `agent:builtin` for one backend's events);
        it shares this one's observers, so they see every event of the run."""
        return Recorder(self.store, (*self.tags, *tags), redactor=self.redactor, observers=self.observers)

    def event(self, event_type: str, *, actor: str = "tamma", **data: object) -> NewEvent:
        """The event `record` would append, for an append of its own (a conditional one)."""
        return NewEvent(
            event_type,
            {"v": EVENT_VERSION, **self.redactor.value(data)},
            tags=self.tags,
            metadata={"actor": actor},
        )

    def record(self, event_type: str, *, actor: str = "tamma", **data: object) -> int:
        """Append one event; returns its position."""
        event = self.event(event_type, actor=actor, **data)
        position = timed_append(self.store, event)
        if self.observers:
            self._notify(_stored(event, position))
        return position

    def _notify(self, event: Event) -> None:
        for observer in self.observers:
            try:
                observer(event)
            except Exception:
                _log.warning("an observer of the recorder failed on %s", event.type, exc_info=True)


def _stored(event: NewEvent, position: int) -> Event:
    """`event` as the store holds it: a `NewEvent`'s data already reads back equal."""
    return Event(
        position=position,
        id=event.id,
        type=event.type,
        data=dict(event.data),
        tags=tuple(event.tags),
        metadata=dict(event.metadata),
        recorded_at=datetime.now(UTC),
    )
