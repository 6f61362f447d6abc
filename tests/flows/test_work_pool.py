"""A real Prefect server, `tamma deploy` from prefect.yaml, and `tamma worker --run-once` taking a
resolve-issue run from the `tamma` process work pool and completing it on the local platform."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

from event_store import EventStore, Query
from tamma import event_types as et
from tamma.demo.scenario import DemoWorld
from tests.flows.conftest import BIN


def test_a_worker_runs_a_deployed_resolve_issue(world: DemoWorld, home: Path, prefect_api: str) -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith("PREFECT_")}
    env |= {
        "PREFECT_API_URL": prefect_api,
        "PREFECT_SERVER_ANALYTICS_ENABLED": "false",
        "TAMMA_SWEEP_REPO": "local:shop",
    }

    def run(*args: str) -> subprocess.CompletedProcess[str]:
        done = subprocess.run(list(args), capture_output=True, text=True, env=env, timeout=300, cwd=home)
        assert done.returncode == 0, f"{args}: {done.stdout[-2000:]}\n{done.stderr[-2000:]}"
        return done

    run(str(BIN / "tamma"), "deploy")
    run(
        str(BIN / "prefect"),
        "deployment",
        "run",
        "resolve-issue/resolve-issue",
        "-p",
        f"issue_ref={world.issue_ref}",
        "-p",
        "run_id=r-w0rker01",
        "-p",
        "auto_approve=true",
        "-p",
        f"script={world.script}",
        "-p",
        "ci_poll_s=0.2",
    )
    run(str(BIN / "tamma"), "worker", "--run-once")
    with EventStore(f"sqlite:///{home / 'events.db'}") as store:
        completed = list(store.read(Query.of(types=[et.RUN_COMPLETED], tags=["run:r-w0rker01"])))
    assert [e.data["outcome"] for e in completed] == ["awaiting-merge"]
