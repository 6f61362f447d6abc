"""`tamma bench`: a task set through the real flow, per backend and model, measured."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

if TYPE_CHECKING:
    from rich.console import Console

    from tamma.bench.results import BenchReport, TaskResult
    from tamma.bench.runner import BenchPlan, Resolve

EXIT_BAD_INPUT = 2


def bench(
    tasks: Annotated[
        list[Path] | None,
        typer.Argument(
            help="Task files (YAML, JSON, JSON Lines) or directories of them.", show_default=False
        ),
    ] = None,
    offline: Annotated[
        bool,
        typer.Option(
            "--offline", help="Run the shipped offline set with its scripted model: no network, no key."
        ),
    ] = False,
    backends: Annotated[
        list[str] | None,
        typer.Option("--backend", "-b", help="builtin or claude-code; repeat to compare. Default: builtin."),
    ] = None,
    models: Annotated[
        list[str] | None,
        typer.Option(
            "--model",
            "-m",
            help="scripted, configured, MODEL (Anthropic), anthropic:MODEL or openai:MODEL@BASE_URL; "
            "repeat to compare. Default: scripted with --offline, else configured (tamma.yaml).",
        ),
    ] = None,
    concurrency: Annotated[
        int, typer.Option("--concurrency", "-j", min=1, help="Tasks at once, per backend and model.")
    ] = 2,
    json_path: Annotated[Path | None, typer.Option("--json", help="Also write the results as JSON.")] = None,
    html_path: Annotated[
        Path | None, typer.Option("--html", help="Also write a static HTML page with charts.")
    ] = None,
    out: Annotated[
        Path | None,
        typer.Option(
            "--out",
            help="An empty directory for the runs (platforms, workspaces, event stores). "
            "Default: $TAMMA_HOME/bench/<date-time>.",
            show_default=False,
        ),
    ] = None,
    ci_poll_s: Annotated[
        float, typer.Option("--ci-poll", min=0.1, help="Seconds between CI status checks (CI is local).")
    ] = 1.0,
) -> None:
    """Resolve each task through the real resolve-issue flow on a local platform, per backend and
    model (plans approved by policy, each run stopping at the merge checkpoint), and report
    resolved (the hidden tests pass on the pull request's head), escalated, turns, tokens, cost
    and wall time, per task and in total. A bad task file or option: one line, exit code 2.
    See docs/bench.md for the task format and how to compare models on your own backlog."""
    from tamma.bench.task_files import BenchInputError

    try:
        plan = _plan(tasks or [], offline, backends, models, concurrency, out)
    except BenchInputError as error:
        typer.echo(f"tamma: error: {error}", err=True)
        raise typer.Exit(EXIT_BAD_INPUT) from None
    _run(plan, ci_poll_s, json_path, html_path)


def _plan(
    tasks: list[Path],
    offline: bool,
    backends: list[str] | None,
    models: list[str] | None,
    concurrency: int,
    out: Path | None,
) -> BenchPlan:
    """Everything checked and set up before Prefect starts: bad input fails in a second."""
    from tamma.bench.matrix import CONFIGURED, SCRIPTED, check_models, plan_cells
    from tamma.bench.offline import offline_overrides, write_offline_tasks
    from tamma.bench.runner import BenchPlan
    from tamma.bench.task_files import BenchInputError, load_tasks
    from tamma.cli._preflight import check_sandbox
    from tamma.config import load_settings

    if offline == bool(tasks):
        raise BenchInputError("give task files or --offline (the shipped set), one of the two")
    settings = load_settings()
    cells = plan_cells(backends or ["builtin"], models or [SCRIPTED if offline else CONFIGURED], settings)
    out = (out or settings.home / "bench" / f"{datetime.now(UTC):%Y%m%d-%H%M%S}").resolve()
    if out.exists() and any(out.iterdir()):
        raise BenchInputError(f"--out {out} is not empty; name a new directory")
    loaded = [] if offline else load_tasks(tasks)
    check_sandbox(settings)
    check_models(cells, settings)
    if offline:  # written only once everything else is known to be right
        loaded = load_tasks(write_offline_tasks(out / "tasks"))
    overrides = offline_overrides(settings.sandbox) if offline else {}
    plan = BenchPlan(loaded, cells, settings, out, overrides, concurrency)
    out.mkdir(parents=True, exist_ok=True)
    return plan


def _run(plan: BenchPlan, ci_poll_s: float, json_path: Path | None, html_path: Path | None) -> None:
    from tamma.bench.report import render_table
    from tamma.bench.runner import run_bench
    from tamma.cli._output import console as stdout_console
    from tamma.cli._prefect import quiet_stops, start_ephemeral_server, use_prefect

    console = stdout_console(highlight=False)
    where = use_prefect(plan.settings.home, console_level="CRITICAL")
    cells = ", ".join(cell.label for cell in plan.cells)
    console.print(
        f"tamma bench: {len(plan.tasks)} task(s) x {cells}, {plan.concurrency} at a time; "
        f"runs in {plan.out} ({where})",
        markup=False,
    )
    start_ephemeral_server()
    quiet_stops()
    report = run_bench(plan, _resolver(ci_poll_s), on_result=lambda result: _progress(console, result))
    console.print(render_table(report))
    _write(report, json_path, html_path, console)


def _resolver(ci_poll_s: float) -> Resolve:
    """The resolve-issue flow, in this process, unattended: plans approved by policy."""
    from flows.resolve_issue import resolve_in_process

    def resolve(issue_ref: str, script: str | None, backend: str) -> object:
        return resolve_in_process(
            issue_ref, auto_approve=True, ci_poll_s=ci_poll_s, script=script, agent=backend
        )

    return resolve


def _progress(console: Console, result: TaskResult) -> None:
    verdict = "resolved" if result.resolved else "not resolved"
    console.print(
        f"  {result.instance_id} ({result.backend} / {result.model}): {result.outcome}, {verdict} "
        f"in {result.wall_s:.1f} s, run {result.run_id or '-'}",
        markup=False,
    )


def _write(report: BenchReport, json_path: Path | None, html_path: Path | None, console: Console) -> None:
    from tamma.bench.page import render_html
    from tamma.bench.report import write_json

    if json_path is not None:
        write_json(report, json_path)
        console.print(f"results: {json_path}", markup=False)
    if html_path is not None:
        html_path.write_text(render_html(report))
        console.print(f"page: {html_path}", markup=False)
    for cell in report.cells:
        console.print(
            f"look closer at {cell.backend} / {cell.model}: TAMMA_HOME={cell.home} tamma status", markup=False
        )
