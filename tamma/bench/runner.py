"""Running a task set through the real `resolve_issue` flow, cell by cell, and judging it.

For each cell (a backend with a model) in turn, its tasks run `concurrency` at a time on
threads, as `backlog_sweep` runs issues. Each task gets a local platform of its own, named
after it, in the cell's TAMMA_HOME: set up (`prepare`), checked for fairness at the base
commit, resolved (plans approved by policy, stop at the merge checkpoint), then judged on its
pull request's head (`hidden_tests`). Figures come from the cell's event store.

The flow loads its settings from the environment, so the cell's variables are set in this
process for the cell's duration: cells run one after another, never side by side. The flow
itself is passed in (`Resolve`): the CLI hands over `resolve_issue`, since `tamma` does not
import Prefect.
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from event_store import EventStore
from tamma.audit.history import find_run
from tamma.audit.run_state import RunState, run_state
from tamma.bench.figures import run_figures
from tamma.bench.hidden_tests import HiddenTestRun, run_hidden_tests
from tamma.bench.matrix import Cell, cell_environment
from tamma.bench.prepare import PreparedTask, prepare_task
from tamma.bench.results import BenchReport, TaskResult, totals
from tamma.bench.task_files import BenchInputError, BenchTask
from tamma.config import Settings, load_settings
from tamma.errors import TammaError
from tamma.sandbox import Sandbox

__all__ = ["BenchPlan", "Resolve", "run_bench"]

Resolve = Callable[[str, str | None, str], object]
"""Resolve an issue reference with a model script (or None: the configured model) and an
agent backend; whatever it returns is ignored, the run's events say what happened."""


@dataclass(frozen=True)
class BenchPlan:
    tasks: Sequence[BenchTask]
    cells: Sequence[Cell]
    settings: Settings
    """The user's settings, loaded once; each cell passes them on with its model."""
    out: Path
    """Where each cell's TAMMA_HOME goes (`out/<cell>`)."""
    overrides: Mapping[str, Mapping[str, Any]] = field(default_factory=dict)
    """Settings sections changed for every cell (the shipped tasks' commands and sandbox)."""
    concurrency: int = 2

    def __post_init__(self) -> None:
        """A scripted cell needs every task's script: refused here, before anything runs."""
        if any(cell.providers is None for cell in self.cells):
            unscripted = [task.instance_id for task in self.tasks if task.script is None]
            if unscripted:
                raise BenchInputError(
                    f"--model scripted needs a `script` in every task; none in {', '.join(unscripted)}"
                )


@dataclass(frozen=True)
class _CellRun:
    cell: Cell
    settings: Settings
    """As the cell's runs load them."""
    resolve: Resolve
    judge: Sandbox
    """Where the hidden tests run: the sandbox the cell's settings configure."""


OnResult = Callable[[TaskResult], None]


def run_bench(plan: BenchPlan, resolve: Resolve, on_result: OnResult | None = None) -> BenchReport:
    """Every task in every cell; `on_result` hears of each task as it ends (from its thread)."""
    started = datetime.now(UTC)
    results: list[TaskResult] = []
    cells = []
    for cell in plan.cells:
        home = plan.out / cell.slug
        began = time.monotonic()
        with _environment(cell_environment(cell, plan.settings, home, plan.overrides)):
            settings = load_settings()
            run = _CellRun(cell, settings, resolve, Sandbox(settings.sandbox))
            cell_results = _run_cell(run, plan.tasks, plan.concurrency, on_result)
        results += cell_results
        elapsed = time.monotonic() - began
        cells.append(
            totals(cell_results, backend=cell.backend, model=cell.model, elapsed_s=elapsed, home=str(home))
        )
    elapsed = (datetime.now(UTC) - started).total_seconds()
    everything = totals(results, backend="all", model="all", elapsed_s=elapsed, home=str(plan.out))
    return BenchReport(started_at=started, tasks=results, cells=cells, total=everything)


def _run_cell(
    run: _CellRun, tasks: Sequence[BenchTask], concurrency: int, on_result: OnResult | None
) -> list[TaskResult]:
    """The cell's tasks, `concurrency` at a time; results in the tasks' order."""

    def one(task: BenchTask) -> TaskResult:
        result = run_task(task, run)
        if on_result is not None:
            on_result(result)
        return result

    pool = ThreadPoolExecutor(max(1, concurrency), thread_name_prefix="bench")
    try:
        return list(pool.map(one, tasks))
    finally:  # stopped by a signal: the tasks not started yet never start
        pool.shutdown(wait=True, cancel_futures=True)


