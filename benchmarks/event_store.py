"""Benchmark Tamma's event store against the bare database drivers, on PostgreSQL and SQLite.

Every worker step is an append and every decision a conditional append, so the store's speed
bounds the whole orchestrator. ARCHITECTURE.md ("The event stream") states its targets
relative to the cheapest durable write there is, a one-row-per-commit INSERT of an event plus
its tag row; this script measures that baseline and the store side by side in one run, on a
fresh database it creates and drops itself, and can record the figures in docs/BENCHMARKS.md.

    .venv/bin/python benchmarks/event_store.py [--backend all|postgresql|sqlite] [--events 20000]
        [--iterations 2000] [--postgres-url URL] [--markdown docs/BENCHMARKS.md]

The store and the baseline tables are first filled with the same `--events` generated events,
because an append's cost can depend on how much is stored (a plan that scans `events` is
invisible on an empty table). Then: single appends (unconditional; conditional on a fresh
tag), 100-event batches, reading every event, querying a tag that ~10 events carry, and 8
writer processes racing on one tag (exactly one winner per round) or writing disjoint tags.
"""

from __future__ import annotations

import argparse
import json
import math
import multiprocessing
import os
import platform
import queue
import random
import re
import secrets
import shlex
import sqlite3
import sys
import tempfile
import threading
import time
from abc import ABC, abstractmethod
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import AbstractContextManager, closing, contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from functools import partial
from pathlib import Path
from typing import TYPE_CHECKING, Any, ClassVar, Generic, TypeAlias, TypeVar

import psycopg
from psycopg.types.json import Jsonb
from sqlalchemy.engine import make_url

# `python benchmarks/event_store.py` puts this file's directory first on sys.path, where this
# module would shadow the `event_store` package it measures: drop it before importing that.
_HERE = Path(__file__).resolve().parent
sys.path[:] = [entry for entry in sys.path if Path(entry or ".").resolve() != _HERE]

from event_store import AppendCondition, AppendConditionFailed, EventStore, NewEvent, Query  # noqa: E402

if TYPE_CHECKING:
    from multiprocessing.queues import Queue
    from multiprocessing.synchronize import Barrier

# A psycopg or sqlite3 connection: both offer `execute(sql, params)` returning a cursor.
Connection: TypeAlias = Any
Payload = TypeVar("Payload")

BACKENDS = ("postgresql", "sqlite")
TITLES = {"postgresql": "PostgreSQL", "sqlite": "SQLite"}
DEFAULT_POSTGRES_URL = "postgresql+psycopg://root@127.0.0.1:5432/test"
DEFAULT_EVENTS = 20_000
DEFAULT_ITERATIONS = 2_000

CLAIMED = "ISSUE.CLAIMED"
BATCH_SIZE = 100
WRITERS = 8
WRITER_WARMUP = 10
EVENTS_PER_QUERY_TAG = 10
MIN_WARMUP = 10
MIN_SAMPLES_FOR_PERCENTILES = 20
INTERLEAVE_BLOCKS = 20  # each side's calls run in this many blocks, alternating with the others
READ_PAGE = 1_000  # the store's default read batch; the raw scan fetches pages of the same size
READ_WARMUP_EVENTS = 10_000
READ_EVENTS_BUDGET = 200_000  # events read per side: 3 passes at 20k events, 1 pass at 1M
MAX_READ_PASSES = 3
FILL_TAG_PREFIX = "issue:bench:fill#"
CONTENDED_TAG = "issue:bench:contended#1"
BARRIER_TIMEOUT_S = 300.0
WATCHDOG_INTERVAL_S = 0.5
QUERY_SEED = 20_261_126

# Targets (ARCHITECTURE.md, "The event stream", and the benchmark brief).
CONDITIONAL_MIN_RATIO = 0.8
CONDITIONAL_MAX_P95_MS = 10.0
READ_MIN_RATE = 100_000
QUERY_MAX_P95_MS = 100.0

