"""A run as one static HTML page: summary, a timeline chart, cost per step, the plan, the steps.

Self-contained (inline CSS and SVG, no script, no external asset), so it opens from a file,
an e-mail or an artifact store without a server, and prints as it shows.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from html import escape

from event_store import Event
from tamma.audit.history import Span, timeline
from tamma.audit.run_state import run_state_projection
from tamma.errors import TammaError

__all__ = ["render_report"]

CHART_WIDTH = 760
ROW_HEIGHT = 22
LABEL_WIDTH = 180

_STYLE = """
body { font: 14px/1.45 system-ui, sans-serif; margin: 2rem auto; max-width: 980px; color: #1d2330; }
h1 { font-size: 1.4rem; } h2 { font-size: 1.1rem; margin-top: 2rem; }
table { border-collapse: collapse; width: 100%; } td, th { padding: 4px 8px; text-align: left; }
tr:nth-child(even) { background: #f4f6fa; } th { border-bottom: 1px solid #ccd; }
.num { text-align: right; font-variant-numeric: tabular-nums; } .failed { color: #b00020; }
.plan { white-space: pre-wrap; background: #f7f7f2; padding: 1rem; border-radius: 6px; }
dl { display: grid; grid-template-columns: max-content auto; gap: 2px 16px; }
"""


def render_report(run_id: str, events: Sequence[Event]) -> str:
    """The page for the run whose events (all of them, in order) are `events`."""
    if not events:
        raise TammaError(f"run {run_id!r} has no events")
    state = run_state_projection(run_id).fold(events).state
    spans = [span for span in timeline(events) if span.end is not None]
    started, ended = events[0].recorded_at, events[-1].recorded_at
    pull = state.pull_request
    facts = {
        "issue": state.issue,
        "outcome": state.outcome or f"in progress ({state.phase})",
        "pull request": f"#{pull['number']} {pull.get('url') or ''} ({pull['head']})" if pull else "none",
        "CI": f"{state.ci_state or '-'} after {state.ci_fixes} repair(s)",
        "cost": f"${state.cost_usd:.4f}",
        "duration": f"{(ended - started).total_seconds():.1f} s, {len(events)} events",
        "started": f"{started:%Y-%m-%d %H:%M:%S} UTC",
    }
    if state.escalated:
        facts["escalated"] = state.escalated
    plan = state.approved_plan or state.plan or "(no plan)"
    return f"""<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>Tamma run {escape(run_id)}</title>
<style>{_STYLE}</style></head><body>
<h1>Tamma run {escape(run_id)}</h1>
<dl>{"".join(f"<dt>{escape(k)}</dt><dd>{escape(v)}</dd>" for k, v in facts.items())}</dl>
<h2>Timeline</h2>
{_timeline_chart(spans, (ended - started).total_seconds() or 1.0, started)}
<h2>Cost per step</h2>
{_cost_chart(spans)}
<h2>Plan</h2>
<div class="plan">{escape(plan)}</div>
<h2>Steps</h2>
{_table(spans)}
</body></html>
"""


def _timeline_chart(spans: list[Span], total_s: float, origin: datetime) -> str:
    """A Gantt chart: one bar per span, placed at its start, as long as it lasted."""
    scale = (CHART_WIDTH - LABEL_WIDTH) / total_s
    rows = []
    for index, span in enumerate(spans):
        assert span.end is not None
        x = LABEL_WIDTH + (span.start.recorded_at - origin).total_seconds() * scale
        width = max(2.0, (span.duration_s or 0.0) * scale)
        y = index * ROW_HEIGHT
        colour = "#b00020" if span.ok is False else ("#4a7bd0" if span.name.startswith("step") else "#7fb069")
        rows.append(
            f'<text x="0" y="{y + 15}" font-size="12">{escape(span.name.strip())}</text>'
            f'<rect x="{x:.1f}" y="{y + 4}" width="{width:.1f}" height="{ROW_HEIGHT - 8}" fill="{colour}">'
            f"<title>{escape(span.name.strip())}: {span.duration_s or 0:.2f} s</title></rect>"
        )
    height = max(1, len(spans)) * ROW_HEIGHT
    return (
        f'<svg width="{CHART_WIDTH}" height="{height}" role="img" aria-label="timeline">{"".join(rows)}</svg>'
    )


def _cost_chart(spans: list[Span]) -> str:
    steps = [span for span in spans if span.name.startswith("step")]
    top = max((span.cost_usd for span in steps), default=0.0)
    if top <= 0:
        return "<p>No model cost was recorded (a scripted or free model).</p>"
    rows = []
    for index, span in enumerate(steps):
        width = (CHART_WIDTH - LABEL_WIDTH - 80) * span.cost_usd / top
        y = index * ROW_HEIGHT
        rows.append(
            f'<text x="0" y="{y + 15}" font-size="12">{escape(span.name)}</text>'
            f'<rect x="{LABEL_WIDTH}" y="{y + 4}" width="{width:.1f}" height="{ROW_HEIGHT - 8}" fill="#d08a4a"/>'
            f'<text x="{LABEL_WIDTH + width + 6:.1f}" y="{y + 15}" font-size="12">${span.cost_usd:.4f}</text>'
        )
    return f'<svg width="{CHART_WIDTH}" height="{len(steps) * ROW_HEIGHT}" role="img" aria-label="cost">{"".join(rows)}</svg>'


def _table(spans: list[Span]) -> str:
    head = "<tr><th>span</th><th>start (UTC)</th><th>positions</th><th class=num>duration</th><th class=num>model calls</th><th class=num>tokens</th><th class=num>cost (USD)</th></tr>"
    rows = []
    for span in spans:
        assert span.end is not None
        css = ' class="failed"' if span.ok is False else ""
        rows.append(
            f"<tr{css}><td>{escape(span.name.strip())}</td><td>{span.start.recorded_at:%H:%M:%S}</td>"
            f"<td>{span.start.position}-{span.end.position}</td><td class=num>{span.duration_s or 0:.2f} s</td>"
            f"<td class=num>{span.model_calls}</td><td class=num>{span.tokens}</td>"
            f"<td class=num>{span.cost_usd:.4f}</td></tr>"
        )
    return f"<table>{head}{''.join(rows)}</table>"
