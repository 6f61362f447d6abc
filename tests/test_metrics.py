"""Metrics folded from the event store (SQLite and PostgreSQL): each counter from the events
behind it, scrapes that read only new events, claim races, odd data, an unreadable store, the
HTTP endpoint, `tamma metrics` as a real process, and the Grafana dashboard's queries."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from prometheus_client import CollectorRegistry
from prometheus_client.parser import text_string_to_metric_families

from event_store import Event, EventStore, NewEvent, Query
from tamma import event_types as et
from tamma.claims import take_claim
from tamma.metrics import CATALOG, StoreCollector, start_metrics_server
from tests.metrics_command import tamma_metrics

ROOT = Path(__file__).resolve().parents[1]
DASHBOARD = ROOT / "deployments" / "grafana" / "tamma-dashboard.json"
ISSUE = "issue:local:shop#1"


def event(kind: str, run: str = "r-1", **data: Any) -> NewEvent:
    return NewEvent(kind, {"v": 1, **data}, tags=[f"run:{run}", ISSUE])


def answer(model: str, *, cost: float, tokens: tuple[int, int, int, int], latency: float) -> NewEvent:
    usage = dict(
        zip(("input_tokens", "output_tokens", "cache_read_tokens", "cache_write_tokens"), tokens, strict=True)
    )
    return event(
        et.AI_RESPONSE_RECEIVED,
        provider="anthropic",
        model=model,
        usage=usage,
        cost_usd=cost,
        latency_s=latency,
    )


def claim_step(store: EventStore, run: str, claimant: str, *, ok: bool = True) -> str:
    """One attempt of the claim step as `tasks.claim` records it, bracketed by STEP events; `ok`
    False: the attempt failed after `take_claim` (e.g. recording RUN.STARTED)."""
    store.append(event(et.STEP_STARTED, run, step="claim"))
    how = take_claim(store, ISSUE, run_id=run, claimant=claimant, worker="w", tags=[f"run:{run}", ISSUE]).how
    failed = {} if ok else {"error": "EventStoreUnavailable"}
    store.append(event(et.STEP_FINISHED, run, step="claim", ok=ok, duration_s=0.01, **failed))
    return how


@pytest.fixture
def registry(store: EventStore) -> CollectorRegistry:
    """A registry holding only the store's collector: each `get_sample_value` is a scrape."""
    registry = CollectorRegistry()
    registry.register(StoreCollector(store))
    return registry


def value(registry: CollectorRegistry, name: str, **labels: str) -> float | None:
    return registry.get_sample_value(name, labels)


