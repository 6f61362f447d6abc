"""`tamma history` and `tamma diff`: a run's timeline, its state at any past point, and what
changed between two points, from the event store alone."""

from __future__ import annotations

import difflib
from dataclasses import asdict, fields
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer

from tamma.cli._options import DatabaseUrl, no_run, open_store
from tamma.cli._output import JsonOutput, console, emit_json

if TYPE_CHECKING:
    from rich.console import Console

    from tamma.audit.history import Snapshot, Span
    from tamma.audit.run_state import RunState


def history(
    run_or_issue: Annotated[
        str, typer.Argument(help="A run (r-...) or an issue reference (its latest run).")
    ],
    at: Annotated[
        str | None,
        typer.Option(
            help="Show the full state at a position, an ISO timestamp, or where a step/phase finished."
        ),
    ] = None,
    html: Annotated[
        Path | None,
        typer.Option("--html", help="Also write the run as a static HTML report (timeline and cost charts)."),
    ] = None,
    as_json: JsonOutput = False,
    database_url: DatabaseUrl = None,
) -> None:
    """The run's timeline (steps, agent phases, approvals) with durations, tokens and cost."""
    from event_store import Query
    from tamma.audit.history import find_run, resolve_point, snapshot, timeline
    from tamma.audit.run_state import run_state_projection

    out = console(highlight=False)
    with open_store(database_url) as store:
        run_id = find_run(store, run_or_issue)
        events = list(store.read(Query.of(tags=[f"run:{run_id}"])))
        if not events:
            raise no_run(run_id, store)
        if at is not None:
            shot = snapshot(store, run_id, resolve_point(events, at))
            if as_json:
                emit_json(_snapshot_json(run_id, shot))
            else:
                _show_snapshot(out, run_id, shot)
            return
        spans = timeline(events)
        state = run_state_projection(run_id).fold(events).state
        if html is not None:
            from tamma.audit.report import render_report
            from tamma.config import load_settings
            from tamma.redaction import Redactor

            redactor = Redactor(load_settings(database_url=database_url).secrets())
            html.write_text(redactor.text(render_report(run_id, events)))
            if not as_json:
                out.print(f"report written to {html}")
    if as_json:
        emit_json(_timeline_json(run_id, state, spans))
    else:
        _show_timeline(out, run_id, state.issue, state.phase, state.cost_usd, spans)


def _timeline_json(run_id: str, state: RunState, spans: list[Span]) -> dict[str, Any]:
    """`tamma history --json` (keys in docs/cli.md)."""
    return {
        "run_id": run_id,
        "issue": state.issue,
        "phase": state.phase,
        "cost_usd": state.cost_usd,
        "spans": [
            {
                "name": span.name,
                "started_at": span.start.recorded_at.isoformat(),
                "start_position": span.start.position,
                "end_position": span.end.position if span.end else None,
                "duration_s": span.duration_s,
                "model_calls": span.model_calls,
                "tokens": span.tokens,
                "cost_usd": span.cost_usd,
                "ok": span.ok,
            }
            for span in spans
        ],
    }


def _snapshot_json(run_id: str, shot: Snapshot) -> dict[str, Any]:
    """`tamma history --at POINT --json`: the run's state then (keys in docs/cli.md)."""
    return {
        "run_id": run_id,
        "position": shot.position,
        "recorded_at": shot.recorded_at.isoformat(),
        "state": asdict(shot.state),
        "files": sorted(shot.files),
        "model_calls": shot.model_calls,
        "tokens": shot.tokens,
    }


def _show_timeline(
    console: Console, run_id: str, issue: str, phase: str, cost: float, spans: list[Span]
) -> None:
    from rich.table import Table

    table = Table(
        "span", "start (UTC)", "positions", "duration", "model calls", "tokens", "cost (USD)", "ok", box=None
    )
    for span in spans:
        duration = f"{span.duration_s:.1f} s" if span.duration_s is not None else "open"
        ended = span.end.position if span.end else "…"
        ok = {True: "yes", False: "NO", None: ""}[span.ok]
        table.add_row(
            span.name,
            f"{span.start.recorded_at:%H:%M:%S}",
            f"{span.start.position}-{ended}",
            duration,
            str(span.model_calls or ""),
            str(span.tokens or ""),
            f"{span.cost_usd:.4f}" if span.model_calls else "",
            ok,
        )
    console.print(f"[bold]run {run_id}[/bold]  {issue}  now: {phase}  cost so far ${cost:.4f}")
    console.print(table)


def _show_snapshot(console: Console, run_id: str, shot: Snapshot) -> None:
    from rich.markdown import Markdown

    state = shot.state
    console.print(
        f"[bold]run {run_id}[/bold] at position {shot.position} ({shot.recorded_at:%Y-%m-%d %H:%M:%S} UTC)"
    )
    console.print(f"phase: {state.phase}   CI: {state.ci_state or '-'}   CI repairs: {state.ci_fixes}")
    console.print(f"budget used: {shot.model_calls} model calls, {shot.tokens} tokens, ${state.cost_usd:.4f}")
    if state.pull_request:
        console.print(f"pull request: #{state.pull_request['number']} ({state.pull_request['head']})")
    plan = state.approved_plan or state.plan
    if plan:
        console.print("[bold]plan[/bold]")
        console.print(Markdown(plan))
    console.print(f"[bold]files written[/bold]: {', '.join(sorted(shot.files)) or 'none yet'}")
    if shot.last_response:
        blocks = shot.last_response["content"]
        said = " ".join(b.get("text", "") for b in blocks if b["type"] == "text").strip()
        calls = ", ".join(f"{b['name']}({', '.join(b['input'])})" for b in blocks if b["type"] == "tool_use")
        console.print(
            f"[bold]last model answer[/bold]: {said[:300] or '-'}  {('tools: ' + calls) if calls else ''}"
        )


def diff(
    run_id: Annotated[str, typer.Argument(help="The run (r-...).")],
    first: Annotated[str, typer.Argument(help="The earlier point: position, timestamp or step.")],
    second: Annotated[str, typer.Argument(help="The later point.")],
    database_url: DatabaseUrl = None,
) -> None:
    """What changed in a run between two points: its state, and the files the agent wrote."""
    from event_store import Query
    from tamma.audit.history import resolve_point, snapshot

    with open_store(database_url) as store:
        events = list(store.read(Query.of(tags=[f"run:{run_id}"])))
        if not events:
            raise no_run(run_id, store)
        before = snapshot(store, run_id, resolve_point(events, first))
        after = snapshot(store, run_id, resolve_point(events, second))
    typer.echo(f"run {run_id}: position {before.position} -> {after.position}")
    for item in fields(before.state):
        old, new = getattr(before.state, item.name), getattr(after.state, item.name)
        if old != new and item.name not in ("plan", "approved_plan"):
            typer.echo(f"  {item.name}: {_short(old)} -> {_short(new)}")
    for path in sorted(before.files.keys() | after.files.keys()):
        old_text, new_text = before.files.get(path, ""), after.files.get(path, "")
        if old_text != new_text:
            lines = difflib.unified_diff(
                old_text.splitlines(keepends=True),
                new_text.splitlines(keepends=True),
                fromfile=f"{path}@{before.position}",
                tofile=f"{path}@{after.position}",
            )
            typer.echo("".join(lines).rstrip())


def _short(value: object, limit: int = 100) -> str:
    text = repr(value)
    return text if len(text) <= limit else text[: limit - 1] + "…"
