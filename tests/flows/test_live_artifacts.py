"""The live view in the Prefect UI, read back through Prefect's API: a progress artifact that
the run moves phase by phase, and a table of what its model calls cost, step by step.

The demo's script is priced here (each answer with its own tokens and cost), so the table's
sums can be checked against what the run recorded.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any
from uuid import UUID

import pytest
from prefect.client.orchestration import get_client
from prefect.client.schemas.filters import ArtifactFilter, ArtifactFilterFlowRunId
from prefect.client.schemas.objects import Artifact
from prefect.client.schemas.sorting import ArtifactSort

from event_store import EventStore, Query
from flows.resolve_issue import resolve_in_process
from tamma import event_types as et
from tamma.audit.run_state import run_state
from tamma.demo.scenario import DemoWorld, build_world, conversations
from tamma.errors import ProviderError
from tamma.providers import Response, Usage, save_script
from tasks._artifacts import PHASES

RUN = "r-11ve0a71"


def priced(answers: dict[str, list[Response]]) -> dict[str, list[Response]]:
    """`answers`, each with tokens and a cost of its own (the n-th: n cents and n*100 tokens)."""
    n = iter(range(1, 1_000))
    return {
        purpose: [
            answer.model_copy(
                update={
                    "usage": Usage(
                        input_tokens=100 * (i := next(n)), output_tokens=10 * i, cache_read_tokens=i
                    ),
                    "cost_usd": i / 100,
                }
            )
            for answer in turns
        ]
        for purpose, turns in answers.items()
    }


def latest_artifacts(flow_run_id: str) -> dict[str, Artifact]:
    with get_client(sync_client=True) as client:
        artifacts = client.read_artifacts(
            artifact_filter=ArtifactFilter(flow_run_id=ArtifactFilterFlowRunId(any_=[UUID(flow_run_id)])),
            sort=ArtifactSort.CREATED_DESC,
        )
    latest: dict[str, Artifact] = {}
    for artifact in artifacts:
        if artifact.key is not None:
            latest.setdefault(artifact.key, artifact)
    return latest


def recorded(home: Path) -> tuple[str, list[dict[str, Any]], float]:
    """The run's flow run id, its model calls' usage (AI.RESPONSE.RECEIVED) and its cost."""
    with EventStore(f"sqlite:///{home / 'events.db'}") as store:
        started = next(iter(store.read(Query.of(types=[et.RUN_STARTED], tags=[f"run:{RUN}"]))))
        responses = list(store.read(Query.of(types=[et.AI_RESPONSE_RECEIVED], tags=[f"run:{RUN}"])))
        cost = run_state(store, RUN).cost_usd
    return started.data["flow_run_id"], [r.data["usage"] for r in responses], cost


def assert_table_sums_to(table: list[dict[str, Any]], usages: list[dict[str, Any]], cost: float) -> None:
    assert sum(row["model_calls"] for row in table) == len(usages)
    assert sum(row["input_tokens"] for row in table) == sum(
        u["input_tokens"] + u["cache_read_tokens"] + u["cache_write_tokens"] for u in usages
    )
    assert sum(row["output_tokens"] for row in table) == sum(u["output_tokens"] for u in usages)
    assert sum(row["cost_usd"] for row in table) == pytest.approx(cost, abs=1e-6)


def test_a_run_shows_its_progress_and_what_each_step_cost(home: Path) -> None:
    world = build_world(home, ci_failure=False)
    script = save_script(priced(conversations(ci_failure=False)), home / "priced.json")
    result = resolve_in_process(
        world.issue_ref, run_id=RUN, auto_approve=True, script=str(script), ci_poll_s=0.1
    )
    assert result["outcome"] == "awaiting-merge", result
    flow_run_id, usages, cost = recorded(home)
    artifacts = latest_artifacts(flow_run_id)

    progress = artifacts[f"progress-{RUN}"]
    assert progress.type == "progress"
    assert progress.data == 100
    assert f"{len(PHASES)} of {len(PHASES)} phases passed, last checkpoint" in str(progress.description)

    costs = artifacts[f"costs-{RUN}"]
    assert costs.type == "table"
    table = json.loads(str(costs.data))  # Prefect keeps a table as its JSON text
    assert [row["step"] for row in table] == ["analysis", "plan", "tests", "fix", "refactor"]
    assert table[2]["model_calls"] == 5  # list, read, write, run the tests, finish
    assert all(row["duration_s"] > 0 for row in table)
    assert cost > 0
    assert_table_sums_to(table, usages, cost)
    assert f"${cost:.4f} in all" in str(costs.description)


def test_a_failed_run_still_shows_how_far_it_got_and_its_costs(world: DemoWorld, home: Path) -> None:
    only_analysis = {"analysis": priced(conversations())["analysis"]}  # no plan: the script runs out
    script = save_script(only_analysis, home / "short.json")
    with pytest.raises(ProviderError, match="answer"):
        resolve_in_process(world.issue_ref, run_id=RUN, auto_approve=True, script=str(script))
    flow_run_id, usages, cost = recorded(home)
    artifacts = latest_artifacts(flow_run_id)
    assert artifacts[f"progress-{RUN}"].data == pytest.approx(
        100 * 2 / len(PHASES), abs=0.1
    )  # claim, analyze
    table = json.loads(str(artifacts[f"costs-{RUN}"].data))
    assert [row["step"] for row in table] == ["analysis", "plan"]
    assert table[1]["model_calls"] == 0  # the plan step ran, and failed before any answer
    assert_table_sums_to(table, usages, cost)
