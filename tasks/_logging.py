"""Each step, decision and tool call of a run as one log line, in Prefect's run logs and, with
`--log-format json`, as a JSON object on stderr (`tamma.logs`).

The recorder is where every event is written, so an observer on it sees each one as it happens.
A line's message is the one `tamma run` prints (`describe`), or says what a step or a tool did;
its fields (`run_id`, `issue`, `flow_run_id`, the step and agent phase, the tool, the decision)
let a log shipper filter without parsing prose. The event is redacted already (the recorder
did it); the line is redacted once more with the run's redactor, since its fields do not all
come from the event, and Prefect's handlers redact again (`redact_logs`).

A line goes to the Prefect run the event was recorded in (a task run, else the flow run), or
to the flow run that registered the observer when there is none (a thread of the agent); a
run followed outside any flow run has no Prefect logger, and only its JSON lines are written.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from prefect.exceptions import MissingContextError
from prefect.logging import get_run_logger
from prefect.runtime import flow_run

from event_store import Event
from tamma import event_types as et
from tamma.audit.summaries import describe
from tamma.logs import FIELDS, run_logger
from tamma.redaction import Redactor
from tasks._artifacts import follow_in_ui
from tasks._context import RunContext

__all__ = ["log_steps_to_prefect"]

RunLogger = logging.Logger | logging.LoggerAdapter[logging.Logger]


@dataclass(frozen=True)
class _Line:
    """What one event says in the logs: a level, the human message, the structured fields."""

    level: int
    message: str
    fields: dict[str, Any] = field(default_factory=dict)


def log_steps_to_prefect(ctx: RunContext) -> None:
    """From now on, log each step, decision and tool call of the run, and keep its live
    artifacts in the Prefect UI (`follow_in_ui`): once per context, however often it is called."""
    if any(isinstance(observer, _RunLines) for observer in ctx.recorder.observers):
        return
    ctx.recorder.observers.append(
        _RunLines(
            ctx.recorder.redactor,
            run_id=ctx.run_id,
            issue=str(ctx.ref),
            flow_run_id=str(flow_run.id) if flow_run.id else None,
            flow_logger=_prefect_logger(),
        )
    )
    follow_in_ui(ctx)


def _line(event: Event) -> _Line | None:
    """The line for `event`, or None for the detail no one follows in a log (a file's content,
    a claim's heartbeat, ...)."""
    data: dict[str, Any] = event.data
    message = describe(event)
    if message is None and event.type in _MESSAGES:
        message = _MESSAGES[event.type](data)
    if not message:
        return None
    fields = {key: data[key] for key in _FIELDS.get(event.type, ()) if key in data}
    if "phase" in data:
        fields["phase"] = data["phase"]
    if event.type in (et.APPROVAL_PROVIDED, et.APPROVAL_REJECTED):
        fields["decision"] = _decision(event)
    return _Line(_level(event), message, fields)


class _RunLines:
    """The observer: each event's line, redacted, to Tamma's run logger and to Prefect's."""

    def __init__(
        self,
        redactor: Redactor,
        *,
        run_id: str,
        issue: str,
        flow_run_id: str | None,
        flow_logger: RunLogger | None,
    ) -> None:
        self.redactor = redactor
        self.run = {"run_id": run_id, "issue": issue, "flow_run_id": flow_run_id}
        self.flow_logger = flow_logger
        self.step: str | None = None
        """The step under way: a tool call's line says which step it belongs to."""

    def __call__(self, event: Event) -> None:
        if event.type in (et.STEP_STARTED, et.STEP_FINISHED):
            self.step = event.data["step"] if event.type == et.STEP_STARTED else None
        line = _line(event)
        if line is None:
            return
        message = self.redactor.text(line.message)
        fields = self.redactor.value(
            {
                "event": event.type,
                "position": event.position,
                "actor": event.metadata.get("actor"),
                **self.run,
                "step": event.data.get("step", self.step),
                **line.fields,
            }
        )
        run_logger().log(line.level, message.strip(), extra={FIELDS: fields})
        prefect = _prefect_logger() or self.flow_logger
        if prefect is not None:
            prefect.log(line.level, message)


def _prefect_logger() -> RunLogger | None:
    """The logger of the Prefect task or flow run this thread is in, if any."""
    try:
        return get_run_logger()
    except MissingContextError:
        return None


def _step_finished(data: dict[str, Any]) -> str:
    if data["ok"]:
        return f"step {data['step']} finished in {data['duration_s']:.2f} s"
    return f"step {data['step']} failed ({data.get('error')}) after {data['duration_s']:.2f} s"


def _tool_result(data: dict[str, Any]) -> str:
    how = (
        "was refused" if data.get("refused") else "returned an error" if data.get("is_error") else "returned"
    )
    return f"  tool {data['tool']} {how}"


_MESSAGES: dict[str, Callable[[dict[str, Any]], str]] = {
    et.STEP_STARTED: lambda data: f"step {data['step']} started",
    et.STEP_FINISHED: _step_finished,
    et.TOOL_CALLED: lambda data: f"  tool {data['tool']} called",
    et.TOOL_RESULT: _tool_result,
    et.RUN_RESUMED: lambda data: f"run resumed on {data.get('worker')}: {data.get('after')}",
    et.RUN_FAILED: lambda data: f"run failed in step {data.get('step')}: {data['error']}: {data['message']}",
    et.PUBLISH_REFUSED: lambda data: f"withheld the {data['where']}: it still held a secret",
    et.PUSH_REFUSED: lambda data: f"push refused: {data['reason']}",
}
"""Lines for the events `describe` leaves out but a log should have."""

_FIELDS: dict[str, tuple[str, ...]] = {
    et.STEP_FINISHED: ("ok", "duration_s", "error"),
    et.TOOL_CALLED: ("tool", "call_id"),
    et.TOOL_RESULT: ("tool", "call_id", "is_error", "refused"),
    et.APPROVAL_REQUESTED: ("subject",),
    et.APPROVAL_PROVIDED: ("subject",),
    et.APPROVAL_REJECTED: ("subject", "reason"),
    et.RUN_COMPLETED: ("outcome",),
    et.RUN_FAILED: ("outcome", "error"),
    et.CI_STATUS_CHANGED: ("state", "sha"),
    et.PR_CREATED: ("number", "url"),
}
"""The event's data that a line carries as fields, beyond those every line has."""

_WARNINGS = {et.ESCALATION_TRIGGERED, et.BUDGET_EXCEEDED, et.PUBLISH_REFUSED, et.PUSH_REFUSED}


def _level(event: Event) -> int:
    if event.type == et.RUN_FAILED:
        return logging.ERROR
    failed_step = event.type == et.STEP_FINISHED and not event.data["ok"]
    refused_tool = event.type == et.TOOL_RESULT and event.data.get("refused")
    return logging.WARNING if failed_step or refused_tool or event.type in _WARNINGS else logging.INFO


def _decision(event: Event) -> str:
    """approve, edit or reject: what was decided, as `tamma approve` and the UI's form say it."""
    if event.type == et.APPROVAL_REJECTED:
        return "reject"
    return "edit" if event.data.get("edited") else "approve"
