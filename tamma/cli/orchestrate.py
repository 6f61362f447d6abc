"""`tamma serve`, `tamma worker`, `tamma deploy`, `tamma sweep`: Tamma on Prefect's machinery.

The first three run Prefect's machinery with Tamma's defaults (the `tamma` process work pool,
Tamma's deployments, the UI pointed at its own API), so nobody needs to know the Prefect
incantations to run Tamma on a server and workers.
"""

from __future__ import annotations

import os
import shutil
import sys
from pathlib import Path
from typing import Annotated

import typer

from tamma.cli._options import DatabaseUrl
from tamma.cli._signals import run_child
from tamma.cli.metrics import MetricsHost, MetricsPort, serving_metrics
from tamma.errors import TammaError

WORK_POOL = "tamma"


def _prefect(*args: str, env: dict[str, str] | None = None, check: bool = True) -> int:
    """Run Prefect's CLI (from this environment) in the foreground; its exit code. A stop signal
    stops it too (see `run_child`)."""
    executable = shutil.which("prefect", path=str(Path(sys.executable).parent)) or shutil.which("prefect")
    if executable is None:
        raise TammaError("the prefect command is not installed in this environment")
    returncode = run_child([executable, *args], {**os.environ, **(env or {})})
    if check and returncode != 0:
        raise TammaError(f"prefect {' '.join(args[:2])} failed (exit code {returncode})")
    return returncode


def serve(
    host: Annotated[
        str, typer.Option(help="Address to listen on (0.0.0.0 for other machines).")
    ] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="Port of the UI and API.")] = 4200,
    metrics_port: MetricsPort = None,
    metrics_host: MetricsHost = None,
) -> None:
    """Start a Prefect server with its UI: watch runs and approve plans in the browser."""
    from tamma.cli._prefect import use_prefect
    from tamma.config import load_settings

    use_prefect(load_settings().home)
    shown = "127.0.0.1" if host == "0.0.0.0" else host
    typer.echo(f"Prefect UI at http://{shown}:{port}; workers use PREFECT_API_URL=http://{shown}:{port}/api")
    with serving_metrics(metrics_port, metrics_host):
        _prefect(
            "server",
            "start",
            "--host",
            host,
            "--port",
            str(port),
            env={"PREFECT_UI_API_URL": f"http://{shown}:{port}/api"},
        )


def worker(
    pool: Annotated[str, typer.Option(help="The work pool to take runs from.")] = WORK_POOL,
    run_once: Annotated[
        bool, typer.Option("--run-once", help="Take the runs scheduled now, then exit.")
    ] = False,
    limit: Annotated[
        int | None,
        typer.Option(
            min=1,
            help="At most this many flow runs at once on this machine (each running issue takes "
            "about 250 MB); default: no cap.",
        ),
    ] = None,
    metrics_port: MetricsPort = None,
    metrics_host: MetricsHost = None,
) -> None:
    """Run flows from the work pool on this machine (needs PREFECT_API_URL)."""
    if not os.environ.get("PREFECT_API_URL"):
        raise TammaError("set PREFECT_API_URL to the Prefect server's API (e.g. http://prefect:4200/api)")
    # the flow runs append, in processes of Prefect's worker: they get where to leave their timings
    with serving_metrics(metrics_port, metrics_host, children=True) as flow_run_env:
        _prefect(
            "worker",
            "start",
            "--pool",
            pool,
            "--type",
            "process",
            *(["--run-once"] if run_once else []),
            *(["--limit", str(limit)] if limit else []),
            env=flow_run_env,
        )


def deploy(
    pool: Annotated[
        str, typer.Option(help="The process work pool to create (if missing) and deploy to.")
    ] = WORK_POOL,
    max_runs: Annotated[
        int,
        typer.Option(
            min=1, help="Resolve-issue runs working at once over the whole pool (a global concurrency limit)."
        ),
    ] = 4,
) -> None:
    """Deploy resolve-issue, replay-run and backlog-sweep to the Prefect server, and create the
    work pool and the `tamma-runs` global concurrency limit that bounds the pool.

    The deployments name their flows by module, so workers run them from the Tamma installed
    beside them: no checkout is needed (the scheduled sweep works on $TAMMA_SWEEP_REPO)."""
    if not os.environ.get("PREFECT_API_URL"):
        raise TammaError("set PREFECT_API_URL to the Prefect server's API (e.g. http://prefect:4200/api)")
    from flows._slots import POOL_LIMIT, ensure_limit
    from flows.deployments import apply_deployments

    _prefect("work-pool", "create", pool, "--type", "process", check=False)  # exists already: fine
    ensure_limit(POOL_LIMIT, max_runs)
    for name in apply_deployments(pool):
        typer.echo(f"deployed {name} on work pool {pool!r}")


def sweep(
    repo: Annotated[
        str,
        typer.Argument(
            help="github:owner/repo, gitlab:group/project, gitea:owner/repo, azure:org/project/repo, bitbucket:workspace/repo or local:name."
        ),
    ],
    label: Annotated[str, typer.Option(help="Only issues with this label.")] = "tamma",
    limit: Annotated[int, typer.Option(min=1, help="At most this many issues.")] = 10,
    concurrency: Annotated[int, typer.Option(min=1, help="Runs at once.")] = 2,
    cooldown_s: Annotated[
        float, typer.Option("--cooldown", min=0, help="Seconds between starting runs.")
    ] = 5.0,
    script: Annotated[Path | None, typer.Option("--script", help="A saved scripted model session.")] = None,
    order: Annotated[str, typer.Option(help="oldest or newest issues first.")] = "oldest",
    priority_label: Annotated[
        list[str] | None,
        typer.Option("--priority-label", help="Issues with this label go first; repeat, most urgent first."),
    ] = None,
    database_url: DatabaseUrl = None,
) -> None:
    """Resolve the open, unclaimed issues of REPO labelled LABEL (plans approved by policy), in
    this process."""
    if order not in ("oldest", "newest"):
        raise typer.BadParameter("use oldest or newest", param_hint="--order")
    from tamma.cli._prefect import pin_event_store, use_prefect
    from tamma.cli._preflight import check_sandbox
    from tamma.config import load_settings

    settings = load_settings(database_url=database_url)
    check_sandbox(settings)
    use_prefect(settings.home)
    pin_event_store(settings.event_store_url)
    from flows.backlog_sweep import backlog_sweep

    results = backlog_sweep(
        repo,
        label=label,
        limit=limit,
        concurrency=concurrency,
        cooldown_s=cooldown_s,
        script=str(script.resolve()) if script else None,
        order="newest" if order == "newest" else "oldest",
        priority_labels=priority_label or [],
    )
    for result in results:
        typer.echo(f"{result['issue']}: {result['outcome']} (run {result['run_id']})")
    if not results:
        typer.echo(f"nothing to do: no open, unclaimed issue labelled {label!r} in {repo}")