MARK_START = "<!-- bench:event_store:start -->"
MARK_END = "<!-- bench:event_store:end -->"
RUN_MARK = re.compile(r"^<!-- run (?P<backend>[a-z]+) events=(?P<events>\d+) -->$", re.MULTILINE)


# --- Measuring -----------------------------------------------------------------------------


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


@dataclass(frozen=True)
class Check:
    """One target printed next to a figure: what it demands and whether this run met it."""

    description: str
    met: bool


@dataclass(frozen=True)
class Row:
    """One line of a backend's table: the store's figure, the raw driver's, and the targets."""

    label: str
    unit: str
    tamma: Timing
    raw: Timing | None = None
    checks: tuple[Check, ...] = ()


@dataclass(frozen=True)
class BackendReport:
    """One backend's table, its notes and how long it took, for the console and the markdown."""

    backend: str
    version: str
    events_requested: int
    rows: tuple[Row, ...]
    notes: tuple[str, ...]
    seconds: float


def progress(message: str) -> None:
    """Say what runs now (on stderr): a 1M-event run takes minutes and should not look stuck."""
    print(f"  .. {message}", file=sys.stderr, flush=True)


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


# --- The raw-driver baseline ---------------------------------------------------------------

_EVENTS_DDL = (
    "CREATE TABLE bench_events (position {position} PRIMARY KEY, id {uuid} NOT NULL UNIQUE,"
    " type TEXT NOT NULL, data {json} NOT NULL, metadata {json} NOT NULL, tags {json} NOT NULL,"
    " recorded_at {time} NOT NULL)"
)
_TYPE_INDEX_DDL = "CREATE INDEX bench_events_type_position ON bench_events (type, position)"
_TAGS_DDL = (
    "CREATE TABLE bench_tags (tag TEXT NOT NULL, position {bigint} NOT NULL,"
    " PRIMARY KEY (tag, position)){tags_table_suffix}"
)
_COUNT_SQL = "SELECT count(*) FROM events"
_HEAD_SQL = "SELECT coalesce(max(position), 0) FROM {table}"
_SCAN_SQL = "SELECT * FROM events ORDER BY position"
_TAG_QUERY_SQL = (
    "SELECT e.* FROM event_tags AS t JOIN events AS e ON e.position = t.position"
    " WHERE t.tag = {p} ORDER BY e.position"
)


def _scalar(connection: Connection, sql: str) -> Any:
    return connection.execute(sql).fetchone()[0]


def _first_tag(event: NewEvent) -> str:
    """The one tag every event of this benchmark carries (the baseline writes one tag row)."""
    return next(iter(event.tags))


