"""A run's history from its events: the timeline of its steps, and its full state at any point.

The timeline is what STEP.STARTED/STEP.FINISHED bracket (each task attempt of the flow),
with the agent's test-first phases and the human decisions as their own spans; the model
calls inside a span give its tokens and cost. A snapshot is the run folded up to a position
(time travel): phase, plan, files written so far, the last model exchange, CI, budget used.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from event_store import Event, EventStore, Query
from tamma import event_types as et
from tamma.audit.run_state import RunState, run_of, run_state_projection
from tamma.errors import TammaError

__all__ = ["Snapshot", "Span", "find_run", "resolve_point", "snapshot", "timeline"]


@dataclass
class Span:
    name: str
    start: Event
    end: Event | None = None
    tokens: int = 0
    cost_usd: float = 0.0
    model_calls: int = 0

    @property
    def duration_s(self) -> float | None:
        return (self.end.recorded_at - self.start.recorded_at).total_seconds() if self.end else None

    @property
    def ok(self) -> bool | None:
        if self.end is None:
            return None
        return bool(self.end.data.get("ok", True))


_OPENERS = {
    et.STEP_STARTED: lambda e: f"step {e.data['step']}",
    et.AGENT_PHASE_STARTED: lambda e: f"  agent {e.data['phase']}",
    et.APPROVAL_REQUESTED: lambda e: f"approval of the {e.data['subject']}",
}
_CLOSERS = {
    et.STEP_FINISHED: lambda e: f"step {e.data['step']}",
    et.AGENT_PHASE_COMPLETED: lambda e: f"  agent {e.data['phase']}",
    et.APPROVAL_PROVIDED: lambda e: f"approval of the {e.data['subject']}",
    et.APPROVAL_REJECTED: lambda e: f"approval of the {e.data['subject']}",
}


def timeline(events: Iterable[Event]) -> list[Span]:
    """The spans of a run, in the order they started; model usage counts toward every open span."""
    spans: list[Span] = []
    open_spans: dict[str, Span] = {}
    for event in events:
        if event.type in _OPENERS:
            span = Span(_OPENERS[event.type](event), event)
            spans.append(span)
            open_spans[span.name] = span
        elif event.type in _CLOSERS and (closed := open_spans.pop(_CLOSERS[event.type](event), None)):
            closed.end = event
        elif event.type == et.AI_RESPONSE_RECEIVED:
            for span in open_spans.values():
                span.model_calls += 1
                span.tokens += sum(event.data["usage"].values())
                span.cost_usd = round(span.cost_usd + event.data["cost_usd"], 8)
    return spans


@dataclass(frozen=True)
class Snapshot:
    """The run as it was right after the event at `position`."""

    position: int
    recorded_at: datetime
    state: RunState
    files: dict[str, str] = field(default_factory=dict)
    """Each file the agent wrote so far, with its content then."""
    last_request: dict[str, Any] | None = None
    last_response: dict[str, Any] | None = None
    model_calls: int = 0
    tokens: int = 0


def snapshot(store: EventStore, run_id: str, position: int) -> Snapshot:
    events = list(store.read(Query.of(tags=[f"run:{run_id}"]), until=position))
    if not events:
        raise TammaError(f"run {run_id} has no events at or before position {position}")
    files: dict[str, str] = {}
    last_request = last_response = None
    calls = tokens = 0
    for event in events:
        if event.type == et.CODE_FILE_WRITTEN:
            files[event.data["path"]] = event.data["content"]
        elif event.type == et.AI_REQUEST_STARTED:
            last_request = event.data["request"]
        elif event.type == et.AI_RESPONSE_RECEIVED:
            last_response, calls = event.data["response"], calls + 1
            tokens += sum(event.data["usage"].values())
    return Snapshot(
        position=events[-1].position,
        recorded_at=events[-1].recorded_at,
        state=run_state_projection(run_id).fold(events).state,
        files=files,
        last_request=last_request,
        last_response=last_response,
        model_calls=calls,
        tokens=tokens,
    )


def resolve_point(events: Sequence[Event], point: str) -> int:
    """A position from `point`: a position number, an ISO timestamp (the last event at or
    before it), or a step or agent phase name (where it finished)."""
    if point.isdigit():
        return int(point)
    try:
        moment = datetime.fromisoformat(point)
    except ValueError:
        moment = None
    if moment is not None:
        if moment.tzinfo is None:
            moment = moment.replace(tzinfo=events[0].recorded_at.tzinfo)
        before = [e.position for e in events if e.recorded_at <= moment]
        if not before:
            raise TammaError(f"the run has no event at or before {point}")
        return before[-1]
    ends = [
        e.position
        for e in events
        if (e.type == et.STEP_FINISHED and e.data["step"] == point)
        or (e.type == et.AGENT_PHASE_COMPLETED and e.data["phase"] == point)
    ]
    if not ends:
        names = sorted({e.data["step"] for e in events if e.type == et.STEP_FINISHED})
        raise TammaError(f"no step or phase {point!r} finished in this run; steps: {', '.join(names)}")
    return ends[-1]


def find_run(store: EventStore, run_or_issue: str) -> str:
    """A run id from `r-...` or from an issue reference (its latest run)."""
    if run_or_issue.startswith("r-"):
        return run_or_issue
    from tamma.platforms import IssueRef

    ref = IssueRef.parse(run_or_issue)
    started = list(store.read(Query.of(types=[et.RUN_STARTED], tags=[ref.tag])))
    if not started:
        raise TammaError(f"no run of {ref} in {store.url}")
    return run_of(started[-1])
