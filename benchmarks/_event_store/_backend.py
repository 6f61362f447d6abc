"""One backend's measurements: fill the store, then every row of its table, store beside raw.

The measurements share one store, one raw connection and one iteration budget, and each
states its own target next to its figure, so they live together in one class; how a call is
timed, what the baseline does and how writers race are each in a module of their own.
"""

from __future__ import annotations

import random
import sys
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from functools import partial
from typing import Any

from benchmarks._event_store._databases import Database
from benchmarks._event_store._drivers import Connection, RawDriver
from benchmarks._event_store._events import FILL_TAG_PREFIX, claim_condition, claims
from benchmarks._event_store._folds import RUN_EVENTS, play_runs
from benchmarks._event_store._report import BackendReport, Check, Row
from benchmarks._event_store._timing import MIN_SAMPLES_FOR_PERCENTILES, Side, Timing, measure
from benchmarks._event_store._writers import (
    CONTENDED_TAG,
    DISJOINT_BLOCKS,
    WRITERS,
    WriterRun,
    run_writers,
)
from event_store import EventStore, NewEvent, Query

BATCH_SIZE = 100
EVENTS_PER_QUERY_TAG = 10
MIN_WARMUP = 10
READ_WARMUP_EVENTS = 10_000
READ_EVENTS_BUDGET = 200_000  # events read per side: 3 passes at 20k events, 1 pass at 1M
MAX_READ_PASSES = 3
QUERY_SEED = 20_261_126

# Targets (ARCHITECTURE.md, "The event stream", the benchmark brief and issue 25).
CONDITIONAL_MIN_RATIO = 0.9
CONDITIONAL_MAX_P95_MS = 10.0
READ_MIN_RATE = 100_000
QUERY_MAX_P95_MS = 100.0


def progress(message: str) -> None:
    """Say what runs now (on stderr): a 1M-event run takes minutes and should not look stuck."""
    print(f"  .. {message}", file=sys.stderr, flush=True)


