"""The baseline the store is measured against: its tables written and read through bare drivers.

ARCHITECTURE.md states the store's targets relative to the cheapest durable write there is,
so the figures need that write measured on the same machine in the same run. One abstract
driver holds everything the two databases share; the subclasses hold only column types,
placeholders, how a write transaction starts and how rows are generated server-side.
"""

from __future__ import annotations

import json
import os
import sqlite3
from abc import ABC, abstractmethod
from collections.abc import Iterator, Mapping, Sequence
from contextlib import AbstractContextManager, closing, contextmanager
from datetime import UTC, datetime
from typing import Any, ClassVar, TypeAlias

import psycopg
from psycopg.types.json import Jsonb

from benchmarks._event_store._events import FILL_TAG_PREFIX
from event_store import NewEvent
from event_store._engines import PG_CONNECT_ARGS

# A psycopg or sqlite3 connection: both offer `execute(sql, params)` returning a cursor.
Connection: TypeAlias = Any

READ_PAGE = 1_000  # the store's default read batch; the raw scan fetches pages of the same size

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
    """psycopg in autocommit: a single insert is one statement, so one round trip, one commit.

    Connections get the store's own settings (`PG_CONNECT_ARGS`), so that the two sides
    differ only in what they send."""

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
        return psycopg.connect(self.address, autocommit=True, **PG_CONNECT_ARGS)

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
