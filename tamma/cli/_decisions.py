"""Answering a run that waits for a decision, whether or not its process is still alive.

The decision is first recorded in the event store (APPROVAL.PROVIDED or APPROVAL.REJECTED, under
the condition that nobody decided since the request), so it is never lost: a run whose process
died finds it when it is continued. Then the paused flow run is resumed through Prefect, from
any process that reaches its server. The run records APPROVAL.REQUESTED just before it pauses,
so the answer may arrive a moment before the pause is in place, or before Prefect has stored
the input schema; `answer` retries for a short while until the run accepts it.
"""

from __future__ import annotations

import time
from typing import Any
from uuid import UUID

from event_store import AppendCondition, AppendConditionFailed, EventStore, Query
from tamma import event_types
from tamma.errors import TammaError
from tamma.metrics import timed_append

__all__ = ["answer", "picked_up", "record_decision", "waiting_flow_run"]

ACCEPT_WITHIN_S = 60.0
_DECIDED = [event_types.APPROVAL_PROVIDED, event_types.APPROVAL_REJECTED]


def waiting_flow_run(store: EventStore, run_id: str) -> str:
    """The Prefect flow run id of `run_id`'s pending decision, or a clear error."""
    from tamma.audit.run_state import run_state
    from tamma.cli._options import no_run

    state = run_state(store, run_id)
    if not state.issue:
        raise no_run(run_id, store)
    if state.awaiting_approval is None:
        raise TammaError(f"run {run_id} is not waiting for a decision (it is {state.phase})")
    return state.awaiting_approval


def answer(flow_run_id: str, run_input: dict[str, Any], *, within_s: float = ACCEPT_WITHIN_S) -> bool:
    """Resume the waiting flow run with `run_input`, retrying while it is not yet paused; whether
    it was suspended (a deployment's run, which a worker of its pool now picks up again)."""
    from prefect.client.orchestration import get_client
    from prefect.exceptions import FlowPauseTimeout
    from prefect.flow_runs import resume_flow_run

    deadline = time.monotonic() + within_s
    while True:
        try:
            with get_client(sync_client=True) as client:
                state = client.read_flow_run(UUID(flow_run_id)).state
            resume_flow_run(UUID(flow_run_id), run_input=run_input)
            return state is not None and state.name == "Suspended"
        except FlowPauseTimeout:
            raise TammaError("the run stopped waiting: its approval timed out") from None
        except Exception as exc:  # not paused yet, schema not stored yet, server busy
            if time.monotonic() > deadline:
                raise TammaError(f"the run did not accept the decision: {exc}") from None
            time.sleep(0.5)


def record_decision(store: EventStore, run_id: str, run_input: dict[str, Any]) -> int:
    """Record the decision for `run_id`'s pending request; its position. Refused when someone
    decided since the request (the Prefect UI, another `tamma approve`)."""
    from tamma.audit.run_state import run_state
    from tamma.platforms import IssueRef
    from tamma.recorder import Recorder

    state = run_state(store, run_id)
    requested = list(store.read(Query.of(types=[event_types.APPROVAL_REQUESTED], tags=[f"run:{run_id}"])))
    subject = state.awaiting_subject or "plan"
    recorder = Recorder(store, [f"run:{run_id}", IssueRef.parse(state.issue).tag])
    if run_input["decision"] == "reject":
        event = recorder.event(
            event_types.APPROVAL_REJECTED, actor="user", subject=subject, reason=run_input.get("reason", "")
        )
    else:
        proposed = (state.plan or "") if subject == "plan" else ""
        chosen = run_input.get("plan") or proposed
        event = recorder.event(
            event_types.APPROVAL_PROVIDED,
            actor="user",
            subject=subject,
            plan=chosen,
            edited=chosen != proposed,
        )
    decided = AppendCondition(Query.of(types=_DECIDED, tags=[f"run:{run_id}"]), after=requested[-1].position)
    try:
        return timed_append(store, event, decided)
    except AppendConditionFailed:
        raise TammaError(
            f"run {run_id} was decided meanwhile (in the Prefect UI or another terminal)"
        ) from None


def picked_up(store: EventStore, run_id: str, after: int, within_s: float) -> bool:
    """Whether the run wrote anything after `after` within `within_s`: a live process woke up."""
    deadline = time.monotonic() + within_s
    query = Query.of(tags=[f"run:{run_id}"])
    while time.monotonic() < deadline:
        if next(iter(store.read(query, after=after)), None) is not None:
            return True
        time.sleep(0.25)
    return False