class RawDriver(ABC):
    """The baseline: tables of the store's shape, written and read through the bare DB-API driver.

    Subclasses hold only what differs between the databases (column types, placeholders, how
    a write transaction starts, how rows are generated server-side); everything else is here.
    """

    backend: ClassVar[str]
    column_types: ClassVar[Mapping[str, str]]
    placeholder: ClassVar[str]
    scan_note: ClassVar[str]  # what the raw scan decodes, which the read ratio depends on
    fill_events_sql: ClassVar[str]
    fill_tags_sql: ClassVar[str]
    after_fill_sql: ClassVar[tuple[str, ...]]

    def __init__(self, address: str) -> None:
        self.address = address

    @abstractmethod
    def connect(self) -> AbstractContextManager[Connection]:
        """An autocommit connection, closed when the context ends."""

    @abstractmethod
    def version(self, connection: Connection) -> str: ...

    @abstractmethod
    def write_transaction(self, connection: Connection) -> AbstractContextManager[None]: ...

    @abstractmethod
    def insert_one(self, connection: Connection, event: NewEvent) -> None:
        """The baseline write: one event and its tag row, committed on their own."""

    @abstractmethod
    def insert_batch(self, connection: Connection, events: Sequence[NewEvent]) -> None:
        """The batch baseline: many events and their tag rows in one transaction."""

    @abstractmethod
    def scan(self, connection: Connection) -> int:
        """Fetch every row of the store's `events` in position order; return how many."""

    def create_tables(self, connection: Connection) -> None:
        for statement in (_EVENTS_DDL, _TYPE_INDEX_DDL, _TAGS_DDL):
            connection.execute(statement.format_map(self.column_types))

    def count(self, connection: Connection) -> int:
        return int(_scalar(connection, _COUNT_SQL))

    def query_tag(self, connection: Connection, tag: str) -> int:
        """The raw equivalent of reading a tag: the join from the tag index, in position order."""
        return len(connection.execute(_TAG_QUERY_SQL.format(p=self.placeholder), (tag,)).fetchall())

    def fill(self, connection: Connection, count: int, groups: int) -> None:
        """Add the same `count` generated events to the store's tables and to the baseline's.

        Appending a million events one API call at a time would take longer than everything
        measured; rows generated server-side in the store's format fill the tables the
        migrations created in seconds. The baseline gets as many rows so both sides insert
        into indexes of the same size. Nothing else writes to the benchmark's database, so
        no append lock is needed. Event n carries `FILL_TAG_PREFIX + (n mod groups)`, a tag
        shared by ~`count / groups` events spread over the whole range, and a run tag.
        """
        for events, tags in (("events", "event_tags"), ("bench_events", "bench_tags")):
            params = {"count": count, "groups": groups, "prefix": FILL_TAG_PREFIX}
            with self.write_transaction(connection):
                params["head"] = _scalar(connection, _HEAD_SQL.format(table=events))
                connection.execute(self.fill_events_sql.format(events=events), params)
                connection.execute(self.fill_tags_sql.format(events=events, tags=tags), params)
        for statement in self.after_fill_sql:
            connection.execute(statement)
        # Flush the bulk load now: while the kernel writes it back, every commit's fsync waits
        # behind it (measured: 4 ms instead of 0.25 ms per commit), whichever side runs first.
        os.sync()


_PG_INSERT_ONE = (
    "WITH e AS (INSERT INTO bench_events (id, type, data, metadata, tags, recorded_at)"
    " VALUES (%s, %s, %s, %s, %s, clock_timestamp()) RETURNING position)"
    " INSERT INTO bench_tags (tag, position) SELECT %s, position FROM e"
)


def _pg_values(event: NewEvent) -> tuple[object, ...]:
    tags = list(event.tags)
    return (event.id, event.type, Jsonb(event.data), Jsonb(event.metadata), Jsonb(tags), _first_tag(event))


