"""Flow tests run against a real Prefect server: one ephemeral server for the whole session."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass
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


BIN = Path(sys.executable).parent


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@pytest.fixture
def prefect_api(tmp_path: Path) -> Iterator[str]:
    """`prefect server start` on its own SQLite database, as `tamma serve` runs it."""
    port = free_port()
    api = f"http://127.0.0.1:{port}/api"
    env = {k: v for k, v in os.environ.items() if not k.startswith("PREFECT_")}
    env |= {"PREFECT_HOME": str(tmp_path / "prefect-server"), "PREFECT_SERVER_ANALYTICS_ENABLED": "false"}
    server = subprocess.Popen(
        [str(BIN / "prefect"), "server", "start", "--host", "127.0.0.1", "--port", str(port)],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        deadline = time.monotonic() + 120
        while True:
            try:
                with urllib.request.urlopen(f"{api}/health", timeout=2):
                    break
            except OSError:
                assert server.poll() is None, "prefect server exited"
                assert time.monotonic() < deadline, "prefect server did not start"
                time.sleep(0.5)
        yield api
    finally:
        server.terminate()
        server.wait(timeout=30)


@dataclass(frozen=True)
class PoolShell:
    """Commands run as on a machine of the pool: against the test's own Prefect server, in the
    test's TAMMA_HOME, with the sweep's repository set; a failed command fails the test."""

    env: dict[str, str]
    cwd: Path

    def run(self, *args: str) -> subprocess.CompletedProcess[str]:
        done = subprocess.run(
            list(args), capture_output=True, text=True, env=self.env, timeout=300, cwd=self.cwd
        )
        assert done.returncode == 0, f"{args}: {done.stdout[-2000:]}\n{done.stderr[-2000:]}"
        return done


@pytest.fixture
def pool_shell(home: Path, prefect_api: str) -> PoolShell:
    env = {k: v for k, v in os.environ.items() if not k.startswith("PREFECT_")}
    env |= {
        "PREFECT_API_URL": prefect_api,
        "PREFECT_SERVER_ANALYTICS_ENABLED": "false",
        "TAMMA_SWEEP_REPO": "local:shop",
    }
    return PoolShell(env, home)
