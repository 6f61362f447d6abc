"""Rendering a report that compares two models: a row per task run, totals per cell and overall."""

from __future__ import annotations

from datetime import UTC, datetime

from rich.console import Console

from tamma.bench.page import render_html
from tamma.bench.report import render_table
from tamma.bench.results import BenchReport, TaskResult, totals


def result(instance_id: str, model: str, **figures: object) -> TaskResult:
    return TaskResult.model_validate(
        {"instance_id": instance_id, "backend": "builtin", "model": model, "outcome": "awaiting-merge"}
        | figures
    )


def two_models() -> BenchReport:
    big = [
        result(
            "shop-1", "big", resolved=True, pull_request=1, tokens_in=9_000, tokens_out=1_000, cost_usd=0.25
        ),
        result("shop-2", "big", resolved=True, pull_request=1, tokens_in=4_000, tokens_out=500, cost_usd=0.1),
    ]
    small = [
        result(
            "shop-1", "small", pull_request=1, reason="hidden tests failed on the pull request: FAIL_TO_PASS"
        ),
        result("shop-2", "small", outcome="escalated", escalated=True, reason="fix: the check still failed"),
    ]
    cells = [
        totals(big, backend="builtin", model="big", elapsed_s=30),
        totals(small, backend="builtin", model="small", elapsed_s=20),
    ]
    everything = totals(big + small, backend="all", model="all", elapsed_s=50)
    return BenchReport(
        started_at=datetime(2026, 12, 1, tzinfo=UTC), tasks=big + small, cells=cells, total=everything
    )


def test_the_table_has_a_row_per_run_and_totals_per_model_and_overall() -> None:
    console = Console(width=160, record=True)
    console.print(render_table(two_models()))
    text = console.export_text()
    assert "builtin / big" in text
    assert "builtin / small" in text
    assert "2/2" in text  # big
    assert "0/2" in text  # small
    assert "2/4" in text  # all
    assert "14,500" in text  # tokens, all
    assert "shop-1 (builtin / small): hidden tests failed on the pull request: FAIL_TO_PASS" in text
    assert "shop-2 (builtin / small): fix: the check still failed" in text


def test_the_page_charts_each_model_and_each_run() -> None:
    page = render_html(two_models())
    assert page.count('aria-label="outcomes"') == 1
    assert "2/2 resolved" in page
    assert "0/2 resolved" in page
    assert "shop-1 · builtin / small" in page  # per-run charts name the model when there are several
    assert "$0.3500" in page
    assert "<script" not in page
