"""`tamma demo`: the whole product on one machine, offline; what `make demo` runs."""

from __future__ import annotations

import json
import os
import shutil
import sys
from typing import Annotated

import typer

from tamma.cli._options import DatabaseUrl


def demo(
    ci_failure: Annotated[
        bool,
        typer.Option(
            "--ci-failure/--no-ci-failure", help="Script a first fix that CI rejects, to show the repair."
        ),
    ] = True,
    tour: Annotated[
        bool, typer.Option("--tour", help="Instead: a short tour of the event store (claims, time travel).")
    ] = False,
    database_url: DatabaseUrl = None,
) -> None:
    """Resolve a real bug in a small Python project, end to end, with a scripted model.

    Creates a local platform (a bare git remote, an issue tracker, CI that runs the tests) with
    a project whose `add()` subtracts and an issue about it, then runs the resolve-issue flow:
    analysis, plan, approval (asked at a terminal, automatic otherwise), tests that fail, the
    fix, a pull request, CI that fails and is repaired, and the stop at the merge checkpoint.
    Everything is real but the model's answers. State goes to $TAMMA_HOME/demo (replaced on
    each run).
    """
    if tour:
        _tour(database_url)
        return
    from tamma.cli._output import console as stdout_console
    from tamma.cli._prefect import use_prefect
    from tamma.cli._preflight import check_sandbox
    from tamma.cli._signals import resumable
    from tamma.cli.run import report, resume_command, run_in_foreground
    from tamma.config import load_settings
    from tamma.demo.scenario import agent_settings, build_world, sandbox_settings
    from tasks._context import new_run_id

    console = stdout_console(highlight=False)
    settings = load_settings()
    check_sandbox(settings)
    where = use_prefect(settings.home, console_level="CRITICAL")
    home = settings.home / "demo"
    shutil.rmtree(home, ignore_errors=True)
    home.mkdir(parents=True)
    store_url = database_url or f"sqlite:///{home / 'events.db'}"
    os.environ |= {
        "TAMMA_HOME": str(home),
        "TAMMA_AGENT": json.dumps(agent_settings()),
        "TAMMA_SANDBOX": json.dumps(sandbox_settings(settings.sandbox)),
    }
    world = build_world(home, ci_failure=ci_failure)
    interactive = sys.stdin.isatty()
    console.print(
        "[bold]Tamma demo[/bold]: a scripted model answers (no network, no API key). "
        "With a live model: [bold]export ANTHROPIC_API_KEY=...[/bold] and [bold]tamma run ISSUE_REF[/bold]."
    )
    console.print(
        f"project: {world.platform.remote} (local platform 'shop'), issue {world.issue_ref}; {where}"
    )
    if not interactive:
        console.print("not a terminal: the plan is approved automatically (recorded as approved by policy)")
    run_id = new_run_id()
    parameters = {
        "issue_ref": world.issue_ref,
        "run_id": run_id,
        "auto_approve": not interactive,
        "script": str(world.script),
        "ci_poll_s": 0.5,
    }
    prefix = f"TAMMA_HOME={home}"
    with resumable(f"{prefix} {resume_command(parameters)}"):  # the demo's world lives there
        result = run_in_foreground(console, store_url, run_id, parameters, interactive=interactive)
    branch = result["pull_request"]["head"] if result.get("pull_request") else "main"
    try:
        report(console, result)
    finally:
        console.print(
            f"\nlook closer:\n  {prefix} tamma status {run_id}\n  {prefix} tamma plan show {run_id}\n"
            f"  {prefix} tamma events --run {run_id} --limit 0\n"
            f"  {prefix} tamma history {run_id} --html run.html    # timeline and cost charts\n"
            f"  {prefix} tamma replay {run_id}                     # re-run it offline, compare every event\n"
            f"  git -C {world.platform.remote} log --oneline {branch}"
        )


def _tour(database_url: str | None) -> None:
    """The event store tour: an issue's lifecycle, two workers racing for a claim, time travel."""
    from event_store import EventStore
    from tamma.cli._output import console
    from tamma.config import load_settings
    from tamma.demo import event_store_tour
    from tamma.errors import TammaError

    if database_url is None:
        tour_db = load_settings().home / "tour" / "events.db"
        for previous_run in tour_db.parent.glob("events.db*"):
            previous_run.unlink()
        database_url = f"sqlite:///{tour_db}"
    with EventStore(database_url) as store:
        if store.head():
            raise TammaError(f"the tour needs an empty event store; {store.url} holds events")
        event_store_tour.present(store, database_url, console())