class PostgresDriver(RawDriver):
    """psycopg in autocommit: a single insert is one statement, so one round trip, one commit."""

    backend = "postgresql"
    column_types: ClassVar[Mapping[str, str]] = {
        "position": "BIGINT GENERATED BY DEFAULT AS IDENTITY",
        "bigint": "BIGINT",
        "uuid": "UUID",
        "json": "JSONB",
        "time": "TIMESTAMPTZ",
        "tags_table_suffix": "",
    }
    placeholder = "%s"
    scan_note = (
        "The raw PostgreSQL scan is a psycopg server-side cursor (pages of 1,000) decoding jsonb "
        "with the standard json module; the store's SQLAlchemy engine decodes it with orjson."
    )
    fill_events_sql = """
        INSERT INTO {events} (id, type, data, metadata, tags, recorded_at)
        SELECT gen_random_uuid(), 'ISSUE.SELECTED', jsonb_build_object('v', 1, 'n', n),
               jsonb_build_object('source', 'benchmark-fill'),
               jsonb_build_array(%(prefix)s::text || mod(n, %(groups)s::int),
                                 'run:bench-fill-' || mod(n, 1000)),
               clock_timestamp()
          FROM generate_series(1, %(count)s::int) AS n
         ORDER BY n"""
    fill_tags_sql = """
        INSERT INTO {tags} (tag, position)
        SELECT t.tag, e.position FROM {events} AS e, jsonb_array_elements_text(e.tags) AS t(tag)
         WHERE e.position > %(head)s"""
    # Autovacuum would get there on its own after a bulk load; measure the steady state.
    after_fill_sql = ("VACUUM ANALYZE events, event_tags, bench_events, bench_tags", "CHECKPOINT")

    def connect(self) -> AbstractContextManager[Connection]:
        return psycopg.connect(self.address, autocommit=True)

    def version(self, connection: Connection) -> str:
        return "PostgreSQL " + str(_scalar(connection, "SHOW server_version")).split()[0]

    def write_transaction(self, connection: Connection) -> AbstractContextManager[None]:
        transaction: AbstractContextManager[None] = connection.transaction()
        return transaction

    def insert_one(self, connection: Connection, event: NewEvent) -> None:
        connection.execute(_PG_INSERT_ONE, _pg_values(event))

    def insert_batch(self, connection: Connection, events: Sequence[NewEvent]) -> None:
        # psycopg pipelines executemany: the 100 statements share one round trip.
        with self.write_transaction(connection), connection.cursor() as cursor:
            cursor.executemany(_PG_INSERT_ONE, [_pg_values(event) for event in events])

    def scan(self, connection: Connection) -> int:
        # A server-side cursor keeps memory flat at a million rows, paging like the store does.
        with self.write_transaction(connection), connection.cursor(name="bench_scan") as cursor:
            cursor.itersize = READ_PAGE
            cursor.execute(_SCAN_SQL)
            return sum(1 for _ in cursor)


_SQLITE_INSERT_EVENT = "INSERT INTO bench_events VALUES (?, ?, ?, ?, ?, ?, ?)"
_SQLITE_INSERT_TAG = "INSERT INTO bench_tags (tag, position) VALUES (?, ?)"


def _sqlite_values(position: int | None, event: NewEvent) -> tuple[object, ...]:
    """A row as SQLAlchemy stores it in SQLite: UUID as 32 hex digits, JSON and times as text."""
    recorded_at = datetime.now(UTC).strftime("%Y-%m-%d %H:%M:%S.%f")
    data, metadata, tags = (json.dumps(value) for value in (event.data, event.metadata, list(event.tags)))
    return (position, event.id.hex, event.type, data, metadata, tags, recorded_at)


