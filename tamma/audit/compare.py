"""Comparing a replayed run's events with the recorded ones: where they first differ.

Two runs of the same flow on the same inputs write the same events, except for what is
different by nature: how long things took, which worker and Prefect flow run did the work,
the ids of model requests, the scratch places a replay works in, and the timings test runners
print. Those are left out or normalised; everything else, every tool result, file written,
commit (tree, dates and so sha), comment, pull request and CI state, must be equal. A model
request the provider retried (`AI.REQUEST.FAILED` with `retried: true`) is no part of what a
run did: a replay answers from the recording and never retries, so those are skipped.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from event_store import Event
from tamma import event_types as et
from tamma.json_diff import first_difference

__all__ = ["Divergence", "Normalizer", "first_divergence", "is_retried_request"]

_TIMINGS = frozenset({"duration_s", "latency_s", "wall_s", "request_id"})
"""Ignored at any depth: how long things took, and the ids of model requests."""
IGNORED_FIELDS: dict[str, frozenset[str]] = {
    et.ISSUE_CLAIMED: frozenset({"worker", "at", "claimant", "lease_s"}),
    et.RUN_STARTED: frozenset({"worker", "flow_run_id", "options", "fork_of", "sandbox"}),
    et.APPROVAL_REQUESTED: frozenset({"flow_run_id"}),
    et.AI_REQUEST_STARTED: frozenset({"provider"}),
}
"""Per event type, the fields that say who ran it and how, not what it did."""
_VOLATILE_TEXT = ((re.compile(r"\bin \d+(?:\.\d+)?s\b"), "in <duration>"),)
"""Timings printed by test runners ("3 passed in 0.10s")."""


@dataclass(frozen=True)
class Normalizer:
    """Rewrites what legitimately differs between a run and its replay, in both of them:
    `aliases` maps the replay's values (its scratch paths, its run id) to the recorded ones;
    the longest is replaced first, so a path that contains a run id is rewritten as a whole."""

    aliases: tuple[tuple[str, str], ...] = field(default=())

    def __post_init__(self) -> None:
        longest_first = tuple(sorted((a for a in self.aliases if a[0]), key=lambda alias: -len(alias[0])))
        object.__setattr__(self, "aliases", longest_first)  # once, not for every string

    def value(self, value: Any) -> Any:
        if isinstance(value, str):
            return self.text(value)
        if isinstance(value, dict):
            return {key: self.value(item) for key, item in value.items()}
        if isinstance(value, list | tuple):
            return [self.value(item) for item in value]
        return value

    def text(self, text: str) -> str:
        for replayed, recorded in self.aliases:
            text = text.replace(replayed, recorded)
        for pattern, replacement in _VOLATILE_TEXT:
            text = pattern.sub(replacement, text)
        return text


@dataclass(frozen=True)
class Divergence:
    """The first recorded event the replay did not reproduce."""

    position: int
    event_type: str
    detail: str
    expected: str = ""
    actual: str = ""

    def __str__(self) -> str:
        lines = [f"first divergence at position {self.position} ({self.event_type}): {self.detail}"]
        if self.expected or self.actual:
            lines += [f"  recorded: {self.expected}", f"  replayed: {self.actual}"]
        return "\n".join(lines)


def first_divergence(
    recorded: Sequence[Event],
    replayed: Sequence[Event],
    normalizer: Normalizer = Normalizer(),
    *,
    stopped: str | None = None,
) -> Divergence | None:
    """Pair the events in order; the first pair that differs, or the first event one side has
    and the other does not (`stopped`: why the replay ended early, if it failed)."""
    recorded = [event for event in recorded if not is_retried_request(event)]
    replayed = [event for event in replayed if not is_retried_request(event)]
    for expected, actual in zip(recorded, replayed, strict=False):
        if expected.type != actual.type:
            return Divergence(
                expected.position, expected.type, "a different event came next", expected.type, actual.type
            )
        difference = first_difference(
            _comparable(expected, normalizer), _comparable(actual, normalizer), expected.type
        )
        if difference is not None:
            recorded_text, replayed_text = _excerpts(difference.expected, difference.actual)
            return Divergence(
                expected.position, expected.type, f"{difference.path} differs", recorded_text, replayed_text
            )
    if len(replayed) < len(recorded):
        missing = recorded[len(replayed)]
        why = f"the replay stopped: {stopped}" if stopped else "the replay ended before this event"
        return Divergence(missing.position, missing.type, why)
    if len(replayed) > len(recorded):
        extra = replayed[len(recorded)]
        end = recorded[-1].position if recorded else 0
        return Divergence(end, extra.type, f"the replay went on past the recording with {extra.type}")
    if stopped:
        final = recorded[-1] if recorded else None
        return Divergence(
            final.position if final else 0, final.type if final else "", f"the replay failed: {stopped}"
        )
    return None


def is_retried_request(event: Event) -> bool:
    """A model request attempt that failed and was asked again: how long the answer took, not
    what it was."""
    return event.type == et.AI_REQUEST_FAILED and bool(event.data.get("retried"))


def _comparable(event: Event, normalizer: Normalizer) -> Any:
    ignored = IGNORED_FIELDS.get(event.type, frozenset())
    return normalizer.value(_without_timings({k: v for k, v in event.data.items() if k not in ignored}))


def _without_timings(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: _without_timings(v) for k, v in value.items() if k not in _TIMINGS}
    if isinstance(value, list):
        return [_without_timings(item) for item in value]
    return value


def _excerpts(expected: Any, actual: Any, limit: int = 200) -> tuple[str, str]:
    """Both values as one line each; two long texts are shown from a little before the first
    character where they differ, which is what a reader looks for."""
    left, right = (v if isinstance(v, str) else repr(v) for v in (expected, actual))
    same = next(
        (i for i, (a, b) in enumerate(zip(left, right, strict=False)) if a != b), min(len(left), len(right))
    )
    start = max(0, same - limit // 4) if max(len(left), len(right)) > limit else 0
    return _window(left, start, limit), _window(right, start, limit)


def _window(text: str, start: int, limit: int) -> str:
    shown = text[start : start + limit].replace("\n", "\\n")
    return ("…" if start else "") + shown + ("…" if start + limit < len(text) else "")