def test_counters_and_histograms_fold_the_events(store: EventStore, registry: CollectorRegistry) -> None:
    store.append(
        [
            event(et.RUN_STARTED),
            event(et.STEP_FINISHED, step="plan", ok=True, duration_s=0.3),
            event(et.STEP_FINISHED, step="plan", ok=False, duration_s=40.0, error="ProviderOverloaded"),
            answer("opus", cost=0.25, tokens=(100, 20, 300, 0), latency=2.0),
            answer("opus", cost=0.5, tokens=(50, 10, 0, 5), latency=7.0),
            answer("haiku", cost=0.01, tokens=(10, 1, 0, 0), latency=0.2),
            event(  # Claude Code's correction of a session's usage: tokens and cost, no call
                et.AI_RESPONSE_RECEIVED,
                provider="claude-code",
                model="sonnet",
                usage={"output_tokens": 7},
                cost_usd=0.02,
                reconciliation=True,
            ),
            event(et.AI_REQUEST_FAILED, provider="anthropic", error="ProviderOverloaded", retried=True),
            event(et.AI_REQUEST_FAILED, provider="anthropic", error="ProviderOverloaded", retried=True),
            event(et.AI_REQUEST_FAILED, provider="anthropic", error="ProviderAuthError", retried=False),
            event(et.CI_FIX_ATTEMPTED, attempt=1),
            event(et.CI_FIX_ATTEMPTED, attempt=2),
            event(et.BUDGET_EXCEEDED, limit="cost_usd"),
            event(et.ESCALATION_TRIGGERED, reason="CI stayed red"),
            event(et.RUN_COMPLETED, outcome="escalated"),
            event(et.RUN_FAILED, "r-2", step="implement", error="TimeoutError"),
            event(et.RUN_RESUMED, "r-2"),
            event(et.RUN_COMPLETED, "r-2", outcome="awaiting-merge"),
        ]
    )
    opus = {"provider": "anthropic", "model": "opus"}
    assert value(registry, "tamma_runs_started_total") == 1
    assert value(registry, "tamma_runs_total", outcome="escalated") == 1
    assert value(registry, "tamma_runs_total", outcome="awaiting-merge") == 1
    assert value(registry, "tamma_runs_failed_total", step="implement", error="TimeoutError") == 1
    assert value(registry, "tamma_runs_resumed_total") == 1
    assert value(registry, "tamma_step_duration_seconds_count", step="plan") == 2
    assert value(registry, "tamma_step_duration_seconds_sum", step="plan") == pytest.approx(40.3)
    assert value(registry, "tamma_step_duration_seconds_bucket", step="plan", le="0.5") == 1
    assert value(registry, "tamma_step_duration_seconds_bucket", step="plan", le="60.0") == 2
    assert value(registry, "tamma_step_failures_total", step="plan", error="ProviderOverloaded") == 1
    assert value(registry, "tamma_model_calls_total", **opus) == 2
    assert value(registry, "tamma_model_cost_usd_total", **opus) == pytest.approx(0.75)
    assert value(registry, "tamma_model_tokens_total", kind="input", **opus) == 150
    assert value(registry, "tamma_model_tokens_total", kind="cache_read", **opus) == 300
    assert value(registry, "tamma_model_tokens_total", kind="cache_write", **opus) == 5
    assert value(registry, "tamma_model_latency_seconds_bucket", le="5.0", **opus) == 1
    assert value(registry, "tamma_model_latency_seconds_count", **opus) == 2
    assert value(registry, "tamma_model_calls_total", provider="anthropic", model="haiku") == 1
    sonnet = {"provider": "claude-code", "model": "sonnet"}
    assert value(registry, "tamma_model_calls_total", **sonnet) is None
    assert value(registry, "tamma_model_tokens_total", kind="output", **sonnet) == 7
    assert value(registry, "tamma_model_cost_usd_total", **sonnet) == pytest.approx(0.02)
    overloaded = {"provider": "anthropic", "error": "ProviderOverloaded"}
    assert value(registry, "tamma_model_retries_total", **overloaded) == 2
    assert value(registry, "tamma_model_failures_total", provider="anthropic", error="ProviderAuthError") == 1
    assert value(registry, "tamma_model_failures_total", **overloaded) is None
    assert value(registry, "tamma_ci_repairs_total") == 2
    assert value(registry, "tamma_escalations_total") == 1
    assert value(registry, "tamma_budget_exceeded_total", limit="cost_usd") == 1
    assert value(registry, "tamma_events_total", type=et.AI_RESPONSE_RECEIVED) == 4
    assert value(registry, "tamma_event_store_head") == store.head()
    assert value(registry, "tamma_event_store_up") == 1


def test_an_empty_store_shows_its_unlabelled_counters_at_zero(registry: CollectorRegistry) -> None:
    unlabelled = [m.name for m in CATALOG if m.kind == "counter" and not m.labels]
    assert unlabelled
    assert {name: value(registry, name) for name in unlabelled} == dict.fromkeys(unlabelled, 0.0)
    assert value(registry, "tamma_runs_total", outcome="merged") is None


