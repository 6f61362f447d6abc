"""A real Prefect server, `tamma deploy` from prefect.yaml, and `tamma worker --run-once` taking a
resolve-issue run from the `tamma` process work pool and completing it on the local platform."""

from __future__ import annotations

from pathlib import Path

from event_store import EventStore, Query
from tamma import event_types as et
from tamma.demo.scenario import DemoWorld
from tests.flows.conftest import BIN, PoolShell


def test_a_worker_runs_a_deployed_resolve_issue(world: DemoWorld, home: Path, pool_shell: PoolShell) -> None:
    run = pool_shell.run

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
