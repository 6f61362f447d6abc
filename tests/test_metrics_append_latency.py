"""`tamma_event_append_seconds`: each append the recorder and the claims make is timed by the
process that makes it (SQLite and PostgreSQL), and an endpoint adds up the appends of the
processes it started, as a worker's flow runs are, through prometheus_client's multiprocess
files: live ones read in place, exited ones folded into a total and deleted."""

from __future__ import annotations

import logging
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from prometheus_client import CollectorRegistry
from prometheus_client.parser import text_string_to_metric_families

from event_store import EventStore, EventStoreError
from tamma import event_types as et
from tamma.claims import take_claim
from tamma.cli._decisions import record_decision
from tamma.metrics import AppendLatencyCollector, MetricsServer, start_metrics_server
from tamma.metrics import _appends as appends
from tamma.providers import Message, RecordingProvider, Request, ScriptedProvider, scripted_text
from tamma.recorder import Recorder

ISSUE = "issue:local:shop#1"
CHILD = """
import sys
from prometheus_client import Counter
from event_store import EventStore
from tamma.recorder import Recorder

Counter("someone_elses", "A metric of another library in the same process.").inc()
with EventStore(sys.argv[1]) as store:
    recorder = Recorder(store, ["run:r-child"])
    for _ in range(int(sys.argv[2])):
        recorder.record("CI.FIX.ATTEMPTED", attempt=1)
print("recorded", flush=True)
sys.stdin.read()  # stays alive until its stdin closes
"""


def counts(registry: CollectorRegistry) -> tuple[float, float]:
    """Appends timed so far: (unconditional, conditional)."""
    return tuple(  # type: ignore[return-value]
        registry.get_sample_value("tamma_event_append_seconds_count", {"conditional": label}) or 0.0
        for label in ("false", "true")
    )


@pytest.fixture
def registry() -> CollectorRegistry:
    """This process's appends, as an endpoint without children serves them."""
    registry = CollectorRegistry()
    registry.register(AppendLatencyCollector())
    return registry


def test_each_append_of_the_recorder_and_the_claims_is_timed(
    store: EventStore, registry: CollectorRegistry
) -> None:
    plain, conditional = counts(registry)
    recorder = Recorder(store, ["run:r-1", ISSUE])
    for attempt in range(3):
        recorder.record(et.CI_FIX_ATTEMPTED, attempt=attempt)
    assert counts(registry) == (plain + 3, conditional)
    claimed = take_claim(store, ISSUE, run_id="r-1", claimant="flow-1", worker="w", tags=["run:r-1", ISSUE])
    assert claimed.how == "claimed"
    assert counts(registry) == (plain + 3, conditional + 1)
    lost = take_claim(store, ISSUE, run_id="r-2", claimant="flow-2", worker="w", tags=["run:r-2", ISSUE])
    assert lost.how == "lost"
    assert counts(registry) == (plain + 4, conditional + 1)  # its ISSUE.CLAIM_LOST
    false = {"conditional": "false"}
    assert (
        registry.get_sample_value("tamma_event_append_seconds_bucket", {**false, "le": "+Inf"}) == plain + 4
    )
    assert (registry.get_sample_value("tamma_event_append_seconds_sum", false) or 0.0) > 0.0


def test_model_calls_and_human_decisions_are_timed_too(
    store: EventStore, registry: CollectorRegistry
) -> None:
    plain, conditional = counts(registry)
    model = RecordingProvider(ScriptedProvider([scripted_text("Done.")]), store, ["run:r-1", ISSUE])
    model.complete(Request(system="You fix bugs.", messages=(Message.user("Fix it."),)))
    assert counts(registry) == (plain + 2, conditional)  # AI.REQUEST.STARTED, AI.RESPONSE.RECEIVED

    recorder = Recorder(store, ["run:r-1", ISSUE])
    recorder.record(et.RUN_STARTED, issue="local:shop#1")
    recorder.record(et.APPROVAL_REQUESTED, subject="plan", flow_run_id="flow-1")
    record_decision(store, "r-1", {"decision": "approve"})
    assert counts(registry) == (plain + 4, conditional + 1)


def test_an_append_the_store_never_answered_is_not_timed(tmp_path: Path, registry: CollectorRegistry) -> None:
    path = tmp_path / "events.db"
    store = EventStore(f"sqlite:///{path}")
    recorder = Recorder(store, ["run:r-1"])
    recorder.record(et.CI_FIX_ATTEMPTED, attempt=1)
    store.close()
    path.unlink()
    path.mkdir()  # the database file is gone and cannot be created again
    before = counts(registry)
    with pytest.raises(EventStoreError):
        recorder.record(et.CI_FIX_ATTEMPTED, attempt=2)
    assert counts(registry) == before


