"""Each step's progress line in the Prefect flow run's logs, as `tamma run` prints it.

The recorder is where every event is written, so an observer on it sees each step as it
happens; `describe` makes the same one-line text as `tamma run`'s progress. The lines come from
stored events, which the recorder has redacted, and Prefect's log handlers redact once more
(`redact_logs`). An event recorded outside a flow or task run (a thread of the agent, a test
calling a step's plain function) has no run logger, and its line is left out.
"""

from __future__ import annotations

from prefect.exceptions import MissingContextError
from prefect.logging import get_run_logger

from event_store import Event
from tamma.audit.summaries import describe
from tasks._context import RunContext

__all__ = ["log_steps_to_prefect"]


def log_steps_to_prefect(ctx: RunContext) -> None:
    """From now on, log each step of the run at INFO in the current Prefect run (once per context)."""
    if _log_step not in ctx.recorder.observers:
        ctx.recorder.observers.append(_log_step)


def _log_step(event: Event) -> None:
    line = describe(event)
    if not line:
        return
    try:
        logger = get_run_logger()
    except MissingContextError:
        return
    logger.info(line)
