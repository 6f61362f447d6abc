"""`tamma bench --offline` through the real CLI: the shipped set runs through the real flow, and
its report agrees with the event store."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from prefect.settings import PREFECT_API_URL

from event_store import EventStore, Query
from tamma import event_types as et
from tests.bench.conftest import run_tamma

RESOLVED = {"slugify-lowercase", "leap-year-centuries"}
UNRESOLVED_WITH_PR = "word-count-punctuation"
ESCALATED = "temperature-offset"

pytestmark = pytest.mark.usefixtures("prefect_server")  # the CLI's flows report to it


def test_the_offline_set_runs_through_the_real_flow_and_reports_what_the_events_say(tmp_path: Path) -> None:
    home, out = tmp_path / "home", tmp_path / "out"
    result = run_tamma(
        home,
        "bench",
        "--offline",
        "--concurrency",
        "2",
        "--ci-poll",
        "0.5",
        "--out",
        str(out),
        "--json",
        str(tmp_path / "bench.json"),
        "--html",
        str(tmp_path / "bench.html"),
        env={"PREFECT_API_URL": str(PREFECT_API_URL.value())},
    )
    assert result.returncode == 0, result.stderr
    assert "Traceback" not in result.stderr
    table = result.stdout
    assert "tamma bench: builtin / scripted" in table
    assert "total (4)" in table
    assert "2/4" in table
    assert "hidden tests failed on the pull request: FAIL_TO_PASS" in table
    report = json.loads((tmp_path / "bench.json").read_text())
    tasks = {task["instance_id"]: task for task in report["tasks"]}
    assert {name for name, task in tasks.items() if task["resolved"]} == RESOLVED
    assert tasks[UNRESOLVED_WITH_PR]["pull_request"] == 1
    assert tasks[UNRESOLVED_WITH_PR]["fail_to_pass"] is False
    assert tasks[UNRESOLVED_WITH_PR]["outcome"] == "awaiting-merge"
    assert "test_punctuation_is_not_part_of_a_word" in tasks[UNRESOLVED_WITH_PR]["judge_log"]
    assert tasks[ESCALATED]["escalated"] is True
    assert tasks[ESCALATED]["pull_request"] is None
    [cell] = report["cells"]
    assert (cell["tasks"], cell["resolved"], cell["escalated"], cell["pull_requests"]) == (4, 2, 1, 3)
    with EventStore(f"sqlite:///{Path(cell['home']) / 'events.db'}") as store:
        for task in tasks.values():
            assert_figures_match_events(store, task)
    assert cell["tokens"] == sum(task["tokens"] for task in tasks.values()) > 0
    page = (tmp_path / "bench.html").read_text()
    assert page.count('<svg class="chart"') == 3  # outcomes, tokens, wall time; no cost with a free model
    for chart in ("outcomes", "tokens", "wall time"):
        assert f'aria-label="{chart}"' in page
    assert "<script" not in page
    assert "http://" not in page
    assert "https://" not in page


def assert_figures_match_events(store: EventStore, task: dict[str, Any]) -> None:
    """The report's figures for a task are its run's recorded ones."""
    run = [f"run:{task['run_id']}"]
    answers = list(store.read(Query.of(types=[et.AI_RESPONSE_RECEIVED], tags=run)))
    assert task["turns"] == len(answers)
    assert task["tokens"] == sum(sum(answer.data["usage"].values()) for answer in answers)
    assert task["cost_usd"] == pytest.approx(sum(answer.data["cost_usd"] for answer in answers))
    [completed] = store.read(Query.of(types=[et.RUN_COMPLETED], tags=run))
    assert task["outcome"] == completed.data["outcome"]
    escalations = list(store.read(Query.of(types=[et.ESCALATION_TRIGGERED], tags=run)))
    assert task["escalated"] == bool(escalations)