def test_a_latency_that_cannot_be_written_never_fails_the_append(
    store: EventStore, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    def gone() -> None:
        raise FileNotFoundError("the worker's metrics directory is gone")

    monkeypatch.setattr(appends, "_process_histogram", gone)
    monkeypatch.setattr(appends, "_warned", False)
    recorder = Recorder(store, ["run:r-1"])
    with caplog.at_level(logging.WARNING, logger="tamma.metrics._appends"):
        assert recorder.record(et.CI_FIX_ATTEMPTED, attempt=1) == 1
        assert recorder.record(et.CI_FIX_ATTEMPTED, attempt=2) == 2
    assert [r.getMessage() for r in caplog.records] == ["metrics: cannot record the latency of an append"]


def scrape(url: str) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    response = httpx.get(url, timeout=10)
    response.raise_for_status()
    return {
        (sample.name, tuple(sorted(sample.labels.items()))): sample.value
        for family in text_string_to_metric_families(response.text)
        for sample in family.samples
    }


def timed(url: str) -> float:
    return scrape(url)[("tamma_event_append_seconds_count", (("conditional", "false"),))]


def child(url: str, count: int, env: dict[str, str]) -> subprocess.Popen[str]:
    """A process like a worker's flow run: started with `env`, it records `count` events."""
    environment = {k: v for k, v in os.environ.items() if k != appends.MULTIPROCESS_DIR_ENV} | env
    process = subprocess.Popen(
        [sys.executable, "-c", CHILD, url, str(count)],
        env=environment,
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )
    assert process.stdout is not None
    assert process.stdout.readline() == "recorded\n"
    return process


def stop(process: subprocess.Popen[str]) -> None:
    process.communicate(timeout=30)
    assert process.returncode == 0


@pytest.fixture
def worker_endpoint(tmp_path: Path) -> Iterator[tuple[MetricsServer, str]]:
    """An endpoint as `tamma worker --metrics-port` starts it, and its store's URL."""
    url = f"sqlite:///{tmp_path / 'events.db'}"
    server = start_metrics_server(url, 0, children=True)
    try:
        yield server, url
    finally:
        server.close()


def test_the_endpoint_adds_up_the_appends_of_the_processes_it_started(
    worker_endpoint: tuple[MetricsServer, str],
) -> None:
    server, url = worker_endpoint
    assert server.children_dir is not None
    assert server.child_env == {appends.MULTIPROCESS_DIR_ENV: str(server.children_dir)}
    before = timed(server.url)
    done, running = child(url, 5, server.child_env), child(url, 3, server.child_env)
    stop(done)
    samples = scrape(server.url)
    assert samples[("tamma_event_append_seconds_count", (("conditional", "false"),))] == before + 8
    assert ("tamma_event_append_seconds_count", (("conditional", "true"),)) in samples  # zero, but there
    assert not [name for name, _ in samples if name.startswith("someone_elses")]
    files = {path.name for path in server.children_dir.glob("*.db")}
    assert f"histogram_{running.pid}.db" in files  # read in place while its process lives
    assert not [name for name in files if name.endswith(f"_{done.pid}.db")]  # folded, then deleted
    stop(running)
    assert timed(server.url) == before + 8  # nothing lost or counted twice when it is folded
    assert list(server.children_dir.glob("*.db")) == []
    assert timed(server.url) == before + 8
    server.close()
    assert not server.children_dir.exists()


def test_a_directory_set_for_every_process_is_read_and_left_alone(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    shared = tmp_path / "prometheus"
    shared.mkdir()
    monkeypatch.setenv(appends.MULTIPROCESS_DIR_ENV, str(shared))
    url = f"sqlite:///{tmp_path / 'events.db'}"
    server = start_metrics_server(url, 0)
    try:
        assert server.child_env == {}
        before = timed(server.url)
        stop(child(url, 2, {appends.MULTIPROCESS_DIR_ENV: str(shared)}))
        assert timed(server.url) == before + 2
        assert timed(server.url) == before + 2
        assert [path.name for path in shared.glob("histogram_*.db")]  # someone else's to clean
    finally:
        server.close()
    assert shared.exists()
