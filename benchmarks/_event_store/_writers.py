"""Eight writer processes racing on one tag, then writing disjoint tags, beside raw inserts.

The store's promise under concurrency (exactly one winner when writers claim the same tag,
no false conflicts when they do not) only shows with separate processes, each with its own
EventStore and connections, as deployed workers have. This module runs them in spawned
processes and times each phase from the parent's side of the barriers that start it.

The disjoint-tag appends alternate, block by block, with the same writers doing the raw
driver's insert: what 8 concurrent writers cost the machine (commits queueing on one disk)
shows beside what the store's append lock adds, and a stall hits both sides alike.
"""

from __future__ import annotations

import multiprocessing
import queue
import threading
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from itertools import pairwise
from typing import TYPE_CHECKING

from benchmarks._event_store._drivers import Connection, RawDriver
from benchmarks._event_store._events import CLAIMED, claim_condition, claims
from event_store import AppendConditionFailed, EventStore, NewEvent

if TYPE_CHECKING:
    from multiprocessing.queues import Queue
    from multiprocessing.synchronize import Barrier

WRITERS = 8
WRITER_WARMUP = 10
DISJOINT_BLOCKS = 4  # store and raw alternate this many times each
CONTENDED_TAG = "issue:bench:contended#1"
BARRIER_TIMEOUT_S = 300.0
WATCHDOG_INTERVAL_S = 0.5


@dataclass(frozen=True)
class WriterPlan:
    """What one writer process does; plain fields, because spawn pickles it to the child."""

    store_url: str
    driver: RawDriver
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
    raw_latencies: tuple[float, ...] = ()
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


class _OwnTag:
    """Conditional appends on a tag no other writer touches, continuing block after block.

    Every one must succeed. A rejection is counted, not raised, so the table shows it as a
    failed target instead of the run ending without figures.
    """

    def __init__(self, store: EventStore, index: int) -> None:
        self.store, self.tag = store, f"worker:bench-{index}"
        self.after: int | None = None
        self.appended = self.rejected = 0
        self.latencies: list[float] = []

    def append(self, count: int) -> None:
        for _ in range(count):
            event = NewEvent(CLAIMED, {"v": 1, "n": self.appended}, tags=[self.tag])
            began = time.perf_counter()
            try:
                self.after = self.store.append(event, claim_condition([self.tag], self.after))
            except AppendConditionFailed as lost:
                self.after, self.rejected = lost.conflicting_position, self.rejected + 1
            self.latencies.append(time.perf_counter() - began)
            self.appended += 1


def _raw_inserts(driver: RawDriver, connection: Connection, events: list[NewEvent]) -> list[float]:
    """The raw driver's one-row-per-commit insert of each event: the baseline's latencies."""
    latencies = []
    for event in events:
        began = time.perf_counter()
        driver.insert_one(connection, event)
        latencies.append(time.perf_counter() - began)
    return latencies


def _block_sizes(appends: int) -> list[int]:
    """`appends` split into DISJOINT_BLOCKS blocks, as even as they go."""
    return [
        appends // DISJOINT_BLOCKS + (block < appends % DISJOINT_BLOCKS) for block in range(DISJOINT_BLOCKS)
    ]


def writer_process(
    plan: WriterPlan, phases: Barrier, round_barrier: Barrier, reports: Queue[WriterReport]
) -> None:
    """One of the 8 writers: its own EventStore and raw connection, warm-up, then the phases
    between barriers: the contended rounds, then store and raw blocks in turn."""
    try:
        with EventStore(plan.store_url) as store, plan.driver.connect() as connection:
            for _ in range(WRITER_WARMUP):
                store.append(NewEvent(CLAIMED, tags=[f"worker:bench-{plan.index}:warm-up"]))
            _raw_inserts(plan.driver, connection, claims(f"raw-{plan.index}-w", WRITER_WARMUP))
            sizes = _block_sizes(plan.appends)
            raw_blocks = [claims(f"raw-{plan.index}-{block}", size) for block, size in enumerate(sizes)]
            phases.wait()
            outcomes, contended = _contend(store, plan.rounds, round_barrier)
            own_tag, raw = _OwnTag(store, plan.index), []
            for size, raw_events in zip(sizes, raw_blocks, strict=True):
                phases.wait()
                own_tag.append(size)
                phases.wait()
                raw += _raw_inserts(plan.driver, connection, raw_events)
            phases.wait()
        reports.put(
            WriterReport(
                plan.index,
                tuple(outcomes),
                tuple(contended),
                tuple(own_tag.latencies),
                own_tag.rejected,
                tuple(raw),
            )
        )
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
    raw_seconds: float


def run_writers(store_url: str, driver: RawDriver, rounds: int, appends: int) -> WriterRun:
    """Start `WRITERS` spawned processes and time every phase from the parent's side of the barriers."""
    context = multiprocessing.get_context("spawn")
    phases = context.Barrier(WRITERS + 1, timeout=BARRIER_TIMEOUT_S)
    round_barrier = context.Barrier(WRITERS, timeout=BARRIER_TIMEOUT_S)
    reports = context.Queue()
    processes = [
        context.Process(
            target=writer_process,
            args=(WriterPlan(store_url, driver, index, rounds, appends), phases, round_barrier, reports),
            daemon=True,  # an interrupted benchmark takes its writers with it
        )
        for index in range(WRITERS)
    ]
    for process in processes:
        process.start()
    try:
        marks = []
        with _abort_on_crash(processes, (phases, round_barrier)):
            for _ in range(2 + 2 * DISJOINT_BLOCKS):
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
    # marks: the contended phase's start, each store block's and raw block's start, the end
    spans = [end - start for start, end in pairwise(marks)]
    return WriterRun(collected, spans[0], sum(spans[1::2]), sum(spans[2::2]))


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
