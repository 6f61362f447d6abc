"""Flow tests run against a real Prefect server: one ephemeral server for the whole session."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tamma.demo.scenario import DemoWorld, agent_settings, build_world, sandbox_settings


@pytest.fixture(scope="session", autouse=True)
def _flows_need_prefect(prefect_server: None) -> None:
    """Every flow test talks to the session's Prefect server (`tests.prefect_fixtures`)."""


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
