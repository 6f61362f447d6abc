"""Eight writer processes racing on one tag, then writing disjoint tags.

The store's promise under concurrency (exactly one winner when writers claim the same tag,
no false conflicts when they do not) only shows with separate processes, each with its own
EventStore and connections, as deployed workers have. This module runs them in spawned
processes and times each phase from the parent's side of the barriers that start it.
"""

from __future__ import annotations

import multiprocessing
import queue
import threading
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from typing import TYPE_CHECKING

from benchmarks._event_store._events import CLAIMED, claim_condition
from event_store import AppendConditionFailed, EventStore, NewEvent

if TYPE_CHECKING:
    from multiprocessing.queues import Queue
    from multiprocessing.synchronize import Barrier

WRITERS = 8
WRITER_WARMUP = 10
CONTENDED_TAG = "issue:bench:contended#1"
BARRIER_TIMEOUT_S = 300.0
WATCHDOG_INTERVAL_S = 0.5


@dataclass(frozen=True)
class WriterPlan:
    """What one writer process does; plain fields, because spawn pickles it to the child."""

    store_url: str
    index: int
    rounds: int
    appends: int


@dataclass(frozen=True)
class WriterReport:
    """What one writer process saw: per round (won?, the round winner's position), latencies."""

    index: int
    rounds: tuple[tuple[bool, int], ...] = ()
    contended_latencies: tuple[float, ...] = ()
    disjoint_latencies: tuple[float, ...] = ()
    disjoint_rejected: int = 0
    error: str | None = None


def _contend(
    store: EventStore, rounds: int, round_barrier: Barrier
) -> tuple[list[tuple[bool, int]], list[float]]:
    """Each round, every writer claims the one tag after the previous winner; one must win.

    A loser learns the winner's position from `AppendConditionFailed.conflicting_position`
    (the first claim after `after`), so every writer enters the next round with the same
    `after` without an extra read; the parent checks that they all agree.
    """
    after: int | None = None
    outcomes: list[tuple[bool, int]] = []
    latencies: list[float] = []
    for number in range(rounds):
        event = NewEvent(CLAIMED, {"v": 1, "round": number}, tags=[CONTENDED_TAG])
        round_barrier.wait()
        began = time.perf_counter()
        try:
            after = store.append(event, claim_condition([CONTENDED_TAG], after))
            won = True
        except AppendConditionFailed as lost:
            after, won = lost.conflicting_position, False
        latencies.append(time.perf_counter() - began)
        outcomes.append((won, after))
    return outcomes, latencies


def _append_own_tag(store: EventStore, index: int, appends: int) -> tuple[list[float], int]:
    """Conditional appends on a tag no other writer touches; returns latencies and rejections.

    Every one must succeed. A rejection is counted, not raised, so the table shows it as a
    failed target instead of the run ending without figures.
    """
    tag = f"worker:bench-{index}"
    after: int | None = None
    latencies: list[float] = []
    rejected = 0
    for number in range(appends):
        event = NewEvent(CLAIMED, {"v": 1, "n": number}, tags=[tag])
        began = time.perf_counter()
        try:
            after = store.append(event, claim_condition([tag], after))
        except AppendConditionFailed as lost:
            after, rejected = lost.conflicting_position, rejected + 1
        latencies.append(time.perf_counter() - began)
    return latencies, rejected


def writer_process(
    plan: WriterPlan, phases: Barrier, round_barrier: Barrier, reports: Queue[WriterReport]
) -> None:
    """One of the 8 writers: its own EventStore, warm-up, then both phases between barriers."""
    try:
        with EventStore(plan.store_url) as store:
            for _ in range(WRITER_WARMUP):
                store.append(NewEvent(CLAIMED, tags=[f"worker:bench-{plan.index}:warm-up"]))
            phases.wait()
            outcomes, contended = _contend(store, plan.rounds, round_barrier)
            phases.wait()
            disjoint, rejected = _append_own_tag(store, plan.index, plan.appends)
            phases.wait()
        reports.put(WriterReport(plan.index, tuple(outcomes), tuple(contended), tuple(disjoint), rejected))
    except threading.BrokenBarrierError:
        return  # another writer failed and said why
    except Exception as exc:  # report it, and break the barriers so nobody waits forever
        reports.put(WriterReport(plan.index, error=f"writer {plan.index}: {type(exc).__name__}: {exc}"))
        phases.abort()
        round_barrier.abort()


@dataclass(frozen=True)
class WriterRun:
    """Every writer's report, by writer index, and each phase's wall time seen by the parent."""

    reports: tuple[WriterReport, ...]
    contended_seconds: float
    disjoint_seconds: float


def run_writers(store_url: str, rounds: int, appends: int) -> WriterRun:
    """Start `WRITERS` spawned processes and time both phases from the parent's side of the barriers."""
    context = multiprocessing.get_context("spawn")
    phases = context.Barrier(WRITERS + 1, timeout=BARRIER_TIMEOUT_S)
    round_barrier = context.Barrier(WRITERS, timeout=BARRIER_TIMEOUT_S)
    reports = context.Queue()
    processes = [
        context.Process(
            target=writer_process,
            args=(WriterPlan(store_url, index, rounds, appends), phases, round_barrier, reports),
            daemon=True,  # an interrupted benchmark takes its writers with it
        )
        for index in range(WRITERS)
    ]
    for process in processes:
        process.start()
    try:
        marks = []
        with _abort_on_crash(processes, (phases, round_barrier)):
            for _ in range(3):
                phases.wait()
                marks.append(time.perf_counter())
        received = (reports.get(timeout=BARRIER_TIMEOUT_S) for _ in processes)
        collected = tuple(sorted(received, key=lambda report: report.index))  # arrival order varies
    except threading.BrokenBarrierError:
        errors = [report.error for report in _drain(reports) if report.error]
        errors += [f"writer {i} died (exit code {p.exitcode})" for i, p in enumerate(processes) if p.exitcode]
        raise RuntimeError(f"writer processes failed: {errors or 'barrier timeout'}") from None
    finally:
        for process in processes:
            process.join(timeout=BARRIER_TIMEOUT_S)
            if process.is_alive():
                process.terminate()
    return WriterRun(collected, marks[1] - marks[0], marks[2] - marks[1])


@contextmanager
def _abort_on_crash(
    processes: Sequence[multiprocessing.process.BaseProcess], barriers: Sequence[Barrier]
) -> Iterator[None]:
    """Break the barriers as soon as a writer dies without reporting (a crash at start-up, a kill).

    Otherwise everyone, the parent included, would wait out the barrier timeout in silence.
    """
    stop = threading.Event()

    def watch() -> None:
        while not stop.wait(WATCHDOG_INTERVAL_S):
            if any(process.exitcode not in (None, 0) for process in processes):
                for barrier in barriers:
                    barrier.abort()
                return

    watcher = threading.Thread(target=watch, name="writer-watchdog", daemon=True)
    watcher.start()
    try:
        yield
    finally:
        stop.set()
        watcher.join()


def _drain(reports: Queue[WriterReport]) -> list[WriterReport]:
    drained = []
    while True:
        try:
            drained.append(reports.get(timeout=1))
        except queue.Empty:  # every report that was sent has been read
            return drained
