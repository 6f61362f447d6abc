"""What the Prefect UI shows of a run, read back through Prefect's API: each step's line in the
flow run's logs, the plan as edited at approval, a link to the pull request and a summary.

One run serves every test: the demo on the fake GitHub (so the pull request has a web page),
its plan edited at the pause as a person would in the UI's Resume form.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Iterator
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any
from uuid import UUID

import pytest
from prefect.client.orchestration import get_client
from prefect.client.schemas.filters import (
    ArtifactFilter,
    ArtifactFilterFlowRunId,
    LogFilter,
    LogFilterFlowRunId,
)
from prefect.client.schemas.objects import Artifact, Log
from prefect.client.schemas.sorting import ArtifactSort, LogSort

from event_store import Event, EventStore, Query
from flows.resolve_issue import resolve_in_process
from tamma import event_types as et
from tamma.cli._decisions import answer
from tamma.demo.scenario import build_world
from tamma.recorder import Recorder
from tasks._artifacts import artifact_key
from tests.fakes.github import FakeGitHub
from tests.flows.conftest import demo_home
from tests.flows.forges import on_github
from tests.flows.test_resolve_issue import RUN, when_recorded

TOKEN = "ghp_" + "Pr3fU" * 7 + "x"
EDITED = "Fix add() so that it returns a + b, test first. (Edited in the Prefect UI.)"
LOGS_DEADLINE_S = 10.0


@dataclass(frozen=True)
class Shown:
    """What Prefect holds for the run's flow run, and the pull request the run opened."""

    logs: list[Log]
    artifacts: dict[str, Artifact]
    """The latest version of each key the flow run created."""
    pull: dict[str, Any]
    """PR.CREATED's data: the number and URL the UI should point to."""


@pytest.fixture(scope="module")
def shown(tmp_path_factory: pytest.TempPathFactory, fake_github_server: FakeGitHub) -> Iterator[Shown]:
    fake_github_server.reset()
    with pytest.MonkeyPatch.context() as monkeypatch:
        home = demo_home(tmp_path_factory.mktemp("prefect-ui"), monkeypatch)
        world = build_world(home, ci_failure=False)
        reply = when_recorded(
            home,
            et.APPROVAL_REQUESTED,
            lambda e: answer(e.data["flow_run_id"], {"decision": "edit", "plan": EDITED}),
        )
        with on_github(world, fake_github_server, monkeypatch, repo="acme/shop", token=TOKEN) as ref:
            result = resolve_in_process(ref, run_id=RUN, script=str(world.script), ci_poll_s=0.1)
        reply.join()
        assert result["outcome"] == "awaiting-merge", result
        flow_run_id, pull = _recorded(home)
    yield Shown(_logs(flow_run_id), _latest_artifacts(flow_run_id), pull)
    fake_github_server.reset()


def _recorded(home: Path) -> tuple[UUID, dict[str, Any]]:
    """The Prefect flow run the run paused (APPROVAL.REQUESTED) and its pull request."""
    with EventStore(f"sqlite:///{home / 'events.db'}") as store:
        query = Query.of(types=[et.APPROVAL_REQUESTED, et.PR_CREATED], tags=[f"run:{RUN}"])
        data = {e.type: e.data for e in store.read(query)}
    return UUID(data[et.APPROVAL_REQUESTED]["flow_run_id"]), data[et.PR_CREATED]


def _logs(flow_run_id: UUID) -> list[Log]:
    """The flow run's logs, once the last step's line has arrived (they are sent in batches)."""
    deadline = time.monotonic() + LOGS_DEADLINE_S
    with get_client(sync_client=True) as client:
        while True:
            logs = client.read_logs(
                LogFilter(flow_run_id=LogFilterFlowRunId(any_=[flow_run_id])), sort=LogSort.TIMESTAMP_ASC
            )
            if any("run finished" in log.message for log in logs) or time.monotonic() > deadline:
                return logs
            time.sleep(0.2)


def _latest_artifacts(flow_run_id: UUID) -> dict[str, Artifact]:
    with get_client(sync_client=True) as client:
        artifacts = client.read_artifacts(
            artifact_filter=ArtifactFilter(flow_run_id=ArtifactFilterFlowRunId(any_=[flow_run_id])),
            sort=ArtifactSort.CREATED_DESC,
        )
    latest: dict[str, Artifact] = {}
    for artifact in artifacts:
        if artifact.key is not None:
            latest.setdefault(artifact.key, artifact)
    return latest


def test_each_step_is_a_line_in_the_flow_runs_logs(shown: Shown) -> None:
    lines = [log.message for log in shown.logs if log.level == logging.INFO]
    for line in (
        "plan proposed",
        "plan approved by user (edited)",
        f"pull request #{shown.pull['number']} {shown.pull['url']}",
        "run finished: awaiting-merge",
    ):
        assert line in lines, lines


def test_the_plan_artifact_shows_the_edited_plan(shown: Shown) -> None:
    assert shown.artifacts[f"plan-{RUN}"].data == EDITED


def test_a_link_artifact_points_to_the_pull_request(shown: Shown) -> None:
    link = shown.artifacts[f"pull-request-{RUN}"]
    assert shown.pull["url"].startswith("http://127.0.0.1:")  # the fake GitHub's web page
    assert link.data == f"[Pull request #{shown.pull['number']}]({shown.pull['url']})"


def test_a_summary_artifact_says_how_the_run_ended(shown: Shown) -> None:
    summary = shown.artifacts[f"summary-{RUN}"].data
    assert isinstance(summary, str)
    assert "awaiting-merge" in summary
    assert f"[#{shown.pull['number']}]({shown.pull['url']})" in summary


def test_a_run_id_becomes_a_key_prefect_accepts() -> None:
    assert artifact_key("summary", "Fork_Of R-1a2B") == "summary-fork-of-r-1a2b"


def test_observers_see_each_stored_event_and_a_failing_one_breaks_nothing(tmp_path: Path) -> None:
    seen: list[Event] = []

    def failing(event: Event) -> None:
        raise RuntimeError("a broken observer")

    with EventStore(f"sqlite:///{tmp_path / 'events.db'}") as store:
        recorder = Recorder(store, ["run:r-1"], observers=[failing, seen.append])
        position = recorder.with_tags("agent:builtin").record(et.PLAN_PROPOSED, plan="the plan")
        stored = next(store.read())
    assert [replace(e, recorded_at=stored.recorded_at) for e in seen] == [stored]  # as a read returns it
    assert position == stored.position
