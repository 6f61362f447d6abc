"""One recorded run, read once and indexed for a replay: what the world answered, in order.

A replay asks the same questions the run asked (the model, the platform, the humans) and gets
the recorded answers. `Recording.load(store, run_id)` reads the run's events; `until` cuts the
answers at a position, which is how a fork replays only the part of the run before its fork
point and goes live after it. Facts about the run as a whole (the issue, its options, the
workspace it started from) come from every event, wherever the cut is.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any, Literal

from event_store import Event, EventStore, Query
from tamma import event_types as et
from tamma.audit.compare import is_retried_request
from tamma.errors import TammaError
from tamma.platforms import Comment, Issue, IssueRef

__all__ = ["RecordedDecision", "Recording", "RunNotRecorded"]


class RunNotRecorded(TammaError):
    """The store has no events for the run, or not the ones a replay starts from."""


@dataclass(frozen=True)
class RecordedDecision:
    """A human's decision on a plan or a merge, as the recording has it."""

    decision: Literal["approve", "reject", "edit"]
    plan: str = ""
    reason: str = ""


@dataclass(frozen=True)
class Recording:
    run_id: str
    events: tuple[Event, ...]
    until: int | None = None
    """Answers come only from events before this position (a fork point); None: all of them."""

    @classmethod
    def load(cls, store: EventStore, run_id: str, *, until: int | None = None) -> Recording:
        events = tuple(store.read(Query.of(tags=[f"run:{run_id}"])))
        if not events:
            raise RunNotRecorded(f"no events recorded for run {run_id}; `tamma events` lists the runs")
        recording = cls(run_id, events, until)
        for needed in (et.RUN_STARTED, et.ISSUE_SELECTED):
            if recording.first(needed) is None:
                raise RunNotRecorded(f"run {run_id} has no {needed} event: it never claimed its issue")
        backend = recording.options.get("agent") or (recording.agent_settings or {}).get("backend", "builtin")
        if backend != "builtin":
            raise RunNotRecorded(
                f"run {run_id} had its code written by the {backend} backend, whose model calls a replay "
                "cannot answer; black-box replay covers runs of the builtin agent"
            )
        if until is not None and not events[0].position < until <= events[-1].position:
            raise RunNotRecorded(
                f"position {until} is outside run {run_id} "
                f"({events[0].position + 1}..{events[-1].position} can be forked from)"
            )
        return recording

    # -- facts about the whole run --------------------------------------------------------------

    def first(self, event_type: str) -> Event | None:
        return next((event for event in self.events if event.type == event_type), None)

    def _data(self, event_type: str) -> dict[str, Any]:
        event = self.first(event_type)
        assert event is not None, f"{event_type} is checked when the recording loads"
        return event.data

    @property
    def ref(self) -> IssueRef:
        return IssueRef.parse(self._data(et.RUN_STARTED)["issue"])

    @property
    def options(self) -> dict[str, Any]:
        return dict(self._data(et.RUN_STARTED).get("options", {}))

    @property
    def agent_settings(self) -> dict[str, Any] | None:
        """The coding agent's configuration the run used (test and lint commands, budgets)."""
        agent = self._data(et.RUN_STARTED).get("agent")
        return dict(agent) if agent is not None else None

    def issue(self) -> Issue:
        """The issue as the run saw it when it claimed it."""
        data = self._data(et.ISSUE_SELECTED)
        return Issue(
            ref=self.ref,
            title=data["title"],
            body=data["body"],
            state="open",
            labels=tuple(data.get("labels", ())),
            author=data.get("author", ""),
            url=data.get("url", ""),
            comments=tuple(Comment(**comment) for comment in data.get("comments", ())),
        )

    @property
    def workspace(self) -> dict[str, Any] | None:
        """The first WORKSPACE.OPENED: the clone URL, base branch and base commit it started from."""
        event = self.first(et.WORKSPACE_OPENED)
        return event.data if event else None

    @property
    def clarification(self) -> tuple[Comment, ...]:
        """The comments after the run's questions as the run read them from the issue: the
        replies it took as answers and the ones its `answers_from` policy passed over."""
        event = self.first(et.CLARIFICATION_RECEIVED)
        if event is None:
            return ()
        return tuple(Comment(**reply) for reply in event.data.get("seen", event.data.get("replies", ())))

    # -- answers, in the order the run got them ---------------------------------------------------

    @property
    def prefix(self) -> list[Event]:
        """The events before the cut: the part of the run a fork replays (less the retried model
        requests, which a replay does not repeat, so that it lines up with the fork's events)."""
        return [
            event
            for event in self.events
            if (self.until is None or event.position < self.until) and not is_retried_request(event)
        ]

    def answers(self, *event_types: str) -> list[Event]:
        """The events of these types before the cut, oldest first."""
        return [event for event in self.prefix if event.type in event_types]

    def commit_dates(self) -> Iterator[tuple[str, str]]:
        for event in self.answers(et.COMMIT_CREATED):
            if "author_date" in event.data:
                yield event.data["author_date"], event.data["committer_date"]

    def decisions(self) -> Callable[[str], RecordedDecision | None]:
        """Answers "what did the human decide on this subject?", once per recorded request for
        a decision: the replay asks where the recorded run paused."""
        asked = {et.APPROVAL_PROVIDED, et.APPROVAL_REJECTED}
        decided = [e for e in self.answers(*asked) if e.metadata.get("actor") == "user"]

        def next_decision(subject: str) -> RecordedDecision | None:
            event = next((e for e in decided if e.data["subject"] == subject), None)
            if event is None:
                return None
            decided.remove(event)
            if event.type == et.APPROVAL_REJECTED:
                return RecordedDecision("reject", reason=event.data.get("reason", ""))
            return RecordedDecision(
                "edit" if event.data.get("edited") else "approve", plan=event.data["plan"]
            )

        return next_decision

    def log_after(self, position: int, check: str) -> str | None:
        """The log of `check` that the first CI repair after `position` read."""
        for event in self.events:
            if event.type == et.CI_FIX_ATTEMPTED and event.position > position:
                log = event.data.get("logs", {}).get(check)
                return str(log) if log is not None else None
        return None
