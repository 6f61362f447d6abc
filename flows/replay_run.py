"""`replay_run`: run a recorded run again, offline, and check that it does the same; or fork it.

Replay runs the same flow body as `resolve_issue` with everything outside Tamma answered from
the recording: the model (`ReplayProvider`), the platform (`ReplayPlatform`), the humans
(recorded decisions). What Tamma itself does, it does again for real: it clones the recorded
base commit into a fresh workspace, applies the model's edits, runs the tests and the linter,
commits (with the recorded dates, so with the recorded shas). Its events go to a scratch store
and are compared with the recorded ones; the first difference is the report.

Fork (`from_position`) replays the run up to that position, then goes on live with a model of
the user's choice and the real platform, as a new run tagged `fork-of:<run>` that takes the
issue over; the recorded run's events are left as they are.
"""

from __future__ import annotations

import time
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from prefect import flow
from prefect.runtime import flow_run

from event_store import Event, EventStore, Query
from flows.resolve_issue import resolve_run
from tamma import event_types as et
from tamma.agent.settings import AgentSettings
from tamma.agent.workspace import workspace_key, workspaces_dir
from tamma.audit.compare import Divergence, Normalizer, first_divergence
from tamma.audit.recording import Recording
from tamma.audit.replay import Scratch, commit_clock, prepare_origin, recorded_workspace_path
from tamma.audit.replay_platform import ReplayPlatform
from tamma.config import Settings, load_settings
from tamma.errors import ConfigError
from tamma.platforms import platform_for
from tamma.providers import Provider, RecordingProvider, ReplayProvider, ScriptedProvider, build_provider
from tamma.recorder import Recorder
from tamma.redaction import Redactor
from tasks._context import ForkPoint, ReplayHooks, RunContext, RunOptions, guarded, new_run_id

__all__ = ["replay_run"]

REPLAY_POLL_S = 0.01
"""A replay's CI and clarification answers are already there: no reason to wait between polls."""


def _run_name() -> str:
    parameters = flow_run.parameters
    start = parameters.get("from_position")
    return f"{'fork' if start else 'replay'} {parameters['run_id']}" + (f" from {start}" if start else "")


@flow(name="replay-run", flow_run_name=_run_name, log_prints=True)
def replay_run(
    run_id: str,
    from_position: int | None = None,
    provider: str | None = None,
    script: str | None = None,
    keep: bool = False,
) -> dict[str, Any]:
    """Replay run `run_id` offline and compare it with its recording; with `from_position`, fork
    it there and go on live with `provider` (a configured provider's name) or `script` (a saved
    scripted model). `keep` leaves a replay's scratch directory for inspection."""
    settings = load_settings()
    if from_position is None:
        return _replay(settings, run_id, keep=keep)
    return _fork(settings, run_id, from_position, provider=provider, script=script)


def _replay(settings: Settings, run_id: str, *, keep: bool) -> dict[str, Any]:
    started = time.perf_counter()
    with EventStore(settings.event_store_url) as store:
        recording = Recording.load(store, run_id)
        scratch = Scratch.create(settings.home, run_id)
        redactor = Redactor(settings.secrets())
        try:
            origin, normalizer = _origin_and_normalizer(recording, scratch, settings)
        except BaseException:
            scratch.remove()
            raise
        with EventStore(scratch.store_url) as replay_store:
            recorder = Recorder(replay_store, [f"run:{run_id}", recording.ref.tag], redactor=redactor)
            model = ReplayProvider(store, f"run:{run_id}", redactor=redactor, normalize=normalizer.value)
            ctx = RunContext(
                run_id,
                recording.ref,
                _options(recording),
                _as_recorded(settings, recording),
                replay_store,
                recorder,
                ReplayPlatform(recording, origin=origin),
                RecordingProvider(model, replay_store, recorder.tags, redactor=redactor),
                replay=ReplayHooks(scratch.workspaces, commit_clock(recording), recording.decisions()),
            )
            stopped = _run(ctx)
            replayed = list(replay_store.read(Query.of(tags=[f"run:{run_id}"])))
    recorded = _own_events(recording.events, run_id)
    divergence = first_divergence(recorded, replayed, normalizer, stopped=stopped)
    if divergence is None and not keep:
        scratch.remove()
    report = _report(run_id, recording, replayed, divergence, started)
    report["scratch"] = str(scratch.root) if scratch.root.exists() else None
    print(_describe(report))
    return report


