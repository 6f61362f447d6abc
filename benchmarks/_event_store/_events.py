"""The events every measurement writes, and the claim rule its conditional appends use.

Shared by the single-process measurements, the raw drivers' fill and the writer processes,
so that the store and the baseline always write the same events, and the same tag names.
"""

from __future__ import annotations

from collections.abc import Sequence

from event_store import AppendCondition, NewEvent, Query

CLAIMED = "ISSUE.CLAIMED"
FILL_TAG_PREFIX = "issue:bench:fill#"


def claims(label: str, count: int) -> list[NewEvent]:
    """`count` ISSUE.CLAIMED events, each with a tag of its own, as a claim of a fresh issue has."""
    return [
        NewEvent(
            CLAIMED,
            {"v": 1, "worker": "bench", "n": n},
            tags=[f"issue:bench:{label}#{n}"],
            metadata={"source": "benchmark"},
        )
        for n in range(count)
    ]


def claim_condition(tags: Sequence[str], after: int | None = None) -> AppendCondition:
    """The claim rule: fail if the issue was claimed after `after` (at all, when None)."""
    return AppendCondition(Query.of(types=[CLAIMED], tags=tags), after=after)
