"""The fold from events to metric values: what each event type adds to which metric.

Unlike `Projection`'s pure folds, this one mutates: counters only grow, nobody asks for their
value at an earlier position, and copying every series per event would make the first scrape
of a long-lived store needlessly slow. `Tally.position` is the last event folded, so a scrape
reads only what came after it.

Events are someone else's data, written by older and newer versions: a field that is missing or
of the wrong type leaves its metric alone instead of failing the scrape.
"""

from __future__ import annotations

import bisect
from collections import defaultdict
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from event_store import Event
from tamma import event_types as et
from tamma.metrics._catalog import spec

__all__ = ["Buckets", "Labels", "Tally"]

Labels = tuple[str, ...]
UNKNOWN = "unknown"
_TOKEN_KINDS = ("input", "output", "cache_read", "cache_write")
"""The keys of a response's `usage`, less their `_tokens` suffix."""


@dataclass
class Buckets:
    """A histogram's observations: a count per upper bound (the last one +Inf) and their sum."""

    bounds: tuple[float, ...]
    counts: list[int] = field(init=False)
    sum: float = 0.0

    def __post_init__(self) -> None:
        self.counts = [0] * (len(self.bounds) + 1)

    def observe(self, value: float) -> None:
        self.counts[bisect.bisect_left(self.bounds, value)] += 1
        self.sum += value

    def cumulative(self) -> list[tuple[str, float]]:
        """`(le, count of observations <= le)` pairs, as Prometheus exposes them."""
        running, pairs = 0, []
        for bound, count in zip((*map(str, self.bounds), "+Inf"), self.counts, strict=True):
            running += count
            pairs.append((bound, float(running)))
        return pairs


class Tally:
    """Counter and histogram values by metric name and label values, folded from events."""

    def __init__(self) -> None:
        self.position = 0
        self.counters: dict[str, dict[Labels, float]] = defaultdict(lambda: defaultdict(float))
        self.histograms: dict[str, dict[Labels, Buckets]] = defaultdict(dict)

    def add(self, event: Event) -> None:
        """Fold one event (read in position order)."""
        self.count("tamma_events_total", (event.type,))
        handler = _HANDLERS.get(event.type)
        if handler is not None:
            handler(self, event)
        self.position = event.position

    def count(self, name: str, labels: Labels = (), amount: float = 1.0) -> None:
        self.counters[name][_checked(name, labels)] += amount

    def observe(self, name: str, labels: Labels, value: float) -> None:
        series = self.histograms[name]
        key = _checked(name, labels)
        if key not in series:
            series[key] = Buckets(spec(name).buckets)
        series[key].observe(value)


def _checked(name: str, labels: Labels) -> Labels:
    if len(labels) != len(spec(name).labels):
        raise ValueError(f"{name} takes labels {spec(name).labels}, got {labels}")
    return labels


def _label(data: Mapping[str, Any], key: str) -> str:
    value = data.get(key)
    return value if isinstance(value, str) and value else UNKNOWN


def _number(value: object) -> float | None:
    """A non-negative number from event data, else None (bools are not numbers here; the store
    keeps no NaN or infinity)."""
    if isinstance(value, bool) or not isinstance(value, int | float):
        return None
    return float(value) if value >= 0 else None


def _step_finished(tally: Tally, event: Event) -> None:
    data, step = event.data, _label(event.data, "step")
    duration = _number(data.get("duration_s"))
    if duration is not None:
        tally.observe("tamma_step_duration_seconds", (step,), duration)
    if data.get("ok") is False:
        tally.count("tamma_step_failures_total", (step, _label(data, "error")))


def _model_answer(tally: Tally, event: Event) -> None:
    data = event.data
    model = (_label(data, "provider"), _label(data, "model"))
    if data.get("reconciliation") is not True:  # Claude Code's correcting figure: usage, not a call
        tally.count("tamma_model_calls_total", model)
    usage = data.get("usage")
    for kind in _TOKEN_KINDS:
        tokens = _number(usage.get(f"{kind}_tokens")) if isinstance(usage, dict) else None
        if tokens:
            tally.count("tamma_model_tokens_total", (*model, kind), tokens)
    cost = _number(data.get("cost_usd"))
    if cost is not None:
        tally.count("tamma_model_cost_usd_total", model, cost)
    latency = _number(data.get("latency_s"))
    if latency is not None:
        tally.observe("tamma_model_latency_seconds", model, latency)


def _model_failure(tally: Tally, event: Event) -> None:
    data = event.data
    name = "tamma_model_retries_total" if data.get("retried") is True else "tamma_model_failures_total"
    tally.count(name, (_label(data, "provider"), _label(data, "error")))


def _counted(name: str, *keys: str) -> Callable[[Tally, Event], None]:
    """A handler that counts one `name` per event, labelled by the data's `keys`."""
    return lambda tally, event: tally.count(name, tuple(_label(event.data, key) for key in keys))


_HANDLERS: dict[str, Callable[[Tally, Event], None]] = {
    et.RUN_STARTED: _counted("tamma_runs_started_total"),
    et.RUN_COMPLETED: _counted("tamma_runs_total", "outcome"),
    et.RUN_FAILED: _counted("tamma_runs_failed_total", "step", "error"),
    et.RUN_RESUMED: _counted("tamma_runs_resumed_total"),
    et.STEP_FINISHED: _step_finished,
    et.ISSUE_CLAIM_LOST: _counted("tamma_claim_conflicts_total"),
    et.ISSUE_CLAIM_EXPIRED: _counted("tamma_claim_takeovers_total"),
    et.AI_RESPONSE_RECEIVED: _model_answer,
    et.AI_REQUEST_FAILED: _model_failure,
    et.CI_FIX_ATTEMPTED: _counted("tamma_ci_repairs_total"),
    et.ESCALATION_TRIGGERED: _counted("tamma_escalations_total"),
    et.BUDGET_EXCEEDED: _counted("tamma_budget_exceeded_total", "limit"),
}
