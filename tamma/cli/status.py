"""`tamma status` and `tamma plan show`: where runs are, from their events alone."""

from __future__ import annotations

from typing import Annotated

import typer

from tamma.cli._options import DatabaseUrl, open_store

plan_app = typer.Typer(help="Show a run's plan.", no_args_is_help=True)


def status(
    run_id: Annotated[str | None, typer.Argument(help="One run (r-...); default: the latest runs.")] = None,
    limit: Annotated[int, typer.Option(min=1, help="How many runs to list.")] = 20,
    database_url: DatabaseUrl = None,
) -> None:
    """Runs with their issue, phase, outcome and cost so far (from the event store)."""
    from rich.console import Console
    from rich.table import Table

    from event_store import Query
    from tamma import event_types
    from tamma.audit.run_state import run_of, run_state

    with open_store(database_url) as store:
        if run_id is None:
            started = list(store.read(Query.of(types=[event_types.RUN_STARTED])))
            run_ids = [run_of(event) for event in started][-limit:]
        else:
            run_ids = [run_id]
        table = Table("run", "issue", "phase", "PR", "cost (USD)", box=None, header_style="bold")
        for rid in reversed(run_ids):
            state = run_state(store, rid)
            if not state.issue:
                raise typer.BadParameter(f"no run {rid!r} in {store.url}", param_hint="RUN_ID")
            pull = f"#{state.pull_request['number']}" if state.pull_request else ""
            table.add_row(rid, state.issue, state.phase, pull, f"{state.cost_usd:.4f}")
    if not run_ids:
        typer.echo("no runs yet; start one with `tamma run ISSUE_REF` or try `tamma demo`")
        return
    Console().print(table)


@plan_app.command("show")
def show_plan(
    run_id: Annotated[str, typer.Argument(help="The run (r-...).")],
    raw: Annotated[bool, typer.Option("--raw", help="Print the markdown source.")] = False,
    database_url: DatabaseUrl = None,
) -> None:
    """The run's plan: the approved one (possibly edited), else the one proposed."""
    from rich.console import Console
    from rich.markdown import Markdown

    from tamma.audit.run_state import run_state

    with open_store(database_url) as store:
        state = run_state(store, run_id)
    plan = state.approved_plan or state.plan
    if plan is None:
        raise typer.BadParameter(
            f"run {run_id!r} has no plan yet (phase: {state.phase})", param_hint="RUN_ID"
        )
    if raw:
        typer.echo(plan)
    else:
        Console().print(Markdown(plan))
