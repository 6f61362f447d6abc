"""Resuming the run that waits for answers on an issue, when someone comments on it.

A deployment's run that asked the reporter questions suspends (`flows._clarify`) and holds no
process until it is resumed; resumed, it reads the issue again and decides itself whether a
reply counts (`answers_from`), suspending again if none does. So a new comment on the issue
is reason enough to resume it, whoever wrote it. Two sources name the run, each answering what
the other cannot:

- the event store knows which runs on the issue asked (CLARIFICATION.REQUESTED) and have no
  answer yet (no CLARIFICATION.RECEIVED), and each run's flow run (RUN.STARTED's `flow_run_id`,
  or RUN.RESUMED's `claimant` when another process continued it);
- Prefect knows whether that flow run is suspended now, and for what: its pause key is
  `<run id>-questions` (`-questions-<n>` from the second wait on) while it waits for answers,
  `<run id>-plan` or `-merge` while it waits for a decision, which a comment must never give.

Prefect orchestrates the resume: of two deliveries at once it accepts one, and the other
resumes nothing. The call to Prefect is the `Resumer` the CLI hands in
(`tamma.cli.webhooks.resume_suspended_for_answers`): nothing in `tamma/` outside the CLI
imports Prefect.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field, replace

from event_store import Event, EventStore, Projection, Query
from tamma import event_types as et
from tamma.audit.run_state import run_of

__all__ = ["EMPTY_ANSWER", "Resumer", "pause_is_for_answers", "resume_for_answers", "waiting_for_answers"]

EMPTY_ANSWER = {"answer": ""}
"""The input of `flows._clarify.Answers` that says "read the answer on the issue"."""

Resumer = Callable[[str, str], bool]
"""Resumes (run id, flow run id) if that flow run is suspended for the run's answers; whether it did."""


@dataclass(frozen=True)
class _Questions:
    """The runs on one issue: each one's latest flow run, and those whose questions are open."""

    flow_runs: dict[str, str] = field(default_factory=dict)
    open: tuple[str, ...] = ()
    """Run ids, the latest to ask last."""


def _apply(state: _Questions, event: Event) -> _Questions:
    run = run_of(event)
    if event.type == et.RUN_STARTED:
        return replace(state, flow_runs={**state.flow_runs, run: event.data["flow_run_id"]})
    if event.type == et.RUN_RESUMED:
        return replace(state, flow_runs={**state.flow_runs, run: event.data["claimant"]})
    others = tuple(asking for asking in state.open if asking != run)
    return replace(state, open=(*others, run) if event.type == et.CLARIFICATION_REQUESTED else others)


def waiting_for_answers(store: EventStore, ref: str) -> list[tuple[str, str]]:
    """(run id, flow run id) of each run on issue `ref` whose questions have no answer yet, the
    latest to ask first: the ones a comment may be answering."""
    types = [et.RUN_STARTED, et.RUN_RESUMED, et.CLARIFICATION_REQUESTED, et.CLARIFICATION_RECEIVED]
    state = Projection(_Questions(), _apply, Query.of(types=types, tags=[f"issue:{ref}"])).run(store).state
    return [(run, state.flow_runs[run]) for run in reversed(state.open) if run in state.flow_runs]


def resume_for_answers(store: EventStore, ref: str, resume: Resumer) -> str | None:
    """Resume the flow run suspended for answers on issue `ref` through `resume`; its id, or
    None when none is (no run asked, it is not suspended, or another delivery resumed it
    first). Prefect being unreachable is an error for the caller to report."""
    for run_id, flow_run_id in waiting_for_answers(store, ref):
        if resume(run_id, flow_run_id):
            return flow_run_id
    return None


def pause_is_for_answers(run_id: str, pause_key: str | None) -> bool:
    """Whether a flow run paused under `pause_key` waits for `run_id`'s answers (and not for a
    decision on its plan or merge, which a comment must never give)."""
    questions = f"{run_id}-questions"
    return pause_key is not None and (pause_key == questions or pause_key.startswith(f"{questions}-"))