def test_each_scrape_reads_only_the_events_after_the_last_one_folded(
    store: EventStore, monkeypatch: pytest.MonkeyPatch
) -> None:
    reads: list[int | None] = []
    read = store.read

    def noted(query: Query | None = None, **bounds: Any) -> Iterator[Event]:
        reads.append(bounds.get("after"))
        return read(query, **bounds)

    monkeypatch.setattr(store, "read", noted)
    registry = CollectorRegistry()
    registry.register(StoreCollector(store))

    store.append([event(et.CI_FIX_ATTEMPTED), event(et.RUN_COMPLETED, outcome="merged")])
    assert value(registry, "tamma_ci_repairs_total") == 1
    first = store.head()
    store.append([event(et.CI_FIX_ATTEMPTED, "r-2"), event(et.CI_FIX_ATTEMPTED, "r-2")])
    assert value(registry, "tamma_ci_repairs_total") == 3
    assert value(registry, "tamma_runs_total", outcome="merged") == 1  # nothing folded twice
    assert reads == [0, first, store.head()]
    assert value(registry, "tamma_event_store_read_seconds_count") == 4  # this scrape's too


def test_claim_conflicts_count_the_claims_lost_to_a_holder(
    store: EventStore, registry: CollectorRegistry
) -> None:
    assert claim_step(store, "r-1", "flow-a", ok=False) == "claimed"
    assert claim_step(store, "r-1", "flow-a") == "held"  # the step retried: its own claim
    assert claim_step(store, "r-1", "flow-a") == "held"  # Prefect retried the flow run, its claim alive
    assert value(registry, "tamma_claim_conflicts_total") == 0
    assert claim_step(store, "r-2", "flow-b") == "lost"  # a second run of a held issue
    assert value(registry, "tamma_claim_conflicts_total") == 1
    store.append(event(et.RUN_FAILED, "r-1", step="implement", error="TimeoutError"))
    assert claim_step(store, "r-1", "flow-c") == "took-over"  # a new process continues the failed run
    assert value(registry, "tamma_claim_takeovers_total") == 1
    store.append(event(et.RUN_FAILED, "r-1", step="implement", error="TimeoutError"))
    assert claim_step(store, "r-1", "flow-d") == "took-over"
    assert claim_step(store, "r-1", "flow-e") == "lost"  # two processes continuing one run
    assert value(registry, "tamma_claim_conflicts_total") == 2
    assert value(registry, "tamma_claim_takeovers_total") == 2
    lost = [e for e in store.read() if e.type == et.ISSUE_CLAIM_LOST]
    assert [e.data["run_id"] for e in lost] == ["r-2", "r-1"]  # the count is these events


def test_claim_conflicts_count_only_claim_lost_events(store: EventStore, registry: CollectorRegistry) -> None:
    """Older stores hold no ISSUE.CLAIM_LOST: a claim step without a claim is not guessed at."""
    store.append([event(et.STEP_STARTED, step="claim"), event(et.STEP_FINISHED, step="claim", ok=True)])
    assert value(registry, "tamma_claim_conflicts_total") == 0
    store.append(event(et.ISSUE_CLAIM_LOST, "r-2", run_id="r-2", holder_run_id="r-1", reason="race"))
    assert value(registry, "tamma_claim_conflicts_total") == 1


def test_data_of_the_wrong_shape_is_left_out_not_fatal(
    store: EventStore, registry: CollectorRegistry
) -> None:
    store.append(
        [
            event(et.RUN_COMPLETED),
            event(et.STEP_FINISHED, step="plan", ok=True, duration_s="slow"),
            event(et.STEP_FINISHED, step=None, ok=True, duration_s=-1.0),
            event(et.AI_RESPONSE_RECEIVED, provider="scripted", usage="lots", cost_usd=None, latency_s=True),
            event(et.AI_RESPONSE_RECEIVED, provider="scripted", model="m", usage={"input_tokens": -5}),
        ]
    )
    assert value(registry, "tamma_runs_total", outcome="unknown") == 1
    assert value(registry, "tamma_step_duration_seconds_count", step="plan") is None
    assert value(registry, "tamma_step_duration_seconds_count", step="unknown") is None
    assert value(registry, "tamma_model_calls_total", provider="scripted", model="unknown") == 1
    assert value(registry, "tamma_model_cost_usd_total", provider="scripted", model="unknown") is None
    assert value(registry, "tamma_model_tokens_total", provider="scripted", model="m", kind="input") is None
    assert value(registry, "tamma_event_store_head") == 5


