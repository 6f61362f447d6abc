"""Flow tests run against a real Prefect server: one ephemeral server for the whole session."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest
from prefect.testing.utilities import prefect_test_harness

from tamma.demo.scenario import DemoWorld, agent_settings, build_world, sandbox_settings


@pytest.fixture(scope="session", autouse=True)
def prefect_server() -> Iterator[None]:
    """Prefect's test harness: a subprocess API server on a temporary SQLite database, with no
    telemetry (there is no network) and no flow heartbeats (they slow every run down)."""
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("PREFECT_SERVER_ANALYTICS_ENABLED", "false")
        patch.delenv("PREFECT_FLOWS_HEARTBEAT_FREQUENCY", raising=False)
        with prefect_test_harness(server_startup_timeout=90):
            yield


def demo_home(root: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """`root/home` as TAMMA_HOME with its own event store, and the demo's agent commands and
    sandbox; the working directory is `root`."""
    home = root / "home"
    home.mkdir()
    monkeypatch.chdir(root)
    monkeypatch.setenv("TAMMA_HOME", str(home))
    monkeypatch.setenv("TAMMA_DATABASE_URL", f"sqlite:///{home / 'events.db'}")
    monkeypatch.setenv("TAMMA_AGENT", json.dumps(agent_settings()))
    monkeypatch.setenv("TAMMA_SANDBOX", json.dumps(sandbox_settings()))
    return home


@pytest.fixture
def home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    return demo_home(tmp_path, monkeypatch)


@pytest.fixture
def world(home: Path) -> DemoWorld:
    return build_world(home, ci_failure=True)