class SqliteDriver(RawDriver):
    """sqlite3 with the store's settings (WAL, synchronous=NORMAL); every write is BEGIN IMMEDIATE."""

    backend = "sqlite"
    column_types: ClassVar[Mapping[str, str]] = {
        "position": "INTEGER",
        "bigint": "INTEGER",
        "uuid": "CHAR(32)",
        "json": "JSON",
        "time": "DATETIME",
        "tags_table_suffix": " WITHOUT ROWID",
    }
    placeholder = "?"
    scan_note = (
        "The raw SQLite scan leaves JSON and times as text; the store decodes three JSON columns, "
        "a UUID and a timestamp per event, so the read ratio is mostly that decoding."
    )
    fill_events_sql = """
        WITH RECURSIVE series(n) AS (SELECT 1 UNION ALL SELECT n + 1 FROM series WHERE n < :count)
        INSERT INTO {events} (position, id, type, data, metadata, tags, recorded_at)
        SELECT :head + n, lower(hex(randomblob(16))), 'ISSUE.SELECTED', json_object('v', 1, 'n', n),
               json_object('source', 'benchmark-fill'),
               json_array(:prefix || (n % :groups), 'run:bench-fill-' || (n % 1000)),
               strftime('%Y-%m-%d %H:%M:%S', 'now') || '.000000'
          FROM series"""
    fill_tags_sql = """
        INSERT INTO {tags} (tag, position)
        SELECT tag.value, e.position FROM {events} AS e, json_each(e.tags) AS tag
         WHERE e.position > :head"""
    # No ANALYZE: nothing runs it on a deployed SQLite store, so the planner works without stats.
    after_fill_sql = ("PRAGMA wal_checkpoint(TRUNCATE)",)

    def connect(self) -> AbstractContextManager[Connection]:
        connection = sqlite3.connect(self.address, isolation_level=None, timeout=30)
        connection.execute("PRAGMA journal_mode=WAL")
        connection.execute("PRAGMA synchronous=NORMAL")
        return closing(connection)

    def version(self, connection: Connection) -> str:
        return "SQLite " + str(_scalar(connection, "SELECT sqlite_version()"))

    @contextmanager
    def write_transaction(self, connection: Connection) -> Iterator[None]:
        connection.execute("BEGIN IMMEDIATE")
        try:
            yield
        except BaseException:
            connection.execute("ROLLBACK")
            raise
        connection.execute("COMMIT")

    def insert_one(self, connection: Connection, event: NewEvent) -> None:
        with self.write_transaction(connection):
            cursor = connection.execute(_SQLITE_INSERT_EVENT, _sqlite_values(None, event))
            connection.execute(_SQLITE_INSERT_TAG, (_first_tag(event), cursor.lastrowid))

    def insert_batch(self, connection: Connection, events: Sequence[NewEvent]) -> None:
        with self.write_transaction(connection):
            head = _scalar(connection, _HEAD_SQL.format(table="bench_events"))
            positions = range(head + 1, head + 1 + len(events))
            pairs = list(zip(positions, events, strict=True))
            connection.executemany(_SQLITE_INSERT_EVENT, [_sqlite_values(p, e) for p, e in pairs])
            connection.executemany(_SQLITE_INSERT_TAG, [(_first_tag(e), p) for p, e in pairs])

    def scan(self, connection: Connection) -> int:
        return sum(1 for _ in connection.execute(_SCAN_SQL))


# --- Databases -----------------------------------------------------------------------------


@dataclass(frozen=True)
class Database:
    """A fresh database for one backend: the store's URL and a raw driver for the same data."""

    store_url: str
    driver: RawDriver


def _libpq(url: str) -> str:
    return make_url(url).set(drivername="postgresql").render_as_string(hide_password=False)


@contextmanager
def postgres_database(admin_url: str) -> Iterator[Database]:
    """`tamma_bench_<random>` beside the admin URL's database, dropped however the run ends."""
    name = f"tamma_bench_{secrets.token_hex(5)}"
    with psycopg.connect(_libpq(admin_url), autocommit=True) as admin:
        admin.execute(f'CREATE DATABASE "{name}"')
    try:
        url = make_url(admin_url).set(drivername="postgresql+psycopg", database=name)
        store_url = url.render_as_string(hide_password=False)
        yield Database(store_url, PostgresDriver(_libpq(store_url)))
    finally:
        with psycopg.connect(_libpq(admin_url), autocommit=True) as admin:
            admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@contextmanager
def sqlite_database(_admin_url: str) -> Iterator[Database]:
    """A database file in a temporary directory, removed with it."""
    with tempfile.TemporaryDirectory(prefix="tamma_bench_") as directory:
        path = Path(directory) / "events.db"
        yield Database(f"sqlite:///{path}", SqliteDriver(str(path)))


DATABASES: Mapping[str, Callable[[str], AbstractContextManager[Database]]] = {
    "postgresql": postgres_database,
    "sqlite": sqlite_database,
}


# --- Concurrent writers (run in spawned processes) -----------------------------------------


@dataclass(frozen=True)
class WriterPlan:
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


