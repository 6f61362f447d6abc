"""`tamma run`, `tamma approve`, `tamma reject`: resolve an issue and answer its questions."""

from __future__ import annotations

import shlex
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import click
import typer

from tamma.cli._options import DatabaseUrl

if TYPE_CHECKING:
    from rich.console import Console

    from event_store import Event
    from tamma.platforms import IssueRef

MergePolicyOption = Annotated[
    str,
    typer.Option(
        "--merge",
        help="At the merge checkpoint: stop (a human merges), approve (ask, then merge), auto (merge).",
    ),
]

EXIT_ESCALATED = 2
DEAD_RUN_WITHIN_S = 20.0
"""How long `tamma approve` waits for a paused run to take the decision before calling it dead."""


def run(
    issue_ref: Annotated[
        str,
        typer.Argument(
            help="github:owner/repo#12, gitlab:group/project#3, gitea:owner/repo#4, azure:org/project/repo#5, bitbucket:workspace/repo#6, local:name#1 or a URL."
        ),
    ],
    run_id: Annotated[
        str | None, typer.Option("--run-id", help="Continue this earlier run of the issue (after a crash).")
    ] = None,
    auto_approve: Annotated[
        bool, typer.Option("--auto-approve", help="Approve the plan without asking (recorded as policy).")
    ] = False,
    merge_policy: MergePolicyOption = "stop",
    script: Annotated[
        Path | None,
        typer.Option(
            "--script", help="Answer with a saved scripted model session instead of the configured model."
        ),
    ] = None,
    ci_poll_s: Annotated[
        float, typer.Option("--ci-poll", min=0.1, help="Seconds between CI status checks.")
    ] = 30.0,
    agent: Annotated[
        str | None,
        typer.Option(
            "--agent",
            help="Who writes the code: builtin (Tamma's tool loop) or claude-code "
            "(needs pip install 'tamma[claude-code]'). Default: agent.backend in tamma.yaml.",
        ),
    ] = None,
    database_url: DatabaseUrl = None,
) -> None:
    """Resolve one issue: analyze, plan, approve, implement test-first, open a PR, watch CI.

    Runs the resolve-issue flow in this process (Prefect's ephemeral server unless
    PREFECT_API_URL is set). At a terminal it asks `Approve plan? [Y/n/e(dit)]` itself;
    otherwise approve from another terminal (`tamma approve RUN`), or in the Prefect UI.

    Exit code: 0 when the run reached the merge checkpoint, merged, or a person decided to
    stop it; 2 when it escalated to a human; 1 on errors.
    """
    from tamma.cli._output import console as stdout_console
    from tamma.cli._prefect import use_prefect
    from tamma.cli._preflight import check_agent_prices, check_sandbox
    from tamma.config import load_settings
    from tamma.errors import TammaError
    from tamma.platforms import IssueRef
    from tasks._context import new_run_id

    if merge_policy not in ("stop", "approve", "auto"):
        raise typer.BadParameter("use stop, approve or auto", param_hint="--merge")
    if agent not in (None, "builtin", "claude-code"):
        raise typer.BadParameter("use builtin or claude-code", param_hint="--agent")
    settings = load_settings(database_url=database_url)
    ref = IssueRef.parse(issue_ref, gitea_hosts=settings.platforms.gitea.web_hosts)
    check_sandbox(settings)
    check_agent_prices(settings, agent)
    console = stdout_console(highlight=False)
    where = use_prefect(settings.home, console_level="CRITICAL")
    given = run_id is not None
    run_id = run_id or _continued_run(console, settings.event_store_url, ref) or new_run_id()
    console.print(f"[bold]Tamma[/bold] run [cyan]{run_id}[/cyan] for {ref}  [dim]({where})[/dim]")
    parameters: dict[str, Any] = {
        "issue_ref": str(ref),
        "run_id": run_id,
        "continue_own": given,
        "auto_approve": auto_approve,
        "merge_policy": merge_policy,
        "script": str(script.resolve()) if script else None,
        "ci_poll_s": ci_poll_s,
        "agent": agent,
    }
    interactive = sys.stdin.isatty() and not auto_approve
    try:
        result = run_in_foreground(
            console, settings.event_store_url, run_id, parameters, interactive=interactive
        )
    except Exception as error:  # recorded as RUN.FAILED; the details are in the run's events
        message = str(error).strip().splitlines()[0] if str(error).strip() else type(error).__name__
        raise TammaError(
            f"run {run_id} failed ({type(error).__name__}: {message}); "
            f"continue it with `{resume_command(parameters)}` (details: tamma events --run {run_id})"
        ) from None
    report(console, result)


def _continued_run(console: Console, store_url: str, ref: IssueRef) -> str | None:
    """The issue's run to continue, if it failed or its claim expired (its process died)."""
    from datetime import UTC, datetime

    from event_store import EventStore
    from tamma.claims import continuable_run

    with EventStore(store_url) as store:
        run_id = continuable_run(store, ref.tag, "", datetime.now(UTC))
    if run_id:
        console.print(f"continuing run [cyan]{run_id}[/cyan]: it stopped before it finished")
    return run_id


def run_in_foreground(
    console: Console, store_url: str, run_id: str, parameters: dict[str, Any], *, interactive: bool
) -> dict[str, Any]:
    """The flow in the foreground, its events followed on a background thread; stopped by a
    signal, it names the command that continues it."""
    from flows.resolve_issue import resolve_in_process
    from tamma.cli._prefect import pin_event_store, quiet_stops, start_ephemeral_server
    from tamma.cli._progress import RunWatcher
    from tamma.cli._signals import resumable

    pin_event_store(store_url)
    start_ephemeral_server()
    quiet_stops()
    on_approval = (
        (lambda event: _ask(console, store_url, event))
        if interactive
        else (lambda event: _explain_waiting(console, run_id, event))
    )
    watcher = RunWatcher(store_url, run_id, console, on_approval=on_approval, show_plan=not interactive)
    watcher.start()
    try:
        with resumable(resume_command(parameters)):
            return resolve_in_process(**parameters)
    finally:
        watcher.stop()


