"""A deployed sweep is orchestration: one resolve-issue deployment run per issue, linked to the
sweep as subflow runs, taken by the pool's worker, bounded by the pool's and the repository's
global concurrency limits, each issue resolved once."""

from __future__ import annotations

import os
import re
import signal
import subprocess
import time
from pathlib import Path
from typing import Any

import httpx

from event_store import EventStore, Query
from tamma import event_types as et
from tamma.demo.scenario import ISSUE_BODY, ISSUE_TITLE, build_world
from tests.flows.conftest import BIN, PoolShell


def flow_runs(api: str) -> list[dict[str, Any]]:
    return list(httpx.post(f"{api}/flow_runs/filter", json={"limit": 50}, timeout=30).json())


def test_a_deployed_sweep_spreads_its_issues_over_the_pool(
    home: Path, prefect_api: str, pool_shell: PoolShell
) -> None:
    run = pool_shell.run
    world = build_world(home, ci_failure=False)
    world.platform.create_issue(ISSUE_TITLE, ISSUE_BODY, labels=["tamma", "bug"], author="bob")

    run(str(BIN / "tamma"), "deploy", "--max-runs", "2")
    worker = subprocess.Popen(
        [str(BIN / "tamma"), "worker"],
        env=pool_shell.env,
        cwd=home,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,
    )
    try:
        started = run(
            str(BIN / "prefect"),
            "deployment",
            "run",
            "backlog-sweep/backlog-sweep",
            "-p",
            "repo=local:shop",
            "-p",
            f"script={world.script}",
            "-p",
            "ci_poll_s=0.2",
            "-p",
            "cooldown_s=0",
        )
        sweep_id = re.search(r"UUID: ([0-9a-f-]{36})", started.stdout)
        assert sweep_id is not None, started.stdout
        deadline = time.monotonic() + 400
        while True:
            sweep = httpx.get(f"{prefect_api}/flow_runs/{sweep_id.group(1)}", timeout=30).json()
            if sweep["state"]["type"] in ("COMPLETED", "FAILED", "CRASHED"):
                break
            assert time.monotonic() < deadline, "the sweep did not finish"
            time.sleep(2)
    finally:
        os.killpg(worker.pid, signal.SIGTERM)
        worker.wait(timeout=60)
    assert sweep["state"]["type"] == "COMPLETED", sweep["state"]
    children = [r for r in flow_runs(prefect_api) if r["parameters"].get("issue_ref")]
    assert sorted(r["parameters"]["issue_ref"] for r in children) == ["local:shop#1", "local:shop#2"]
    assert all(r["parent_task_run_id"] for r in children)  # subflow runs of the sweep: the UI's tree
    assert [r["state"]["name"] for r in children] == ["AwaitingMerge", "AwaitingMerge"]
    limits = {
        g["name"]: g["limit"]
        for g in httpx.post(f"{prefect_api}/v2/concurrency_limits/filter", json={}, timeout=30).json()
    }
    assert limits["tamma-runs"] == 2
    assert limits["tamma-repo:local:shop"] == 2  # the sweep's `concurrency`
    with EventStore(f"sqlite:///{home / 'events.db'}") as store:
        for number in (1, 2):
            tag = f"issue:local:shop#{number}"
            kinds = [e.type for e in store.read(Query.of(tags=[tag]))]
            assert kinds.count(et.ISSUE_CLAIMED) == 1, tag
            assert kinds.count(et.PR_CREATED) == 1, tag