# --- One backend's measurements ------------------------------------------------------------


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
        run = run_writers(self.store_url, rounds, appends)
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
                None,
                (Check("all succeed", rejected == 0 and stored),),
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
    return f"Disjoint tags: {WRITERS} x {appends} conditional appends; {outcome}; {kept}."


def run_backend(database: Database, events: int, iterations: int) -> BackendReport:
    """Every measurement for one backend, each against a store that already holds `events` events."""
    started = time.perf_counter()
    with EventStore(database.store_url) as store, database.driver.connect() as connection:
        database.driver.create_tables(connection)
        bench = BackendBench(store, database.driver, connection, database.store_url, iterations)
        groups = bench.fill(events)
        rows = [*bench.single_appends(), bench.batch_appends(), bench.read_all(), bench.query_by_tag(groups)]
        rows += bench.writers()
        version = database.driver.version(connection)
    seconds = time.perf_counter() - started
    return BackendReport(database.driver.backend, version, events, tuple(rows), tuple(bench.notes), seconds)


# --- Rendering -----------------------------------------------------------------------------

HEADERS = (
    "Measurement",
    "Tamma",
    "p50 ms",
    "p95 ms",
    "Raw driver",
    "raw p50 ms",
    "raw p95 ms",
    "Tamma/raw",
    "Target",
    "Met",
)
LEFT_ALIGNED = {0, 8, 9}


def _rate(timing: Timing | None, unit: str) -> str:
    return "" if timing is None else f"{timing.rate:,.0f} {unit}"


def _ms(timing: Timing | None, fraction: float) -> str:
    value = None if timing is None else timing.percentile_ms(fraction)
    return "" if value is None else f"{value:.2f}"


def cells(row: Row) -> tuple[str, ...]:
    ratio = "" if row.raw is None else f"{row.tamma.rate / row.raw.rate:.2f}x"
    verdict = "" if not row.checks else ("yes" if all(c.met for c in row.checks) else "NO")
    return (
        row.label,
        _rate(row.tamma, row.unit),
        _ms(row.tamma, 0.50),
        _ms(row.tamma, 0.95),
        _rate(row.raw, row.unit),
        _ms(row.raw, 0.50),
        _ms(row.raw, 0.95),
        ratio,
        "; ".join(check.description for check in row.checks),
        verdict,
    )


def render_text(report: BackendReport) -> str:
    table = [HEADERS, *(cells(row) for row in report.rows)]
    widths = [max(len(line[column]) for line in table) for column in range(len(HEADERS))]

    def line(values: Sequence[str]) -> str:
        return "  ".join(
            value.ljust(width) if column in LEFT_ALIGNED else value.rjust(width)
            for column, (value, width) in enumerate(zip(values, widths, strict=True))
        ).rstrip()

    title = f"{report.version} ({report.seconds:.0f} s)"
    rule = "-" * len(line(HEADERS))
    notes = [f"  * {note}" for note in report.notes]
    return "\n".join(
        [title, rule, line(HEADERS), rule, *(line(values) for values in table[1:]), rule, *notes]
    )


def render_markdown(report: BackendReport, context: str) -> str:
    align = ["---" if column in LEFT_ALIGNED else "---:" for column in range(len(HEADERS))]
    table = [HEADERS, align, *(cells(row) for row in report.rows)]
    title = TITLES[report.backend]
    return "\n".join(
        [
            f"<!-- run {report.backend} events={report.events_requested} -->",
            f"### {title}, --events {report.events_requested:,}",
            "",
            f"{context}; {report.version}; this backend took {report.seconds:.0f} s.",
            "",
            *("| " + " | ".join(values) + " |" for values in table),
            "",
            *(f"- {note}" for note in report.notes),
        ]
    )


