"""Every metric Tamma exports, declared once: its name, kind, labels and meaning.

The fold (`_tally`), the collector, docs/metrics.md and the Grafana dashboard's test all read
these names from here, so a panel can never plot a series nobody exports.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

__all__ = ["APPEND_BUCKETS_S", "CATALOG", "DURATION_BUCKETS_S", "LATENCY_BUCKETS_S", "MetricSpec", "spec"]

MetricKind = Literal["counter", "gauge", "histogram"]

DURATION_BUCKETS_S = (0.1, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0, 120.0, 300.0, 600.0, 1800.0, 3600.0, 14400.0)
"""Steps last from a claim (milliseconds) to CI watches and human waits (hours)."""
LATENCY_BUCKETS_S = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0, 120.0)
"""Model calls take seconds to minutes; store reads take milliseconds."""
APPEND_BUCKETS_S = (0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0)
"""An append takes about a millisecond on a quiet store; the architecture's bound is p95 < 10 ms;
past a second it waits on a lock (SQLite's writer, PostgreSQL's table lock) or a slow disk."""


@dataclass(frozen=True)
class MetricSpec:
    """One exported metric family. Counter names end in `_total`, as Prometheus expects."""

    name: str
    kind: MetricKind
    help: str
    labels: tuple[str, ...] = ()
    buckets: tuple[float, ...] = ()
    folded: bool = True
    """False for what the event stream cannot tell: measured in the processes that append
    (`_appends`), not folded from the store by `StoreCollector`."""


CATALOG: tuple[MetricSpec, ...] = (
    MetricSpec("tamma_events_total", "counter", "Events in the store, by type.", ("type",)),
    MetricSpec("tamma_runs_started_total", "counter", "Runs started (RUN.STARTED)."),
    MetricSpec("tamma_runs_total", "counter", "Runs ended, by outcome (RUN.COMPLETED).", ("outcome",)),
    MetricSpec(
        "tamma_runs_failed_total",
        "counter",
        "Run failures, by the step last started and the error type (RUN.FAILED); a failed run can be continued.",
        ("step", "error"),
    ),
    MetricSpec("tamma_runs_resumed_total", "counter", "Runs continued by a new process (RUN.RESUMED)."),
    MetricSpec(
        "tamma_step_duration_seconds",
        "histogram",
        "Duration of each attempt of a flow step (STEP.FINISHED duration_s).",
        ("step",),
        DURATION_BUCKETS_S,
    ),
    MetricSpec(
        "tamma_step_failures_total",
        "counter",
        "Step attempts that raised, by step and error type (STEP.FINISHED ok=false); transient ones are retried.",
        ("step", "error"),
    ),
    MetricSpec(
        "tamma_model_calls_total",
        "counter",
        "Model answers received (AI.RESPONSE.RECEIVED).",
        ("provider", "model"),
    ),
    MetricSpec(
        "tamma_model_tokens_total",
        "counter",
        "Tokens of model calls, by kind: input, output, cache_read, cache_write.",
        ("provider", "model", "kind"),
    ),
    MetricSpec(
        "tamma_model_cost_usd_total",
        "counter",
        "Dollars spent on model calls (cost_usd).",
        ("provider", "model"),
    ),
    MetricSpec(
        "tamma_model_latency_seconds",
        "histogram",
        "Time from a model request to its answer (latency_s).",
        ("provider", "model"),
        LATENCY_BUCKETS_S,
    ),
    MetricSpec(
        "tamma_model_retries_total",
        "counter",
        "Model call attempts that failed and were asked again (AI.REQUEST.FAILED retried=true).",
        ("provider", "error"),
    ),
    MetricSpec(
        "tamma_model_failures_total",
        "counter",
        "Model calls that failed after their retries (AI.REQUEST.FAILED).",
        ("provider", "error"),
    ),
    MetricSpec("tamma_ci_repairs_total", "counter", "CI repairs attempted (CI.FIX.ATTEMPTED)."),
    MetricSpec("tamma_escalations_total", "counter", "Runs handed to a human (ESCALATION.TRIGGERED)."),
    MetricSpec(
        "tamma_budget_exceeded_total",
        "counter",
        "Agent budget stops, by the limit reached (BUDGET.EXCEEDED).",
        ("limit",),
    ),
    MetricSpec(
        "tamma_claim_conflicts_total",
        "counter",
        "Claim attempts lost to a run holding the issue, or to a claim made at the same moment (ISSUE.CLAIM_LOST).",
    ),
    MetricSpec(
        "tamma_claim_takeovers_total",
        "counter",
        "Claims taken over from a failed or silent run (ISSUE.CLAIM_EXPIRED).",
    ),
    MetricSpec("tamma_event_store_head", "gauge", "Position of the last event this endpoint folded."),
    MetricSpec("tamma_event_store_up", "gauge", "1 if the last scrape could read the event store, else 0."),
    MetricSpec(
        "tamma_event_store_read_seconds",
        "histogram",
        "Time this endpoint took to read and fold the new events at each scrape.",
        (),
        LATENCY_BUCKETS_S,
    ),
    MetricSpec(
        "tamma_event_append_seconds",
        "histogram",
        "Time each append to the event store took, measured by the process that appended; "
        "conditional=true: appended under a condition (a claim), including those the condition refused.",
        ("conditional",),
        APPEND_BUCKETS_S,
        folded=False,
    ),
)

_BY_NAME = {metric.name: metric for metric in CATALOG}


def spec(name: str) -> MetricSpec:
    """The declared metric `name`; a KeyError names a metric nobody declared (a bug)."""
    return _BY_NAME[name]
