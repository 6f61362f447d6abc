"""A bench report for people (a rich table) and for scripts (JSON)."""

from __future__ import annotations

from pathlib import Path

from rich import box
from rich.console import Group
from rich.table import Table
from rich.text import Text

from tamma.bench.results import BenchReport, TaskResult, Totals

__all__ = ["render_table", "write_json"]


def render_table(report: BenchReport) -> Group:
    """One row per task run, then each cell's totals (and all cells', when several); under the
    table, why each unresolved task was not. With one cell the title names its backend and
    model, which every row would repeat."""
    several = len(report.cells) > 1
    title = "tamma bench" if several else f"tamma bench: {report.cells[0].backend} / {report.cells[0].model}"
    table = Table(
        title=Text(title), title_justify="left", box=box.SIMPLE_HEAD, pad_edge=False, collapse_padding=True
    )
    table.add_column("task", no_wrap=True)
    if several:
        table.add_column("backend / model", no_wrap=True)
    table.add_column("outcome", no_wrap=True)
    table.add_column("resolved", no_wrap=True)
    for figure in ("turns", "tokens", "cost $", "wall"):
        table.add_column(figure, justify="right", no_wrap=True)
    for result in report.tasks:
        table.add_row(*_cell_column(_task_row(result), result.backend, result.model, several))
    table.add_section()
    for totals in [*report.cells, report.total] if several else report.cells:
        table.add_row(*_cell_column(_totals_row(totals), totals.backend, totals.model, several), style="bold")
    reasons = [
        Text(
            f"{result.instance_id}"
            + (f" ({result.backend} / {result.model})" if several else "")
            + f": {result.reason}"
        )
        for result in report.tasks
        if not result.resolved
    ]
    return Group(table, Text("not resolved:", style="bold") if reasons else Text(""), *reasons)


def _cell_column(row: list[str], backend: str, model: str, several: bool) -> list[Text]:
    """The row as plain text (names may hold brackets), with the cell's name when there are several."""
    if several:
        row = [row[0], "all" if backend == "all" else f"{backend} / {model}", *row[1:]]
    return [Text(value) for value in row]


def _task_row(result: TaskResult) -> list[str]:
    return [
        result.instance_id,
        result.outcome,
        "yes" if result.resolved else "no",
        str(result.turns),
        f"{result.tokens:,}",
        f"{result.cost_usd:.4f}",
        f"{result.wall_s:.1f}",
    ]


def _totals_row(totals: Totals) -> list[str]:
    return [
        f"total ({totals.tasks})",
        f"{totals.pull_requests} PR, {totals.escalated} esc.",
        f"{totals.resolved}/{totals.tasks}",
        str(totals.turns),
        f"{totals.tokens:,}",
        f"{totals.cost_usd:.4f}",
        f"{totals.elapsed_s:.1f}",
    ]


def write_json(report: BenchReport, path: Path) -> None:
    path.write_text(report.model_dump_json(indent=2) + "\n")