def run_context() -> str:
    """Command line, date and machine, so a figure can be reproduced and compared fairly."""
    python = os.path.relpath(sys.executable) if sys.executable else "python"
    command = shlex.join([python, *sys.argv])
    cpus = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()
    when = datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC")
    machine = f"nproc {cpus} ({_cpu_model()}), {platform.system()} {platform.release()}"
    load = "load average {:.2f} {:.2f} {:.2f}".format(*os.getloadavg()) if hasattr(os, "getloadavg") else ""
    return f"`{command}`; {when}; {machine}, {load}; Python {platform.python_version()}"


def _cpu_model() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown CPU"


def update_markdown(path: Path, blocks: Mapping[tuple[str, int], str]) -> None:
    """Rewrite only the benchmark section of `path`, keeping the rest of the file.

    Inside the section each run owns one block keyed by (backend, --events), so a 1M-event run
    adds its own table beside the default run's instead of replacing it, and a rerun with the
    same key replaces only its own block.
    """
    text = path.read_text() if path.exists() else "# Benchmarks\n"
    before, inside, after = _split_section(text)
    merged = {**_run_blocks(inside), **blocks}
    ordered = sorted(merged, key=lambda key: (BACKENDS.index(key[0]) if key[0] in BACKENDS else 99, key[1]))
    body = "\n".join(merged[key].strip() + "\n" for key in ordered)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(f"{before}{MARK_START}\n{body}{MARK_END}{after}")


def _split_section(text: str) -> tuple[str, str, str]:
    start = text.find(MARK_START)
    end = text.find(MARK_END, start + 1)
    if start < 0 or end < 0:
        return text.rstrip("\n") + "\n\n", "", "\n"
    return text[:start], text[start + len(MARK_START) : end], text[end + len(MARK_END) :]


def _run_blocks(inside: str) -> dict[tuple[str, int], str]:
    """The section's run blocks by (backend, --events); each runs from its marker to the next."""
    marks = list(RUN_MARK.finditer(inside))
    ends = [mark.start() for mark in marks[1:]] + [len(inside)] if marks else []
    return {
        (mark["backend"], int(mark["events"])): inside[mark.start() : end]
        for mark, end in zip(marks, ends, strict=True)
    }


# --- Command line --------------------------------------------------------------------------


def _positive(text: str) -> int:
    value = int(text)
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be a positive integer, got {text}")
    return value


def parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=(__doc__ or "").split("\n\n")[0])
    parser.add_argument("--backend", choices=("all", *BACKENDS), default="all")
    parser.add_argument(
        "--events",
        type=_positive,
        default=DEFAULT_EVENTS,
        help="events stored (generated server-side) before the first measurement; default %(default)s",
    )
    parser.add_argument(
        "--iterations",
        type=_positive,
        default=DEFAULT_ITERATIONS,
        help="single appends per measurement; batches, queries and writer rounds scale from it "
        "(default %(default)s)",
    )
    parser.add_argument(
        "--postgres-url",
        default=os.environ.get("TAMMA_BENCH_POSTGRES_URL", DEFAULT_POSTGRES_URL),
        help="admin URL; a fresh database is created beside it and dropped (default %(default)s)",
    )
    parser.add_argument("--markdown", type=Path, help="rewrite the benchmark section of this file")
    return parser.parse_args(argv)


def main(argv: Sequence[str] | None = None) -> int:
    options = parse_args(argv)
    backends = BACKENDS if options.backend == "all" else (options.backend,)
    context = run_context()
    print(context)
    reports = []
    for backend in backends:
        print(
            f"\n{TITLES[backend]}: --events {options.events:,}, --iterations {options.iterations:,}",
            flush=True,
        )
        with DATABASES[backend](options.postgres_url) as database:
            report = run_backend(database, options.events, options.iterations)
        print(render_text(report), flush=True)
        reports.append(report)
    if options.markdown:
        update_markdown(
            options.markdown,
            {(r.backend, r.events_requested): render_markdown(r, context) for r in reports},
        )
        print(f"\nWrote {options.markdown}")
    print(f"\nTotal: {sum(r.seconds for r in reports):.0f} s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
