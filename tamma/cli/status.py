"""`tamma status` and `tamma plan show`: where runs are, from their events alone."""

from __future__ import annotations

from typing import TYPE_CHECKING, Annotated, Any

import typer

from tamma.cli._options import DatabaseUrl, no_run, open_store
from tamma.cli._output import JsonOutput, console, emit_json, examples

if TYPE_CHECKING:
    from tamma.audit.run_state import RunState

plan_app = typer.Typer(help="Show a run's plan.", no_args_is_help=True)


def status(
    run_id: Annotated[str | None, typer.Argument(help="One run (r-...); default: the latest runs.")] = None,
    limit: Annotated[int, typer.Option(min=1, help="How many runs to list.")] = 20,
    as_json: JsonOutput = False,
    database_url: DatabaseUrl = None,
) -> None:
    """Runs, newest first, with their issue, phase (how they ended, once they have), pull
    request and cost so far, from the event store. A failed run is listed with its error and the
    command that continues it."""
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
        states = {rid: run_state(store, rid) for rid in reversed(run_ids)}
        if run_id is not None and not states[run_id].issue:
            raise no_run(run_id, store)
        store_url = store.url
    if as_json:
        emit_json({"store": store_url, "runs": [_run_json(rid, state) for rid, state in states.items()]})
        return
    if not run_ids:
        typer.echo("no runs yet; start one with `tamma run ISSUE_REF` or try `tamma demo`")
        return
    table = Table("run", "issue", "phase", "PR", "cost (USD)", box=None, header_style="bold")
    for rid, state in states.items():
        pull = f"#{state.pull_request['number']}" if state.pull_request else ""
        table.add_row(rid, state.issue or "?", state.phase, pull, f"{state.cost_usd:.4f}")
    out = console()
    out.print(table)
    for failure in (state.failure for state in states.values() if state.failure is not None):
        out.print(
            f"\n[red]failed[/red] {escape(failure['issue'])} in step {failure.get('step') or '?'}: "
            f"{failure['error']}: {escape(failure['message'])}\n  continue it: [bold]{escape(failure['resume'])}[/bold]",
            highlight=False,
            markup=True,
            soft_wrap=True,
        )


def _run_json(run_id: str, state: RunState) -> dict[str, Any]:
    """One run of `tamma status --json` (keys in docs/cli.md)."""
    pull = state.pull_request
    return {
        "run_id": run_id,
        "issue": state.issue or None,
        "phase": state.phase,
        "pull_request": {"number": pull["number"], "url": pull.get("url")} if pull else None,
        "cost_usd": state.cost_usd,
        "failure": state.failure,
    }


@plan_app.command(
    "show",
    epilog=examples(
        "tamma plan show r-1a2b3c4d",
        "tamma plan show r-1a2b3c4d --raw > plan.md",
        "tamma plan show r-1a2b3c4d --json",
    ),
)
def show_plan(
    run_id: Annotated[str, typer.Argument(help="The run (r-...).")],
    raw: Annotated[bool, typer.Option("--raw", help="Print the markdown source.")] = False,
    as_json: JsonOutput = False,
    database_url: DatabaseUrl = None,
) -> None:
    """The run's plan: the approved one (possibly edited), else the one proposed."""
    from rich.markdown import Markdown

    from tamma.audit.run_state import run_state
    from tamma.errors import TammaError

    with open_store(database_url) as store:
        state = run_state(store, run_id)
        if not state.issue:
            raise no_run(run_id, store)
    plan = state.approved_plan or state.plan
    if plan is None:
        raise TammaError(f"run {run_id} has no plan yet (it is {state.phase})")
    if as_json:
        emit_json(
            {
                "run_id": run_id,
                "phase": state.phase,
                "approved": state.approved_plan is not None,
                "plan": plan,
            }
        )
    elif raw:
        typer.echo(plan)
    else:
        console().print(Markdown(plan))
