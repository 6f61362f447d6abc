"""How every step of a run is declared: a Prefect task retried for transient errors only.

A rate limit, an overloaded model, a dropped connection are worth another try; a budget, a
refused permission or a bad reference are not, and retrying them only delays the escalation.
Steps take the run's context (objects, not data), so Prefect's input caching is off.
"""

from __future__ import annotations

import functools
import time
from collections.abc import Callable
from typing import Any, TypeVar

from prefect import Task, task
from prefect.cache_policies import NONE
from prefect.client.schemas.objects import State, TaskRun

from event_store import EventStoreUnavailable
from tamma import event_types
from tamma.errors import PlatformError, PlatformRateLimited, PlatformUnreachable, ProviderError
from tamma.publishing import redact_exception

__all__ = ["is_transient", "step"]

F = TypeVar("F", bound=Callable[..., Any])
RETRY_DELAYS_S: list[float] = [2.0, 10.0, 30.0]


def is_transient(error: BaseException) -> bool:
    if isinstance(error, ProviderError):
        return error.retryable
    transient = (
        PlatformRateLimited | PlatformUnreachable | EventStoreUnavailable | ConnectionError | TimeoutError
    )
    if isinstance(error, transient):
        return True
    return isinstance(error, PlatformError) and error.status is not None and error.status >= 500


def _retry_transient(task: Task[..., Any], task_run: TaskRun, state: State[Any]) -> bool:
    error = state.result(raise_on_failure=False)
    return isinstance(error, BaseException) and is_transient(error)


def step(name: str) -> Callable[[F], F]:
    """`@step("plan")`: a task named `name`, with retries for transient errors only, whose every
    attempt is bracketed by STEP.STARTED and STEP.FINISHED events (the run's timeline)."""

    def decorate(function: F) -> F:
        @functools.wraps(function)
        def recorded(ctx: Any, *args: Any, **kwargs: Any) -> Any:
            ctx.recorder.record(event_types.STEP_STARTED, step=name)
            started = time.perf_counter()
            try:
                result = function(ctx, *args, **kwargs)
            except BaseException as error:
                redact_exception(error, ctx.recorder.redactor)  # before Prefect logs or stores it
                ctx.recorder.record(
                    event_types.STEP_FINISHED,
                    step=name,
                    ok=False,
                    error=type(error).__name__,
                    duration_s=round(time.perf_counter() - started, 4),
                )
                raise
            ctx.recorder.record(
                event_types.STEP_FINISHED,
                step=name,
                ok=True,
                duration_s=round(time.perf_counter() - started, 4),
            )
            return result

        return task(  # type: ignore[return-value]
            name=name,
            retries=len(RETRY_DELAYS_S),
            retry_delay_seconds=RETRY_DELAYS_S,
            retry_condition_fn=_retry_transient,
            cache_policy=NONE,
        )(recorded)

    return decorate
