"""The metrics endpoint over a real demo run: scraped before, after the run, and after a second
run of the same issue loses its claim; every counter checked against the events themselves, and
the appends the runs made (in this process) timed."""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from prometheus_client.parser import text_string_to_metric_families

from event_store import Event, EventStore
from flows.resolve_issue import resolve_in_process
from tamma import event_types as et
from tamma.demo.scenario import DemoWorld
from tamma.metrics import MetricsServer, start_metrics_server

Samples = dict[tuple[str, frozenset[tuple[str, str]]], float]


COST_USD = 0.002


def priced(script: Path) -> None:
    """Give every scripted answer usage and a price (the demo's are free), so the token and
    cost counters have something to count."""
    saved = json.loads(script.read_text())
    for turns in saved["conversations"].values():
        for response in turns:
            response["usage"] = {"input_tokens": 1000, "output_tokens": 100, "cache_read_tokens": 50}
            response["cost_usd"] = COST_USD
    script.write_text(json.dumps(saved))


@pytest.fixture
def endpoint(home: Path) -> Iterator[MetricsServer]:
    server = start_metrics_server(f"sqlite:///{home / 'events.db'}", 0)
    try:
        yield server
    finally:
        server.close()


def scrape(server: MetricsServer) -> Samples:
    response = httpx.get(server.url, timeout=10)
    response.raise_for_status()
    return {
        (sample.name, frozenset(sample.labels.items())): sample.value
        for family in text_string_to_metric_families(response.text)
        for sample in family.samples
    }


def sample(samples: Samples, name: str, **labels: str) -> float | None:
    return samples.get((name, frozenset(labels.items())))


def counted(samples: Samples, event_type: str) -> float:
    return sample(samples, "tamma_events_total", type=event_type) or 0.0


def appends(samples: Samples, conditional: str) -> float:
    """Appends this process timed so far (the runs below run in it)."""
    return sample(samples, "tamma_event_append_seconds_count", conditional=conditional) or 0.0


def stored(home: Path) -> list[Event]:
    with EventStore(f"sqlite:///{home / 'events.db'}") as store:
        return list(store.read())


def test_a_scrape_after_the_demo_run_counts_what_the_store_holds(
    world: DemoWorld, home: Path, endpoint: MetricsServer
) -> None:
    before = scrape(endpoint)
    assert sample(before, "tamma_runs_started_total") == 0
    assert sample(before, "tamma_event_store_head") == 0

    priced(world.script)
    result = resolve_in_process(world.issue_ref, auto_approve=True, script=str(world.script), ci_poll_s=0.1)
    assert result["outcome"] == "awaiting-merge", result
    after, events = scrape(endpoint), stored(home)
    answers = [e for e in events if e.type == et.AI_RESPONSE_RECEIVED]
    [name] = {e.data["model"] for e in answers}
    model = {"provider": "scripted", "model": name}
    assert sample(after, "tamma_model_calls_total", **model) == len(answers)
    assert sample(after, "tamma_model_cost_usd_total", **model) == pytest.approx(COST_USD * len(answers))
    for kind in ("input", "output", "cache_read", "cache_write"):
        tokens = sum(e.data["usage"][f"{kind}_tokens"] for e in answers)
        assert (sample(after, "tamma_model_tokens_total", kind=kind, **model) or 0) == tokens, kind
    assert sample(after, "tamma_model_tokens_total", kind="output", **model) == 100 * len(answers)
    assert sample(after, "tamma_runs_total", outcome="awaiting-merge") == 1
    assert sample(after, "tamma_runs_started_total") == 1
    assert sample(after, "tamma_ci_repairs_total") == 1  # the demo's CI fails once
    assert sample(after, "tamma_escalations_total") == 0
    assert sample(after, "tamma_claim_conflicts_total") == 0
    steps = Counter(e.data["step"] for e in events if e.type == et.STEP_FINISHED)
    assert {"claim", "plan", "implement", "watch-ci", "fix-ci"} <= set(steps)
    for step, attempts in steps.items():
        assert sample(after, "tamma_step_duration_seconds_count", step=step) == attempts
    assert sample(after, "tamma_event_store_head") == events[-1].position
    assert appends(after, "true") == appends(before, "true") + 1  # the claim, under its condition
    timed = appends(after, "false") - appends(before, "false")
    assert 0 < timed <= len(events) - 1  # one event per append, the model calls' appends not timed

    second = resolve_in_process(world.issue_ref, auto_approve=True, script=str(world.script), ci_poll_s=0.1)
    assert second["outcome"] == "already-claimed", second
    again, now = scrape(endpoint), stored(home)
    new = Counter(e.type for e in now[len(events) :])
    assert new == {et.STEP_STARTED: 1, et.ISSUE_CLAIM_LOST: 1, et.STEP_FINISHED: 1}  # the lost claim step
    [lost] = [e for e in now[len(events) :] if e.type == et.ISSUE_CLAIM_LOST]
    assert lost.data["holder_run_id"] == result["run_id"]
    assert lost.data["reason"] == "held"
    assert sample(again, "tamma_claim_conflicts_total") == 1
    assert appends(again, "false") == appends(after, "false") + 3  # each of the three, timed
    assert appends(again, "true") == appends(after, "true")  # a held issue: no claim attempted
    for kind, count in new.items():
        assert counted(again, kind) == counted(after, kind) + count
    assert sample(again, "tamma_runs_total", outcome="awaiting-merge") == 1
    assert sample(again, "tamma_runs_started_total") == 1
    assert sample(again, "tamma_step_duration_seconds_count", step="claim") == steps["claim"] + 1
    assert sample(again, "tamma_event_store_head") == now[-1].position
