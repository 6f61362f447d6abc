"""Answering a run that waits for a decision, from any process that reaches its Prefect server.

The run records APPROVAL.REQUESTED (with its Prefect flow run id) just before it pauses, so
the answer may arrive a moment before the pause is in place, or before Prefect has stored
the input schema; `answer` retries for a short while until the run accepts it.
"""

from __future__ import annotations

import time
from typing import Any
from uuid import UUID

from event_store import EventStore
from tamma.errors import TammaError

__all__ = ["answer", "waiting_flow_run"]

ACCEPT_WITHIN_S = 60.0


def waiting_flow_run(store: EventStore, run_id: str) -> str:
    """The Prefect flow run id of `run_id`'s pending decision, or a clear error."""
    from tamma.audit.run_state import run_state

    state = run_state(store, run_id)
    if not state.issue:
        raise TammaError(f"no run {run_id!r} in {store.url}; `tamma status` lists the runs")
    if state.awaiting_approval is None:
        raise TammaError(f"run {run_id} is not waiting for a decision (it is {state.phase})")
    return state.awaiting_approval


def answer(flow_run_id: str, run_input: dict[str, Any]) -> None:
    """Resume the paused flow run with `run_input`, retrying while it is not yet paused."""
    from prefect.exceptions import FlowPauseTimeout
    from prefect.flow_runs import resume_flow_run

    deadline = time.monotonic() + ACCEPT_WITHIN_S
    while True:
        try:
            resume_flow_run(UUID(flow_run_id), run_input=run_input)
            return
        except FlowPauseTimeout:
            raise TammaError("the run stopped waiting: its approval timed out") from None
        except Exception as exc:  # not paused yet, schema not stored yet, server busy
            if time.monotonic() > deadline:
                raise TammaError(f"the run did not accept the decision: {exc}") from None
            time.sleep(0.5)
