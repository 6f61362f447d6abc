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
    """Runs with their issue, phase (or how they ended) and cost so far, from the event store.
    A failed run is listed with its error and the command that continues it."""
    from rich.console import Console
    from rich.markup import escape
    from rich.table import Table

    from event_store import Query
    from tamma import event_types
    from tamma.audit.run_state import run_of, run_state

    with open_store(database_url) as store:
        if run_id is None:
            claimed = store.read(Query.of(types=[event_types.ISSUE_CLAIMED]))
            run_ids = list(dict.fromkeys(run_of(event) for event in claimed))[-limit:]
        else:
            run_ids = [run_id]
        table = Table("run", "issue", "phase", "PR", "cost (USD)", box=None, header_style="bold")
        failed = []
        for rid in reversed(run_ids):
            state = run_state(store, rid)
            if not state.issue and run_id is not None:
                raise typer.BadParameter(f"no run {rid!r} in {store.url}", param_hint="RUN_ID")
            pull = f"#{state.pull_request['number']}" if state.pull_request else ""
            table.add_row(rid, state.issue or "?", state.phase, pull, f"{state.cost_usd:.4f}")
            if state.failure is not None:
                failed.append(state.failure)
    if not run_ids:
        typer.echo("no runs yet; start one with `tamma run ISSUE_REF` or try `tamma demo`")
        return
    console = Console()
    console.print(table)
    for failure in failed:
        console.print(
            f"\n[red]failed[/red] {escape(failure['issue'])} in step {failure.get('step') or '?'}: "
            f"{failure['error']}: {escape(failure['message'])}\n  continue it: [bold]{escape(failure['resume'])}[/bold]",
            highlight=False,
            markup=True,
            soft_wrap=True,
        )


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
