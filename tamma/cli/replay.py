"""`tamma replay`: run a recorded run again offline and check it does the same, or fork it."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from tamma.cli._options import DatabaseUrl, require_run

EXIT_DIVERGED = 1


def replay(
    run_id: Annotated[str, typer.Argument(help="The recorded run (r-...).")],
    from_position: Annotated[
        int | None,
        typer.Option(
            "--from",
            min=2,
            help="Fork: replay up to this position, then go on live as a new run (see `tamma history`).",
        ),
    ] = None,
    provider: Annotated[
        str | None,
        typer.Option(help="Fork: the configured provider (name or kind) that answers after the fork point."),
    ] = None,
    script: Annotated[
        Path | None,
        typer.Option("--script", exists=True, dir_okay=False, help="Fork: a saved scripted model instead."),
    ] = None,
    keep: Annotated[
        bool, typer.Option("--keep", help="Keep the replay's scratch directory even when it is identical.")
    ] = False,
    database_url: DatabaseUrl = None,
) -> None:
    """Replay RUN_ID with no network and no model: the model's answers, the platform's answers and
    the human decisions come from the recording, while the code is written, tested and
    committed again in a fresh workspace. Every event must match the recording; the first that
    does not is printed and the exit code is 1."""
    if from_position is None and (provider or script):
        raise typer.BadParameter("--provider and --script choose the model of a fork; add --from POSITION")
    if provider and script:
        raise typer.BadParameter("choose one of --provider and --script")
    from event_store import EventStore
    from tamma.audit.recording import Recording
    from tamma.cli._prefect import pin_event_store, use_prefect
    from tamma.cli._preflight import check_sandbox
    from tamma.config import load_settings

    settings = load_settings(database_url=database_url)
    check_sandbox(settings)
    with EventStore(settings.event_store_url) as store:  # a bad run or position fails here, fast
        require_run(store, run_id)
        Recording.load(store, run_id, until=from_position)
    use_prefect(settings.home)
    pin_event_store(settings.event_store_url)
    from flows.replay_run import replay_run

    result = replay_run(
        run_id,
        from_position=from_position,
        provider=provider,
        script=str(script.resolve()) if script else None,
        keep=keep,
    )
    if from_position is not None:
        _report_fork(result)
    elif result["identical"]:
        typer.echo(
            f"identical: {result['recorded_events']} events replayed in {result['duration_s']:.1f} s, "
            "no network, no model"
        )
    else:
        typer.echo(result["divergence"]["text"])
        typer.echo(f"the replay's workspace and events: {result['scratch']}")
        raise typer.Exit(EXIT_DIVERGED)


def _report_fork(result: dict[str, object]) -> None:
    if result["outcome"] == "already-claimed":
        typer.echo(
            f"not forked: run {result['holder']} holds the issue now (fork that run instead)", err=True
        )
        raise typer.Exit(EXIT_DIVERGED)
    typer.echo(f"fork {result['run_id']} of {result['forked_from']}: {result['outcome']}")
    divergence = result.get("divergence")
    if isinstance(divergence, dict):
        typer.echo(f"the replayed part did not match the recording:\n{divergence['text']}")
        raise typer.Exit(EXIT_DIVERGED)
    typer.echo(f"events: tamma events --run {result['run_id']}")