def resume_command(parameters: dict[str, Any]) -> str:
    """`tamma run` with the same issue, run id and choices: it continues where the run stopped."""
    words = ["tamma", "run", parameters["issue_ref"], "--run-id", parameters["run_id"]]
    if parameters.get("script"):
        words += ["--script", parameters["script"]]
    if parameters.get("auto_approve"):
        words.append("--auto-approve")
    if parameters.get("merge_policy", "stop") != "stop":
        words += ["--merge", parameters["merge_policy"]]
    if parameters.get("agent"):
        words += ["--agent", parameters["agent"]]
    return shlex.join(words)


def _ask(console: Console, store_url: str, event: Event) -> None:
    """The terminal's answer to a paused run: approve, reject or edit."""
    from rich.markdown import Markdown

    from event_store import EventStore
    from tamma.audit.run_state import run_of, run_state
    from tamma.cli._decisions import answer

    subject = event.data["subject"]
    with EventStore(store_url) as store:
        state = run_state(store, run_of(event))
    if subject == "plan":
        console.print(Markdown(state.plan or ""))
        choice = typer.prompt("Approve plan? [Y/n/e(dit)]", default="y", show_default=False).strip().lower()
    else:
        choice = (
            typer.prompt("Merge the pull request? [y/N]", default="n", show_default=False).strip().lower()
        )
    if choice.startswith("e") and subject == "plan":
        edited = click.edit(state.plan or "") or state.plan or ""
        answer(event.data["flow_run_id"], {"decision": "edit", "plan": edited})
    elif choice.startswith("y"):
        answer(event.data["flow_run_id"], {"decision": "approve"})
    else:
        reason = typer.prompt("Why? (recorded)", default="", show_default=False)
        answer(event.data["flow_run_id"], {"decision": "reject", "reason": reason})


def _explain_waiting(console: Console, run_id: str, event: Event) -> None:
    console.print(
        f"  waiting: [bold]tamma approve {run_id}[/bold] [--edit FILE], "
        f"[bold]tamma reject {run_id} --reason ...[/bold], or Resume in the Prefect UI"
    )


def report(console: Console, result: dict[str, Any]) -> None:
    outcome = result["outcome"]
    pull = result.get("pull_request") or {}
    console.print(f"\n[bold]{outcome}[/bold]  run {result['run_id']}  cost ${result.get('cost_usd', 0):.4f}")
    if pull:
        console.print(f"pull request #{pull['number']} {pull.get('url') or ''} (branch {pull['head']})")
    console.print(f"events: tamma events --run {result['run_id']}")
    if outcome == "already-claimed":
        raise typer.Exit(1)
    if outcome == "escalated":
        raise typer.Exit(EXIT_ESCALATED)


def approve(
    run_id: Annotated[
        str, typer.Argument(help="The Tamma run id (r-...), as `tamma run` and `tamma status` show it.")
    ],
    edit: Annotated[
        Path | None,
        typer.Option(
            "--edit", help="Approve this edited plan (a markdown file) instead.", exists=True, dir_okay=False
        ),
    ] = None,
    database_url: DatabaseUrl = None,
) -> None:
    """Approve the plan (or the merge) a waiting run asks about."""
    run_input: dict[str, Any] = {"decision": "approve"}
    if edit is not None:
        run_input = {"decision": "edit", "plan": edit.read_text()}
    _decide(run_id, run_input, database_url, "edited plan approved" if edit else "approved")


def reject(
    run_id: Annotated[str, typer.Argument(help="The Tamma run id (r-...).")],
    reason: Annotated[str, typer.Option("--reason", help="Why (recorded with the decision).")] = "",
    database_url: DatabaseUrl = None,
) -> None:
    """Reject the plan (or the merge) a waiting run asks about; the run stops."""
    _decide(run_id, {"decision": "reject", "reason": reason}, database_url, "rejected")


def _decide(run_id: str, run_input: dict[str, Any], database_url: str | None, done: str) -> None:
    """Record the decision, then wake the paused run up; say whether a live process took it."""
    from tamma.audit.run_state import run_state
    from tamma.cli._decisions import answer, picked_up, record_decision, waiting_flow_run
    from tamma.cli._options import open_store
    from tamma.cli._prefect import use_prefect
    from tamma.config import load_settings
    from tamma.errors import TammaError

    use_prefect(load_settings(database_url=database_url).home)
    with open_store(database_url) as store:
        flow_run_id = waiting_flow_run(store, run_id)
        position = record_decision(store, run_id, run_input)
        try:
            suspended = answer(flow_run_id, run_input, within_s=DEAD_RUN_WITHIN_S)
            live = suspended or picked_up(store, run_id, after=position, within_s=DEAD_RUN_WITHIN_S)
        except TammaError:  # no Prefect run paused there any more
            suspended = live = False
        issue = run_state(store, run_id).issue
    if suspended:
        typer.echo(f"run {run_id}: {done}; its flow run is scheduled again, for a worker of its pool")
    elif live:
        typer.echo(f"run {run_id}: {done}; the run goes on")
    else:
        typer.echo(
            f"run {run_id}: {done} and recorded; no process is running it: "
            f"continue it with `tamma run {issue} --run-id {run_id}`"
        )
