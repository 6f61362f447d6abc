"""A bench report as one static HTML page: totals per cell, bar charts, and every task.

Self-contained (inline CSS and SVG; no script, no external asset), like a run's report
(`tamma.audit.report`), so it opens from a file or a CI artifact without a server.
"""

from __future__ import annotations

from collections.abc import Sequence
from html import escape

from tamma.bench.results import BenchReport, TaskResult, Totals

__all__ = ["render_html"]

CHART_WIDTH = 760
LABEL_WIDTH = 260
VALUE_WIDTH = 90
ROW_HEIGHT = 22

_STYLE = """
body { font: 14px/1.45 system-ui, sans-serif; margin: 2rem auto; max-width: 1040px; color: #1d2330; }
h1 { font-size: 1.4rem; } h2 { font-size: 1.1rem; margin-top: 2rem; }
table { border-collapse: collapse; width: 100%; } td, th { padding: 4px 8px; text-align: left; }
tr:nth-child(even) { background: #f4f6fa; } th { border-bottom: 1px solid #ccd; }
.num { text-align: right; font-variant-numeric: tabular-nums; white-space: nowrap; }
.id { white-space: nowrap; } .no { color: #b00020; } .yes { color: #2e7d32; }
"""

OUTCOME_COLOURS = {
    "resolved": "#2e7d32",
    "pull request, not resolved": "#d08a4a",
    "escalated": "#b00020",
    "other (failed, unfair, error)": "#9aa0ab",
}

Bar = tuple[str, float, str]
"""A chart row: its label, its value, and the value as written beside the bar."""


def render_html(report: BenchReport) -> str:
    cells = report.cells
    tasks = report.tasks
    several = len(cells) > 1
    return f"""<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>Tamma bench</title>
<style>{_STYLE}</style></head><body>
<h1>Tamma bench, {report.started_at:%Y-%m-%d %H:%M} UTC</h1>
<p>{report.total.resolved} of {report.total.tasks} task runs resolved (the hidden tests pass on the
pull request's head), {report.total.escalated} escalated, {report.total.tokens:,} tokens,
${report.total.cost_usd:.4f}, {report.total.elapsed_s:.1f} s.</p>
<h2>Per backend and model</h2>
{_totals_table(cells)}
<h2>Outcomes</h2>
{_outcome_chart(cells, tasks)}
<h2>Cost</h2>
{_chart("cost", [(c.backend + " / " + c.model, c.cost_usd, f"${c.cost_usd:.4f}") for c in cells], "#d08a4a")}
<h2>Tokens per task</h2>
{_chart("tokens", [(_name(t, several), t.tokens, f"{t.tokens:,}") for t in tasks], "#4a7bd0")}
<h2>Wall time per task</h2>
{_chart("wall time", [(_name(t, several), t.wall_s, f"{t.wall_s:.1f} s") for t in tasks], "#7fb069")}
<h2>Tasks</h2>
{_tasks_table(tasks)}
</body></html>
"""


def _name(result: TaskResult, with_cell: bool) -> str:
    return f"{result.instance_id} · {result.backend} / {result.model}" if with_cell else result.instance_id


def _kind(result: TaskResult) -> str:
    if result.resolved:
        return "resolved"
    if result.escalated:
        return "escalated"
    return (
        "pull request, not resolved" if result.pull_request is not None else "other (failed, unfair, error)"
    )


def _outcome_chart(cells: Sequence[Totals], tasks: Sequence[TaskResult]) -> str:
    """One stacked bar per cell, as long as its task count: how its runs ended."""
    longest = max((cell.tasks for cell in cells), default=0) or 1
    unit = (CHART_WIDTH - LABEL_WIDTH - VALUE_WIDTH) / longest
    rows = []
    for index, cell in enumerate(cells):
        mine = [t for t in tasks if (t.backend, t.model) == (cell.backend, cell.model)]
        y, x = index * ROW_HEIGHT, float(LABEL_WIDTH)
        rows.append(
            f'<text x="0" y="{y + 15}" font-size="12">{escape(cell.backend)} / {escape(cell.model)}</text>'
        )
        for kind, colour in OUTCOME_COLOURS.items():
            count = sum(_kind(t) == kind for t in mine)
            if count:
                rows.append(
                    f'<rect x="{x:.1f}" y="{y + 4}" width="{unit * count:.1f}" height="{ROW_HEIGHT - 8}" '
                    f'fill="{colour}"><title>{escape(kind)}: {count}</title></rect>'
                )
                x += unit * count
        rows.append(
            f'<text x="{x + 6:.1f}" y="{y + 15}" font-size="12">{cell.resolved}/{cell.tasks} resolved</text>'
        )
    legend = " ".join(
        f'<span style="color:{colour}">&#9632;</span> {escape(kind)}'
        for kind, colour in OUTCOME_COLOURS.items()
    )
    return (
        f'<svg class="chart" width="{CHART_WIDTH}" height="{len(cells) * ROW_HEIGHT}" role="img" '
        f'aria-label="outcomes">{"".join(rows)}</svg><p>{legend}</p>'
    )