@dataclass
class BackendBench:
    """One backend's measurements, sharing its store, its raw connection and the iteration budget."""

    store: EventStore
    driver: RawDriver
    connection: Connection
    store_url: str
    iterations: int
    notes: list[str] = field(default_factory=list)

    @property
    def warmup(self) -> int:
        return max(MIN_WARMUP, self.iterations // 10)

    def single_appends(self) -> list[Row]:
        progress(f"single appends x {self.iterations} (raw, unconditional, conditional)")
        warm, count = self.warmup, self.iterations
        raw, plain, conditional = measure(
            Side(
                partial(self.driver.insert_one, self.connection), claims("raw", count), claims("raw-w", warm)
            ),
            Side(self.store.append, claims("plain", count), claims("plain-w", warm)),
            Side(partial(_append_guarded, self.store), claims("cond", count), claims("cond-w", warm)),
        )
        ratio, p95 = conditional.rate / raw.rate, conditional.percentile_ms(0.95) or 0.0
        checks = (
            Check(f">= {CONDITIONAL_MIN_RATIO}x raw", ratio >= CONDITIONAL_MIN_RATIO),
            Check(f"p95 < {CONDITIONAL_MAX_P95_MS:g} ms", p95 < CONDITIONAL_MAX_P95_MS),
        )
        return [
            Row("append 1 event", "ev/s", plain, raw),
            Row("append 1 event, conditional", "ev/s", conditional, raw, checks),
        ]

    def batch_appends(self) -> Row:
        rounds = max(MIN_WARMUP, self.iterations // 20)
        warm = max(2, rounds // 10)
        progress(f"{BATCH_SIZE}-event batches x {rounds}")

        def batches(label: str, count: int) -> list[list[NewEvent]]:
            return [claims(f"{label}-{number}", BATCH_SIZE) for number in range(count)]

        insert = partial(self.driver.insert_batch, self.connection)
        raw, tamma = measure(
            Side(insert, batches("raw-batch", rounds), batches("raw-batch-w", warm), BATCH_SIZE),
            Side(self.store.append, batches("batch", rounds), batches("batch-w", warm), BATCH_SIZE),
        )
        return Row(f"append {BATCH_SIZE}-event batch (latency per batch)", "ev/s", tamma, raw)

    def fill(self, count: int) -> int:
        """Store `count` generated events on both sides; return how many tags the queries use."""
        groups = max(1, count // EVENTS_PER_QUERY_TAG)
        progress(f"filling {count:,} events server-side (store and baseline tables)")
        began = time.perf_counter()
        self.driver.fill(self.connection, count, groups)
        self.notes.append(
            f"Before the first measurement the store and the baseline tables each held {count:,} "
            f"generated events (filled server-side in {time.perf_counter() - began:.1f} s)."
        )
        return groups

    def read_all(self) -> Row:
        stored = self.driver.count(self.connection)
        passes = max(1, min(MAX_READ_PASSES, READ_EVENTS_BUDGET // stored))
        progress(f"reading all {stored:,} events x {passes}")
        sum(1 for _ in self.store.read(limit=min(stored, READ_WARMUP_EVENTS)))
        raw, tamma = measure(
            Side(full_scan(partial(self.driver.scan, self.connection), stored), range(passes), (), stored),
            Side(full_scan(partial(_count_store_events, self.store), stored), range(passes), (), stored),
        )
        check = Check(f">= {READ_MIN_RATE:,} ev/s", tamma.rate >= READ_MIN_RATE)
        self.notes.append(self.driver.scan_note)
        return Row(f"read all {stored:,} events ({passes} pass(es))", "ev/s", tamma, raw, (check,))

    def query_by_tag(self, groups: int) -> Row:
        count = max(MIN_SAMPLES_FOR_PERCENTILES, self.iterations // 4)
        warm = max(MIN_WARMUP, count // 10)
        progress(f"querying a tag of ~{EVENTS_PER_QUERY_TAG} events x {count}")
        rng = random.Random(QUERY_SEED)
        tags = [f"{FILL_TAG_PREFIX}{rng.randrange(groups)}" for _ in range(count + warm)]
        queries = [Query.of(tags=[tag]) for tag in tags]
        raw, tamma = measure(
            Side(partial(self.driver.query_tag, self.connection), tags[warm:], tags[:warm]),
            Side(partial(_read_query, self.store), queries[warm:], queries[:warm]),
        )
        matched = sum(len(_read_query(self.store, query)) for query in queries[:warm]) / warm
        self.notes.append(f"Each tag query returned {matched:.1f} events on average.")
        p95 = tamma.percentile_ms(0.95) or 0.0
        check = Check(f"p95 < {QUERY_MAX_P95_MS:g} ms (target at 1M events)", p95 < QUERY_MAX_P95_MS)
        stored = self.driver.count(self.connection)
        return Row(
            f"query by tag (~{EVENTS_PER_QUERY_TAG} of {stored:,} events)", "q/s", tamma, raw, (check,)
        )

    def writers(self) -> list[Row]:
        rounds = max(MIN_WARMUP, self.iterations // 10)
        appends = max(MIN_WARMUP, self.iterations // WRITERS)
        progress(f"{WRITERS} writer processes: {rounds} contended rounds, {appends} own-tag appends each")
        run = run_writers(self.store_url, self.driver, rounds, appends)
        per_round = _round_winners(run, rounds)
        one_winner = all(round_ == (1, 1) for round_ in per_round)
        one_winner = one_winner and self.stored_count(CONTENDED_TAG) == rounds
        rejected = sum(report.disjoint_rejected for report in run.reports)
        stored = all(
            self.stored_count(f"worker:bench-{i}") == appends - run.reports[i].disjoint_rejected
            for i in range(WRITERS)
        )
        self.notes += [_contention_note(per_round), _disjoint_note(appends, rejected, stored)]
        contended = Timing(WRITERS * rounds, run.contended_seconds, _latencies(run, "contended_latencies"))
        disjoint = Timing(
            WRITERS * appends - rejected, run.disjoint_seconds, _latencies(run, "disjoint_latencies")
        )
        raw = Timing(WRITERS * appends, run.raw_seconds, _latencies(run, "raw_latencies"))
        p95 = disjoint.percentile_ms(0.95) or 0.0
        return [
            Row(
                f"{WRITERS} writers, one tag (attempts)",
                "att/s",
                contended,
                None,
                (Check("exactly 1 winner per round", one_winner),),
            ),
            Row(
                f"{WRITERS} writers, disjoint tags",
                "ev/s",
                disjoint,
                raw,
                (
                    Check("all succeed", rejected == 0 and stored),
                    Check(f"p95 < {CONDITIONAL_MAX_P95_MS:g} ms", p95 < CONDITIONAL_MAX_P95_MS),
                ),
            ),
        ]

    def run_state_folds(self) -> list[Row]:
        """A run's state after every append: folded from scratch, and incrementally."""
        runs = max(1, self.iterations // 400)
        progress(f"run state at every step: {runs} runs of {RUN_EVENTS} events, full and incremental")
        played = play_runs(self.store, runs)
        per_step = played.steps
        self.notes.append(
            f"Run state: {runs} run(s) of {RUN_EVENTS} appends, each followed by the run's state "
            f"folded both ways. Events read per step: full fold {played.full_read / per_step:.1f} "
            f"({played.full_read:,} in all), incremental {played.incremental_read / per_step:.1f} "
            f"({played.incremental_read:,}); every state {'agreed' if played.agreed else 'DID NOT AGREE'}."
        )
        full = Timing(per_step, sum(played.full_latencies), played.full_latencies)
        incremental = Timing(per_step, sum(played.incremental_latencies), played.incremental_latencies)
        reads_once = played.agreed and played.incremental_read == per_step
        return [
            Row(f"run state per step, full fold ({RUN_EVENTS}-event run)", "steps/s", full),
            Row(
                "run state per step, incremental",
                "steps/s",
                incremental,
                None,
                (Check("same state, each event read once", reads_once),),
            ),
        ]

    def stored_count(self, tag: str) -> int:
        return sum(1 for _ in self.store.read(Query.of(tags=[tag])))


def _append_guarded(store: EventStore, event: NewEvent) -> None:
    store.append(event, claim_condition(list(event.tags)))


def _count_store_events(store: EventStore) -> int:
    return sum(1 for _ in store.read())


def _read_query(store: EventStore, query: Query) -> list[Any]:
    return list(store.read(query))


def full_scan(count_rows: Callable[[], int], expected: int) -> Callable[[object], None]:
    """A timed pass that reads everything and insists it saw every event, so a short read cannot look fast."""

    def scan(_pass: object) -> None:
        seen = count_rows()
        if seen != expected:
            raise RuntimeError(f"a full read returned {seen} events, expected {expected}")

    return scan


def _latencies(run: WriterRun, phase: str) -> tuple[float, ...]:
    return tuple(latency for report in run.reports for latency in getattr(report, phase))


def _round_winners(run: WriterRun, rounds: int) -> list[tuple[int, int]]:
    """Per round: (how many writers won, how many distinct winner positions they reported)."""
    return [
        (sum(r.rounds[n][0] for r in run.reports), len({r.rounds[n][1] for r in run.reports}))
        for n in range(rounds)
    ]


def _contention_note(per_round: Sequence[tuple[int, int]]) -> str:
    attempts = WRITERS * len(per_round)
    wins = sum(winners for winners, _ in per_round)
    bad = [n for n, outcome in enumerate(per_round) if outcome != (1, 1)]
    verdict = "exactly one winner in every round" if not bad else f"WRONG in rounds {bad[:10]}"
    return (
        f"One tag: {attempts:,} conditional appends in {len(per_round)} rounds (a barrier starts "
        f"each round, included in the rate): {wins} succeeded, {attempts - wins:,} raised "
        f"AppendConditionFailed; {verdict}."
    )


def _disjoint_note(appends: int, rejected: int, stored: bool) -> str:
    outcome = "all succeeded" if rejected == 0 else f"{rejected} were REJECTED"
    kept = "every success was stored" if stored else "SOME SUCCESSES ARE MISSING from the store"
    return (
        f"Disjoint tags: {WRITERS} x {appends} conditional appends in {DISJOINT_BLOCKS} blocks, each "
        f"followed by a block of as many raw inserts by the same writers (the raw column); "
        f"{outcome}; {kept}."
    )


def run_backend(database: Database, events: int, iterations: int) -> BackendReport:
    """Every measurement for one backend, each against a store that already holds `events` events."""
    started = time.perf_counter()
    with EventStore(database.store_url) as store, database.driver.connect() as connection:
        database.driver.create_tables(connection)
        bench = BackendBench(store, database.driver, connection, database.store_url, iterations)
        groups = bench.fill(events)
        rows = [*bench.single_appends(), bench.batch_appends(), bench.read_all(), bench.query_by_tag(groups)]
        rows += [*bench.writers(), *bench.run_state_folds()]
        version = database.driver.version(connection)
    seconds = time.perf_counter() - started
    return BackendReport(database.driver.backend, version, events, tuple(rows), tuple(bench.notes), seconds)
