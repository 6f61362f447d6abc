"""`tamma events`: list the event stream, filtered, as a table or as JSON lines."""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Annotated, Any

import typer

from tamma.cli._options import DatabaseUrl, open_store, require_run
from tamma.cli._output import console

if TYPE_CHECKING:
    from event_store import Event

_DATA_PREVIEW_CHARS = 80


def list_events(
    types: Annotated[
        list[str] | None,
        typer.Option("--type", "-t", help="Only events of this type; repeat for any of several types."),
    ] = None,
    tags: Annotated[
        list[str] | None,
        typer.Option(
            "--tag", help="Only events carrying this tag, e.g. issue:local:demo#1; repeat: all of them."
        ),
    ] = None,
    run_id: Annotated[
        str | None,
        typer.Option("--run", help="Only the events of this run (r-...): the same as --tag run:ID."),
    ] = None,
    after: Annotated[int, typer.Option(min=0, help="Only events after this position.")] = 0,
    limit: Annotated[int, typer.Option(min=0, help="Show at most this many events; 0 for no limit.")] = 50,
    as_json: Annotated[
        bool, typer.Option("--json", help="One JSON object per line (position, id, type, tags, data, ...).")
    ] = False,
    database_url: DatabaseUrl = None,
) -> None:
    """List events in position order."""
    from event_store import Query

    tags = [*(tags or ()), *([f"run:{run_id}"] if run_id else [])]
    query = Query.of(types=types or (), tags=tags) if types or tags else Query.all()
    with open_store(database_url) as store:
        if run_id:
            require_run(store, run_id)
        events = store.read(query, after=after, limit=limit or None)
        if as_json:
            for event in events:
                typer.echo(json.dumps(_as_json(event), ensure_ascii=False))
        else:
            _print_table(list(events), limit)


def _as_json(event: Event) -> dict[str, Any]:
    return {
        "position": event.position,
        "id": str(event.id),
        "type": event.type,
        "tags": list(event.tags),
        "data": event.data,
        "metadata": event.metadata,
        "recorded_at": event.recorded_at.isoformat(),
    }


def _print_table(events: list[Event], limit: int) -> None:
    from rich.table import Table

    out = console()
    if not events:
        out.print("No events match.")
        return
    table = Table("pos", "recorded (UTC)", "type", "tags", "data", box=None, header_style="bold")
    for event in events:
        data = json.dumps(event.data, ensure_ascii=False)
        if len(data) > _DATA_PREVIEW_CHARS:
            data = data[: _DATA_PREVIEW_CHARS - 1] + "…"
        table.add_row(
            str(event.position),
            event.recorded_at.strftime("%Y-%m-%d %H:%M:%S"),
            event.type,
            ", ".join(event.tags),
            data,
        )
    out.print(table)
    if limit and len(events) == limit:
        out.print(f"[dim]First {limit} shown; continue with --after {events[-1].position}.[/dim]")