def _chart(label: str, bars: Sequence[Bar], colour: str) -> str:
    """Horizontal bars scaled to the largest value; all zeros draw as a note instead."""
    top = max((value for _, value, _ in bars), default=0.0)
    if top <= 0:
        return f"<p>Nothing to chart: every {escape(label)} figure is 0.</p>"
    span = CHART_WIDTH - LABEL_WIDTH - VALUE_WIDTH
    rows = []
    for index, (name, value, text) in enumerate(bars):
        width = max(1.0, span * value / top) if value > 0 else 0.0
        y = index * ROW_HEIGHT
        rows.append(
            f'<text x="0" y="{y + 15}" font-size="12">{escape(name)}</text>'
            f'<rect x="{LABEL_WIDTH}" y="{y + 4}" width="{width:.1f}" height="{ROW_HEIGHT - 8}" fill="{colour}">'
            f"<title>{escape(name)}: {escape(text)}</title></rect>"
            f'<text x="{LABEL_WIDTH + width + 6:.1f}" y="{y + 15}" font-size="12">{escape(text)}</text>'
        )
    return (
        f'<svg class="chart" width="{CHART_WIDTH}" height="{len(bars) * ROW_HEIGHT}" role="img" '
        f'aria-label="{escape(label)}">{"".join(rows)}</svg>'
    )


def _totals_table(cells: Sequence[Totals]) -> str:
    head = (
        "<tr><th>backend / model</th><th class=num>tasks</th><th class=num>resolved</th>"
        "<th class=num>escalated</th><th class=num>pull requests</th><th class=num>turns</th>"
        "<th class=num>tokens</th><th class=num>cost (USD)</th><th class=num>elapsed</th><th>events in</th></tr>"
    )
    rows = [
        f"<tr><td>{escape(c.backend)} / {escape(c.model)}</td><td class=num>{c.tasks}</td>"
        f"<td class=num>{c.resolved} ({c.resolve_rate:.0%})</td><td class=num>{c.escalated}</td>"
        f"<td class=num>{c.pull_requests}</td><td class=num>{c.turns}</td><td class=num>{c.tokens:,}</td>"
        f"<td class=num>{c.cost_usd:.4f}</td><td class=num>{c.elapsed_s:.1f} s</td><td>{escape(c.home)}</td></tr>"
        for c in cells
    ]
    return f"<table>{head}{''.join(rows)}</table>"


def _tasks_table(tasks: Sequence[TaskResult]) -> str:
    head = (
        "<tr><th>task</th><th>backend / model</th><th>outcome</th><th>resolved</th><th>run</th>"
        "<th class=num>turns</th><th class=num>tokens</th><th class=num>cost (USD)</th>"
        "<th class=num>wall</th><th>why not resolved</th></tr>"
    )
    rows = []
    for t in tasks:
        verdict = '<td class="yes">yes</td>' if t.resolved else '<td class="no">no</td>'
        rows.append(
            f"<tr><td>{escape(t.instance_id)}</td><td>{escape(t.backend)} / {escape(t.model)}</td>"
            f"<td class=id>{escape(t.outcome)}</td>{verdict}<td class=id>{escape(t.run_id or '-')}</td>"
            f"<td class=num>{t.turns}</td><td class=num>{t.tokens:,}</td><td class=num>{t.cost_usd:.4f}</td>"
            f"<td class=num>{t.wall_s:.1f} s</td><td>{'' if t.resolved else escape(t.reason)}</td></tr>"
        )
    return f"<table>{head}{''.join(rows)}</table>"