def run_task(task: BenchTask, run: _CellRun) -> TaskResult:
    """Set the task up, check it is fair, resolve its issue, judge the pull request."""
    cell = run.cell
    named = {"instance_id": task.instance_id, "backend": cell.backend, "model": cell.model}
    try:
        prepared = prepare_task(task, run.settings.home)
        at_base = run_hidden_tests(task, prepared.remote, prepared.base_sha, prepared.base_sha, run.judge)
    except TammaError as error:
        return TaskResult(**named, outcome="error", reason=_line(error))
    if not at_base.fair_at_base:
        return TaskResult(
            **named,
            outcome="unfair",
            issue=prepared.issue_ref,
            reason=_unfair(at_base),
            judge_log=at_base.log,
        )
    began = time.monotonic()
    failure = _resolve(run, task, prepared)
    wall_s = round(time.monotonic() - began, 3)
    with EventStore(run.settings.event_store_url) as store:
        try:
            run_id = find_run(store, prepared.issue_ref)
        except TammaError:  # the run ended before it started: nothing was recorded
            return TaskResult(
                **named, outcome="error", issue=prepared.issue_ref, reason=failure, wall_s=wall_s
            )
        state, figures = run_state(store, run_id), run_figures(store, run_id)
    try:
        verdict = _judge(task, prepared, state, run.judge)
    except TammaError as error:  # e.g. the test patch does not apply to the pull request
        verdict, failure = None, f"the hidden tests could not run: {_line(error)}"
    return TaskResult(
        **named,
        outcome=state.outcome or "failed",
        resolved=verdict is not None and verdict.resolved,
        escalated=state.escalated is not None,
        reason=_reason(state, verdict, failure),
        run_id=run_id,
        issue=prepared.issue_ref,
        pull_request=state.pull_request["number"] if state.pull_request else None,
        fail_to_pass=verdict.fail_to_pass if verdict else None,
        pass_to_pass=verdict.pass_to_pass if verdict else None,
        judge_log=verdict.log if verdict else "",
        turns=figures.turns,
        tokens_in=figures.tokens_in,
        tokens_out=figures.tokens_out,
        cost_usd=figures.cost_usd,
        wall_s=wall_s,
    )


def _resolve(run: _CellRun, task: BenchTask, prepared: PreparedTask) -> str:
    """Run the flow; "" when it ended (whatever its outcome), else the error's one line."""
    script = str(task.script) if run.cell.providers is None and task.script else None
    try:
        run.resolve(prepared.issue_ref, script, run.cell.backend)
    except Exception as error:  # recorded as RUN.FAILED when the run got that far
        return _line(error)
    return ""


def _judge(task: BenchTask, prepared: PreparedTask, state: RunState, judge: Sandbox) -> HiddenTestRun | None:
    if state.pull_request is None:
        return None
    head = f"origin/{state.pull_request['head']}"
    return run_hidden_tests(task, prepared.remote, head, prepared.base_sha, judge)


def _reason(state: RunState, verdict: HiddenTestRun | None, failure: str) -> str:
    if state.escalated:
        return state.escalated
    if state.failure:
        return f"{state.failure['error']}: {state.failure['message']}"
    if failure:
        return failure
    if verdict is None:
        return "no pull request"
    failed = [
        name
        for name, ok in (("FAIL_TO_PASS", verdict.fail_to_pass), ("PASS_TO_PASS", verdict.pass_to_pass))
        if not ok
    ]
    return f"hidden tests failed on the pull request: {', '.join(failed)}" if failed else ""


def _unfair(at_base: HiddenTestRun) -> str:
    if at_base.fail_to_pass:
        return "FAIL_TO_PASS already passes at the base commit"
    return "PASS_TO_PASS fails at the base commit"


def _line(error: BaseException) -> str:
    text = str(error).strip()
    return f"{type(error).__name__}: {text.splitlines()[0]}" if text else type(error).__name__


@contextmanager
def _environment(variables: Mapping[str, str]) -> Iterator[None]:
    """`variables` set in this process's environment, the previous values back afterwards."""
    previous = {name: os.environ.get(name) for name in variables}
    os.environ.update(variables)
    try:
        yield
    finally:
        for name, value in previous.items():
            if value is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = value
