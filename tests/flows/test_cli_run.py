"""`tamma run` and friends as real subprocesses, against the session's Prefect server."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

from prefect.settings import PREFECT_API_URL

from event_store import EventStore, Query
from tamma import event_types as et
from tamma.demo.scenario import DemoWorld

TAMMA = Path(sys.executable).with_name("tamma")
RUN = "r-c11a9901"


def environment(home: Path) -> dict[str, str]:
    """The test's TAMMA_* settings, the session's Prefect server, and no model keys."""
    env = {k: v for k, v in os.environ.items() if not k.endswith(("_API_KEY", "_TOKEN"))}
    return env | {"PREFECT_API_URL": str(PREFECT_API_URL.value()), "COLUMNS": "200"}


def tamma(home: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [str(TAMMA), *args], capture_output=True, text=True, env=environment(home), timeout=180
    )


def test_a_plan_approved_from_another_process(world: DemoWorld, home: Path) -> None:
    running = subprocess.Popen(
        [
            str(TAMMA),
            "run",
            world.issue_ref,
            "--run-id",
            RUN,
            "--script",
            str(world.script),
            "--ci-poll",
            "0.2",
        ],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        stdin=subprocess.DEVNULL,
        text=True,
        env=environment(home),
    )
    try:
        with EventStore(f"sqlite:///{home / 'events.db'}") as store:
            deadline = time.monotonic() + 120
            while not list(store.read(Query.of(types=[et.APPROVAL_REQUESTED], tags=[f"run:{RUN}"]))):
                assert running.poll() is None, running.communicate()
                assert time.monotonic() < deadline, "the run never asked for approval"
                time.sleep(0.2)
        shown = tamma(home, "plan", "show", RUN, "--raw")
        assert shown.returncode == 0, shown.stderr
        assert "Tests first" in shown.stdout
        approved = tamma(home, "approve", RUN)
        assert approved.returncode == 0, approved.stderr
        out, err = running.communicate(timeout=180)
    finally:
        running.kill()
    assert running.returncode == 0, err
    assert "waiting: tamma approve" in out
    assert "plan approved by user" in out
    assert "awaiting-merge" in out
    status = tamma(home, "status")
    assert RUN in status.stdout
    assert "awaiting-merge" in status.stdout
    again = tamma(home, "approve", RUN)
    assert again.returncode == 1
    assert "is not waiting for a decision" in again.stderr
    assert "Traceback" not in again.stderr


def test_bad_input_is_one_clear_line(home: Path) -> None:
    bad_ref = tamma(home, "run", "octo/demo#1")
    assert bad_ref.returncode == 1
    assert "not an issue reference" in bad_ref.stderr
    no_run = tamma(home, "approve", "r-nothere")
    assert no_run.returncode == 1
    assert "no run 'r-nothere'" in no_run.stderr
    for result in (bad_ref, no_run):
        assert "Traceback" not in result.stderr


def test_config_show_never_prints_a_secret(home: Path) -> None:
    token = "ghp_" + "C0nfig" * 6
    result = subprocess.run(
        [str(TAMMA), "config", "show"],
        capture_output=True,
        text=True,
        env=environment(home) | {"GITHUB_TOKEN": token},
        timeout=60,
    )
    assert result.returncode == 0, result.stderr
    assert "github token: set" in result.stdout
    assert token not in result.stdout


def test_an_unknown_agent_backend_is_refused_before_anything_runs(home: Path) -> None:
    refused = tamma(home, "run", "local:shop#1", "--agent", "codex")
    assert refused.returncode == 2
    assert "use builtin or claude-code" in refused.stderr
    assert not (home / "events.db").exists()
