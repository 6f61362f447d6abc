"""`tamma audit export`: the event stream as rows for auditors and spreadsheets."""

from __future__ import annotations

import sys
from typing import Annotated

import typer

from tamma.cli._options import DatabaseUrl, open_store
from tamma.cli._output import examples

app = typer.Typer(help="Audit the event stream.", no_args_is_help=True)


@app.command(
    "export",
    epilog=examples(
        "tamma audit export --issue local:shop#1 --format csv > shop-1.csv",
        "tamma audit export --run r-1a2b3c4d --since 120 > run.jsonl",
    ),
)
def export_events(
    run_id: Annotated[str | None, typer.Option("--run", help="Only this run's events (r-...).")] = None,
    issue: Annotated[
        str | None, typer.Option("--issue", help="Only this issue's events (e.g. local:shop#1).")
    ] = None,
    since: Annotated[int, typer.Option("--since", min=0, help="Only events after this position.")] = 0,
    output: Annotated[str, typer.Option("--format", help="jsonl, json or csv.")] = "jsonl",
    database_url: DatabaseUrl = None,
) -> None:
    """Write one row per event to standard output, streamed (columns in docs/events.md)."""
    from tamma.audit.export import export
    from tamma.config import load_settings
    from tamma.redaction import Redactor

    if output not in ("jsonl", "json", "csv"):
        raise typer.BadParameter("use jsonl, json or csv", param_hint="--format")
    redactor = Redactor(load_settings(database_url=database_url).secrets())
    with open_store(database_url) as store:
        count = export(
            store,
            sys.stdout,
            run_id=run_id,
            issue=issue,
            after=since,
            output=output,  # type: ignore[arg-type]
            redactor=redactor,
        )
    typer.echo(f"{count} events", err=True)
