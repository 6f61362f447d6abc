"""What a bench found, per task and in total: the report's data, as JSON writes it.

Outcomes of a task:

    awaiting-merge, merged   the run ended at the merge checkpoint (or merged): a pull request
    escalated                the run handed the issue to a human (`reason` says why)
    failed                   the run stopped on an error (RUN.FAILED; `reason` has it)
    unfair                   skipped: at the base commit FAIL_TO_PASS already passes or
                             PASS_TO_PASS fails, so the task cannot measure anything
    error                    the bench could not set the task up (clone, base commit, ...)

`resolved` is separate from the outcome: the hidden tests pass on the pull request's head.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from pydantic import BaseModel, ConfigDict, computed_field

__all__ = ["BenchReport", "TaskResult", "Totals", "totals"]


class TaskResult(BaseModel):
    model_config = ConfigDict(frozen=True)

    instance_id: str
    backend: str
    model: str
    outcome: str
    resolved: bool = False
    escalated: bool = False
    reason: str = ""
    run_id: str | None = None
    issue: str | None = None
    pull_request: int | None = None
    fail_to_pass: bool | None = None
    """The hidden FAIL_TO_PASS tests on the pull request's head; None without one."""
    pass_to_pass: bool | None = None
    judge_log: str = ""
    """The tail of the first failing hidden-test run's output (at the base commit for an unfair task)."""
    turns: int = 0
    tokens_in: int = 0
    tokens_out: int = 0
    cost_usd: float = 0.0
    wall_s: float = 0.0
    """How long the run took, from the flow's start to its end (set-up and judging aside)."""

    @computed_field  # type: ignore[prop-decorator]
    @property
    def tokens(self) -> int:
        return self.tokens_in + self.tokens_out


class Totals(BaseModel):
    """Sums over a set of task results (one cell's, or all of them)."""

    model_config = ConfigDict(frozen=True)

    backend: str
    model: str
    tasks: int
    resolved: int
    escalated: int
    pull_requests: int
    turns: int
    tokens: int
    cost_usd: float
    wall_s: float
    """Sum of the tasks' wall times; with --concurrency the bench took less (`elapsed_s`)."""
    elapsed_s: float
    home: str = ""
    """The cell's TAMMA_HOME: its event store, platforms and workspaces, to look closer."""

    @computed_field  # type: ignore[prop-decorator]
    @property
    def resolve_rate(self) -> float:
        return round(self.resolved / self.tasks, 4) if self.tasks else 0.0


def totals(
    results: Sequence[TaskResult], *, backend: str, model: str, elapsed_s: float, home: str = ""
) -> Totals:
    return Totals(
        backend=backend,
        model=model,
        tasks=len(results),
        resolved=sum(result.resolved for result in results),
        escalated=sum(result.escalated for result in results),
        pull_requests=sum(result.pull_request is not None for result in results),
        turns=sum(result.turns for result in results),
        tokens=sum(result.tokens for result in results),
        cost_usd=round(sum(result.cost_usd for result in results), 8),
        wall_s=round(sum(result.wall_s for result in results), 3),
        elapsed_s=round(elapsed_s, 3),
        home=home,
    )


class BenchReport(BaseModel):
    model_config = ConfigDict(frozen=True)

    started_at: datetime
    tasks: list[TaskResult]
    cells: list[Totals]
    total: Totals
