"""What a replay counts as the same run, and how it reports the first difference."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from typing import Any

from event_store import Event
from tamma import event_types as et
from tamma.audit.compare import Normalizer, first_divergence


def event(position: int, event_type: str, **data: Any) -> Event:
    return Event(position, uuid.uuid4(), event_type, {"v": 1, **data}, ("run:r-1",), {}, datetime.now(UTC))


RECORDED = [
    event(1, et.STEP_STARTED, step="implement"),
    event(2, et.TOOL_RESULT, tool="run_tests", content="$ pytest: exit code 0\n3 passed in 0.10s"),
    event(3, et.STEP_FINISHED, step="implement", ok=True, duration_s=3.2),
]


def test_timings_worker_details_and_aliases_are_not_differences() -> None:
    replayed = [
        event(7, et.STEP_STARTED, step="implement"),
        event(8, et.TOOL_RESULT, tool="run_tests", content="$ pytest: exit code 0\n3 passed in 1.73s"),
        event(9, et.STEP_FINISHED, step="implement", ok=True, duration_s=0.4),
    ]
    assert first_divergence(RECORDED, replayed) is None

    recorded_path = [event(1, et.WORKSPACE_OPENED, path="/home/me/.tamma/workspaces/local-shop-1")]
    scratch_path = [event(1, et.WORKSPACE_OPENED, path="/tmp/replay-x/workspaces/local-shop-1")]
    assert first_divergence(recorded_path, scratch_path) is not None
    aliased = Normalizer(aliases=(("/tmp/replay-x/workspaces", "/home/me/.tamma/workspaces"),))
    assert first_divergence(recorded_path, scratch_path, aliased) is None


def test_the_first_differing_field_is_named_with_both_values() -> None:
    replayed = [RECORDED[0], event(2, et.TOOL_RESULT, tool="run_tests", content="exit code 1"), RECORDED[2]]
    divergence = first_divergence(RECORDED, replayed)
    assert divergence is not None
    assert (divergence.position, divergence.event_type) == (2, et.TOOL_RESULT)
    assert divergence.detail == "TOOL.RESULT.content differs"
    assert divergence.expected == "$ pytest: exit code 0\\n3 passed in <duration>"
    assert divergence.actual == "exit code 1"
    assert str(divergence).startswith("first divergence at position 2 (TOOL.RESULT)")


def test_a_different_event_a_missing_tail_and_an_extra_event_diverge() -> None:
    other_type = first_divergence(RECORDED, [RECORDED[0], event(2, et.TESTS_RAN, passed=True)])
    assert other_type is not None
    assert (other_type.position, other_type.expected, other_type.actual) == (2, et.TOOL_RESULT, et.TESTS_RAN)

    stopped = first_divergence(RECORDED, RECORDED[:1], stopped="ReplayDivergence: the model was asked more")
    assert stopped is not None
    assert stopped.position == 2
    assert stopped.detail == "the replay stopped: ReplayDivergence: the model was asked more"

    extra = first_divergence(RECORDED, [*RECORDED, event(4, et.RUN_FAILED)])
    assert extra is not None
    assert extra.detail == f"the replay went on past the recording with {et.RUN_FAILED}"

    failed_at_the_end = first_divergence(RECORDED, RECORDED, stopped="RuntimeError: boom")
    assert failed_at_the_end is not None
    assert failed_at_the_end.detail == "the replay failed: RuntimeError: boom"