def _fork(
    settings: Settings, run_id: str, position: int, *, provider: str | None, script: str | None
) -> dict[str, Any]:
    live_model = _live_model(settings, provider, script)
    fork_id = new_run_id()
    with EventStore(settings.event_store_url) as store:
        recording = Recording.load(store, run_id, until=position)
        ref = recording.ref
        redactor = Redactor(settings.secrets())
        workspaces = workspaces_dir(settings.home) / f"fork-{fork_id}"
        normalizer = Normalizer(
            aliases=(
                (fork_id, run_id),
                (str(workspaces / workspace_key(ref)), recorded_workspace_path(recording, settings.home)),
            )
        )
        tags = [f"run:{fork_id}", ref.tag, f"fork-of:{run_id}"]
        recorder = Recorder(store, tags, redactor=redactor)
        model = ReplayProvider(
            store,
            f"run:{run_id}",
            redactor=redactor,
            until=position,
            then=live_model,
            normalize=normalizer.value,
        )
        ctx = RunContext(
            fork_id,
            ref,
            _options(recording),
            _as_recorded(settings, recording),
            store,
            recorder,
            ReplayPlatform(recording, origin="", live=guarded(platform_for(ref, settings), recorder)),
            RecordingProvider(model, store, recorder.tags, redactor=redactor),
            replay=ReplayHooks(
                workspaces, commit_clock(recording), recording.decisions(), ForkPoint(run_id, position)
            ),
        )
        print(f"forking run {run_id} at position {position} as run {fork_id}")
        summary = resolve_run(ctx)
        forked = _own_events(store.read(Query.of(tags=[f"run:{fork_id}"])), fork_id)
    prefix = _own_events(recording.prefix, run_id)
    claimed = summary["outcome"] != "already-claimed"
    divergence = first_divergence(prefix, forked[: len(prefix)], normalizer) if claimed else None
    summary |= {"forked_from": run_id, "position": position, "divergence": _divergence(divergence)}
    print(f"fork {fork_id}: {summary['outcome']}" + (f"\n{divergence}" if divergence else ""))
    return summary


def _own_events(events: Iterable[Event], run_id: str) -> list[Event]:
    """The run's events without what no replay can repeat: a fork's takeover of another run's
    claim (the scratch store has no claim to take over), the heartbeats of its lease, which
    follow the clock, not the run, and the claims another process of the same run lost in a race."""
    return [
        e
        for e in events
        if e.type not in (et.ISSUE_CLAIM_RENEWED, et.ISSUE_CLAIM_LOST)
        and not (e.type == et.ISSUE_RELEASED and e.data.get("run_id") != run_id)
    ]


def _run(ctx: RunContext) -> str | None:
    """Run the flow body; what stopped it, if it failed (a divergence in the model's or the
    platform's answers, or any other error), as text for the report."""
    try:
        resolve_run(ctx)
    except Exception as error:  # whatever stopped the replay is part of its report
        return f"{type(error).__name__}: {error}"
    return None


def _as_recorded(settings: Settings, recording: Recording) -> Settings:
    """The settings with the coding agent configured as in the recorded run: its test command,
    allowlist and budgets decide what the replay does, whatever tamma.yaml says today."""
    agent = recording.agent_settings
    return settings if agent is None else settings.model_copy(update={"agent": AgentSettings(**agent)})


def _options(recording: Recording) -> RunOptions:
    """The recorded run's policies, without its waits: the recording already has every answer."""
    recorded = {key: value for key, value in recording.options.items() if key in RunOptions.model_fields}
    fast = {"ci_poll_s": REPLAY_POLL_S, "clarification_poll_s": REPLAY_POLL_S, "script": None}
    return RunOptions.model_validate({**recorded, **fast})


def _origin_and_normalizer(
    recording: Recording, scratch: Scratch, settings: Settings
) -> tuple[str, Normalizer]:
    started = recording.workspace
    if started is None:
        return "", Normalizer()
    recorded_path = recorded_workspace_path(recording, settings.home)
    origin = prepare_origin(scratch.origin, recording, [recorded_path, started["clone_url"]])
    replay_path = str(scratch.workspaces / workspace_key(recording.ref))
    return origin, Normalizer(aliases=((replay_path, recorded_path), (origin, started["clone_url"])))


def _live_model(settings: Settings, name: str | None, script: str | None) -> Provider:
    if script is not None:
        return ScriptedProvider.from_file(Path(script))
    chain = [p for p in settings.providers if name is None or name in (p.display_name, p.kind)]
    if not chain:
        configured = ", ".join(p.display_name for p in settings.providers) or "none"
        raise ConfigError(f"no configured provider is called {name!r} (configured: {configured})")
    return build_provider(chain, prices=settings.prices, breaker=settings.breaker)


def _report(
    run_id: str, recording: Recording, replayed: list[Any], divergence: Divergence | None, started: float
) -> dict[str, Any]:
    return {
        "run_id": run_id,
        "identical": divergence is None,
        "recorded_events": len(recording.events),
        "replayed_events": len(replayed),
        "divergence": _divergence(divergence),
        "duration_s": round(time.perf_counter() - started, 3),
    }


def _divergence(divergence: Divergence | None) -> dict[str, Any] | None:
    if divergence is None:
        return None
    return {
        "position": divergence.position,
        "type": divergence.event_type,
        "detail": divergence.detail,
        "expected": divergence.expected,
        "actual": divergence.actual,
        "text": str(divergence),
    }


def _describe(report: dict[str, Any]) -> str:
    if report["identical"]:
        return (
            f"replay of {report['run_id']}: identical ({report['recorded_events']} events, "
            f"{report['duration_s']:.1f} s)"
        )
    return f"replay of {report['run_id']}: DIVERGED\n{report['divergence']['text']}"
