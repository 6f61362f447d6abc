"""Timing calls side by side: the one clock every event-store figure comes from.

Kept apart from what is measured so that every row of the table (appends, reads, queries)
is timed the same way: warm-up first, then the sides interleaved in blocks, each call's
latency kept for the percentiles.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any, Generic, TypeVar

Payload = TypeVar("Payload")

MIN_SAMPLES_FOR_PERCENTILES = 20
INTERLEAVE_BLOCKS = 20  # each side's calls run in this many blocks, alternating with the others


@dataclass(frozen=True)
class Timing:
    """`units` (events, queries or attempts) done in `seconds` of wall time, and each call's latency."""

    units: int
    seconds: float
    latencies: tuple[float, ...] = ()

    @property
    def rate(self) -> float:
        return self.units / self.seconds if self.seconds > 0 else math.inf

    def percentile_ms(self, fraction: float) -> float | None:
        """Nearest-rank percentile; None when there are too few calls for one to mean anything."""
        if len(self.latencies) < MIN_SAMPLES_FOR_PERCENTILES:
            return None
        ordered = sorted(self.latencies)
        return ordered[max(0, math.ceil(fraction * len(ordered)) - 1)] * 1000


@dataclass(frozen=True)
class Side(Generic[Payload]):
    """One of the things timed side by side: a call and the payloads prepared for it.

    Payloads are built before the clock starts (events and their validation, the same for
    the store and the raw driver), so the figures compare writing and reading, not dict
    building. Warm-up calls fill connection pools, statement caches and prepared statements.
    """

    call: Callable[[Payload], object]
    payloads: Sequence[Payload]
    warmup: Sequence[Payload] = ()
    units_per_call: int = 1


def measure(*sides: Side[Any]) -> list[Timing]:
    """Time the sides in alternating blocks of calls; one Timing per side, in order.

    Run one after the other, whichever side came first would absorb every transient stall
    (measured here: commits at 4 ms instead of 0.25 ms for seconds after a bulk load or a
    large DROP DATABASE); interleaved, a stall hits each side alike and ratios stay fair.
    """
    for side in sides:
        for payload in side.warmup:
            side.call(payload)
    clock = time.perf_counter
    latencies: list[list[float]] = [[] for _ in sides]
    seconds = [0.0] * len(sides)
    block = max(1, max(len(side.payloads) for side in sides) // INTERLEAVE_BLOCKS)
    for start in range(0, max(len(side.payloads) for side in sides), block):
        for index, side in enumerate(sides):
            started = clock()
            for payload in side.payloads[start : start + block]:
                began = clock()
                side.call(payload)
                latencies[index].append(clock() - began)
            seconds[index] += clock() - started
    return [
        Timing(len(side.payloads) * side.units_per_call, elapsed, tuple(latency))
        for side, elapsed, latency in zip(sides, seconds, latencies, strict=True)
    ]