def test_an_unreadable_store_keeps_the_last_values_and_says_so(tmp_path: Path) -> None:
    path = tmp_path / "events.db"
    store = EventStore(f"sqlite:///{path}")
    registry = CollectorRegistry()
    registry.register(StoreCollector(store))
    store.append(event(et.ESCALATION_TRIGGERED, reason="stuck"))
    assert value(registry, "tamma_escalations_total") == 1
    store.close()
    path.unlink()
    path.mkdir()  # the database file is gone and cannot be created again
    assert value(registry, "tamma_event_store_up") == 0
    assert value(registry, "tamma_escalations_total") == 1


@pytest.fixture
def served(store_url: str) -> Iterator[tuple[EventStore, str]]:
    """The metrics endpoint on a free port, and a store to append to."""
    server = start_metrics_server(store_url, 0)
    try:
        with EventStore(store_url) as store:
            yield store, server.url
    finally:
        server.close()


def scrape(url: str) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    """Every sample of the endpoint by name and labels, parsed as Prometheus does."""
    response = httpx.get(url, timeout=10)
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/plain")
    return {
        (sample.name, tuple(sorted(sample.labels.items()))): sample.value
        for family in text_string_to_metric_families(response.text)
        for sample in family.samples
    }


def test_the_endpoint_serves_the_fold_over_http(served: tuple[EventStore, str]) -> None:
    store, url = served
    store.append([event(et.RUN_STARTED), event(et.RUN_COMPLETED, outcome="merged")])
    samples = scrape(url)
    assert samples[("tamma_runs_total", (("outcome", "merged"),))] == 1
    assert samples[("tamma_runs_started_total", ())] == 1
    assert samples[("tamma_event_store_head", ())] == 2
    assert {name for name, _ in samples if name.startswith(("python_", "process_"))} == set()
    store.append(event(et.RUN_STARTED, "r-2"))
    assert scrape(url)[("tamma_runs_started_total", ())] == 2


def test_tamma_metrics_serves_until_stopped(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'events.db'}"
    with EventStore(url) as store:
        store.append([event(et.CI_FIX_ATTEMPTED), event(et.CI_FIX_ATTEMPTED)])
    with tamma_metrics(tmp_path, "--port", "0") as served:
        assert scrape(served.url)[("tamma_ci_repairs_total", ())] == 2
    assert served.returncode == 130, served.stderr
    assert served.stderr.strip().splitlines()[-1] == "tamma: stopped by SIGINT"


def test_the_dashboard_plots_only_exported_metrics() -> None:
    dashboard = json.loads(DASHBOARD.read_text())
    assert [v["type"] for v in dashboard["templating"]["list"]] == ["datasource"]
    assert dashboard["templating"]["list"][0]["query"] == "prometheus"
    panels = [panel for panel in dashboard["panels"] if panel["type"] != "row"]
    exported = {m.name for m in CATALOG if m.kind != "histogram"} | {
        f"{m.name}{suffix}"
        for m in CATALOG
        if m.kind == "histogram"
        for suffix in ("_bucket", "_sum", "_count")
    }
    used: set[str] = set()
    for panel in panels:
        assert panel["datasource"] == {"type": "prometheus", "uid": "${datasource}"}, panel["title"]
        assert panel["targets"], panel["title"]
        for target in panel["targets"]:
            names = set(re.findall(r"\btamma_\w+", target["expr"]))
            assert names, target["expr"]
            assert names <= exported, (panel["title"], names - exported)
            used |= names
    ids = [panel["id"] for panel in dashboard["panels"]]
    assert len(ids) == len(set(ids))
    asked_for = {
        "tamma_runs_total",
        "tamma_step_duration_seconds_bucket",
        "tamma_model_cost_usd_total",
        "tamma_model_tokens_total",
        "tamma_model_retries_total",
        "tamma_escalations_total",
        "tamma_ci_repairs_total",
        "tamma_claim_conflicts_total",
        "tamma_event_append_seconds_bucket",
    }
    assert asked_for <= used
