"""The demo world resolved in this process with Prefect's ephemeral server already up: what the
orchestration and replay benchmarks time, so the server's start stays out of their figures."""

from __future__ import annotations

import json
import os
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from tamma.demo.scenario import DemoWorld

__all__ = ["demo_world_in_process", "resolve_timed"]


@contextmanager
def demo_world_in_process(*, ci_failure: bool) -> Iterator[DemoWorld]:
    """A fresh TAMMA_HOME with the demo's world, Prefect pointed at it and warmed up."""
    from prefect import flow

    from tamma.cli._prefect import use_prefect
    from tamma.demo.scenario import agent_settings, build_world, sandbox_settings

    with tempfile.TemporaryDirectory() as directory:
        home = Path(directory)
        os.environ |= {
            "TAMMA_HOME": str(home),
            "TAMMA_DATABASE_URL": f"sqlite:///{home / 'events.db'}",
            "TAMMA_AGENT": json.dumps(agent_settings()),
            "TAMMA_SANDBOX": json.dumps(sandbox_settings()),
        }
        use_prefect(home)
        flow(name="warm-up")(lambda: None)()
        yield build_world(home, ci_failure=ci_failure)


def resolve_timed(world: DemoWorld, run_id: str) -> float:
    """Wall seconds of one `resolve_issue` of the demo issue, plan approved by policy."""
    from flows.resolve_issue import resolve_in_process

    started = time.perf_counter()
    resolve_in_process(
        world.issue_ref, run_id=run_id, auto_approve=True, script=str(world.script), ci_poll_s=0.1
    )
    return time.perf_counter() - started
