"""Everything one `resolve_issue` run works with, opened once per flow run.

A run has its own id (`r-` + 8 hex), stable across restarts: a flow run started again with the
same `run_id` after a crash reads the run's events and continues from the last recorded step.
Its events are tagged `run:<id>` and `issue:<ref>`.
"""

from __future__ import annotations

import socket
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from functools import cached_property
from pathlib import Path
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from event_store import EventStore, Query
from tamma import event_types
from tamma.agent.settings import AgentBackendName
from tamma.agent.workspace import CommitClock
from tamma.audit.recording import RecordedDecision
from tamma.claims import continuable_run
from tamma.config import Settings, load_settings
from tamma.platforms import GitPlatform, GuardedPlatform, Issue, IssueRef, platform_for
from tamma.providers import Provider, RecordingProvider, ScriptedProvider, build_provider
from tamma.publishing import Publisher
from tamma.recorder import Recorder
from tamma.redaction import Redactor
from tamma.sandbox import Sandbox

__all__ = [
    "AnswersFrom",
    "ForkPoint",
    "MergePolicy",
    "ReplayHooks",
    "RunContext",
    "RunOptions",
    "guarded",
    "new_run_id",
    "open_run",
    "publisher_for",
]

MergePolicy = Literal["stop", "approve", "auto"]
AnswersFrom = Literal["reporter", "maintainers", "anyone"]


class RunOptions(BaseModel):
    """The policies of one run: flow parameters, so deployments and the CLI set them alike."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    auto_approve: bool = False
    """Approve the plan without asking (unattended sweeps); recorded as approved by policy."""
    merge_policy: MergePolicy = "stop"
    """stop: end at the merge checkpoint for a human; approve: ask, then merge; auto: merge."""
    approval_timeout_s: int = Field(default=86_400, gt=0)
    approval_poll_s: int = Field(default=5, gt=0)
    ambiguity_threshold: int = Field(default=70, ge=0, le=100)
    clarification_timeout_s: int = Field(default=86_400, gt=0)
    clarification_poll_s: float = Field(default=60.0, gt=0)
    answers_from: AnswersFrom = "maintainers"
    """Whose replies answer Tamma's questions: the reporter only; the reporter and maintainers
    (the issue's assignees); or anyone, others marked as such to the model."""
    ci_poll_s: float = Field(default=30.0, gt=0)
    ci_timeout_s: float = Field(default=3_600.0, gt=0)
    max_ci_fixes: int = Field(default=3, ge=0)
    agent: AgentBackendName | None = None
    """Who writes the code in this run (builtin, claude-code); None: the configured `agent.backend`."""
    script: str | None = None
    """A saved model script (`save_script`): the run uses a scripted model instead of the configured one."""


def new_run_id() -> str:
    return f"r-{uuid.uuid4().hex[:8]}"


@dataclass(frozen=True)
class ForkPoint:
    """The run a fork continues, and the position it goes live from."""

    run_id: str
    position: int


@dataclass(frozen=True)
class ReplayHooks:
    """What a replay (or a fork, up to its fork point) takes from the recording instead of the
    world: where its fresh workspaces go, the recorded commit dates (so replayed commits get
    the recorded shas) and the recorded decisions (so nobody is asked again)."""

    workspaces: Path
    commit_dates: CommitClock
    decision: Callable[[str], RecordedDecision | None]
    fork: ForkPoint | None = None
    """Set for a fork: it takes the issue's claim over from the run it forks."""


@dataclass
class RunContext:
    run_id: str
    ref: IssueRef
    options: RunOptions
    settings: Settings
    store: EventStore
    recorder: Recorder
    platform: GitPlatform
    provider: Provider
    worker: str = field(default_factory=socket.gethostname)
    replay: ReplayHooks | None = None

    @property
    def run_tag(self) -> str:
        return f"run:{self.run_id}"

    @cached_property
    def sandbox(self) -> Sandbox:
        """Where the run's repository code runs (tests, lint, commands): as configured."""
        return Sandbox(self.settings.sandbox)

    def issue(self) -> Issue:
        return self.platform.get_issue(self.ref.number)

    def close(self) -> None:
        self.store.close()


def open_run(
    issue_ref: str,
    options: RunOptions,
    run_id: str | None = None,
    settings: Settings | None = None,
    *,
    claimant: str = "",
) -> RunContext:
    """Parse the reference, open the store, the platform and the model (scripted or configured).
    Without `run_id`, the run is the issue's failed or expired one, or the one `claimant` (a
    Prefect flow run, retried) claimed earlier, if any: continued, not begun again."""
    ref = IssueRef.parse(issue_ref)
    settings = settings or load_settings()
    store = EventStore(settings.event_store_url)
    try:
        run_id = run_id or continuable_run(store, ref.tag, claimant, datetime.now(UTC)) or new_run_id()
        redactor = Redactor(settings.secrets())
        recorder = Recorder(store, [f"run:{run_id}", ref.tag], redactor=redactor)
        platform = guarded(platform_for(ref, settings), recorder)
        provider = RecordingProvider(
            _model(options, settings, store, run_id), store, recorder.tags, redactor=redactor
        )
    except BaseException:
        store.close()
        raise
    return RunContext(run_id, ref, options, settings, store, recorder, platform, provider)


def publisher_for(recorder: Recorder) -> Publisher:
    """The run's gate for published text: redacted, leak-checked, refusals recorded."""

    def refused(where: str, leaks: list[str]) -> None:
        recorder.record(event_types.PUBLISH_REFUSED, where=where, leaks=leaks)

    return Publisher(recorder.redactor, refused)


def guarded(platform: GitPlatform, recorder: Recorder) -> GuardedPlatform:
    """`platform` with every write going through the run's publisher."""
    return GuardedPlatform(platform, publisher_for(recorder))


def _model(options: RunOptions, settings: Settings, store: EventStore, run_id: str) -> Provider:
    if options.script is None:
        return build_provider(settings.providers, prices=settings.prices, breaker=settings.breaker)
    answered = Query.of(types=[event_types.AI_RESPONSE_RECEIVED], tags=[f"run:{run_id}"])
    return ScriptedProvider.from_file(Path(options.script), skip=sum(1 for _ in store.read(answered)))
