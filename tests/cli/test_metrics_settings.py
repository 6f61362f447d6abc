"""`metrics:` in the settings: the endpoint's port and address from the config file, validated,
with `--port`/`--metrics-port` > TAMMA_METRICS_PORT > the file > the default."""

from __future__ import annotations

import re
import socket
from pathlib import Path

import httpx
import pytest

from tamma.cli.metrics import serving_metrics
from tamma.config import load_settings
from tamma.errors import ConfigError
from tests.metrics_command import tamma_metrics


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def configure(directory: Path, port: int) -> None:
    (directory / "tamma.yaml").write_text(f"metrics:\n  port: {port}\n  host: 127.0.0.1\n")


def test_the_file_sets_the_port_and_the_environment_too(
    project: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    assert load_settings().metrics.port is None
    configure(project, 9464)
    assert load_settings().metrics.port == 9464
    monkeypatch.setenv("TAMMA_METRICS", '{"port": 9100}')
    assert load_settings().metrics.port == 9100


@pytest.mark.parametrize(
    ("yaml", "problem"),
    [
        ("metrics: {port: 0}", "metrics.port: Input should be greater than or equal to 1"),
        ("metrics: {port: 65536}", "metrics.port: Input should be less than or equal to 65535"),
        ("metrics: {prot: 9464}", "metrics.prot: unknown setting (did you mean port?)"),
    ],
)
def test_a_port_out_of_range_is_refused(project: Path, yaml: str, problem: str) -> None:
    (project / "tamma.yaml").write_text(yaml + "\n")
    with pytest.raises(ConfigError, match=re.escape(problem)):
        load_settings()


def test_serve_and_worker_serve_on_the_configured_port_and_only_then(project: Path) -> None:
    with serving_metrics(None, None) as child_env:
        assert child_env == {}  # nothing configured: no endpoint
    port = free_port()
    configure(project, port)
    with serving_metrics(None, None, children=True) as child_env:
        assert child_env.keys() == {"PROMETHEUS_MULTIPROC_DIR"}
        response = httpx.get(f"http://127.0.0.1:{port}/metrics", timeout=10)
        assert "tamma_event_append_seconds_bucket" in response.text
    assert not Path(child_env["PROMETHEUS_MULTIPROC_DIR"]).exists()


def served_port(directory: Path, *options: str, env: dict[str, str] | None = None) -> int:
    """The port `tamma metrics` chose, run in `directory` (whose tamma.yaml it reads)."""
    with tamma_metrics(directory, *options, env=env) as served:
        return served.port


def test_the_option_beats_the_environment_which_beats_the_file(tmp_path: Path) -> None:
    in_file, in_env, in_option = free_port(), free_port(), free_port()
    configure(tmp_path, in_file)
    assert served_port(tmp_path) == in_file
    assert served_port(tmp_path, env={"TAMMA_METRICS_PORT": str(in_env)}) == in_env
    assert (
        served_port(tmp_path, "--port", str(in_option), env={"TAMMA_METRICS_PORT": str(in_env)}) == in_option
    )
