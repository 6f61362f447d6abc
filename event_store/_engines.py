"""Database URLs and engines: which backends the store supports and how each is tuned.

PostgreSQL runs in autocommit: every append and every read batch is one statement, so no
transaction is held open between round trips. SQLite runs in WAL mode with a busy timeout;
appends open `BEGIN IMMEDIATE` to take the write lock before checking their condition.
Stored JSON is decoded by `_json.decode` (orjson first).
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from sqlalchemy import Engine, create_engine, event
from sqlalchemy.engine import URL, make_url
from sqlalchemy.exc import ArgumentError
from sqlalchemy.pool import StaticPool

from event_store import _json
from event_store._errors import DatabaseURLError

SQLITE_BUSY_TIMEOUT_S = 30
PG_CONNECT_TIMEOUT_S = 5
PG_POOL_SIZE = 4
PG_MAX_OVERFLOW = 8
# Every PostgreSQL connection of the store's, the engine's and the appender's alike.
PG_CONNECT_ARGS: Mapping[str, Any] = {
    "connect_timeout": PG_CONNECT_TIMEOUT_S,
    "application_name": "tamma-event-store",
    # Times come back already in UTC, so reads need no per-row conversion.
    "options": "-c timezone=UTC",
}
_SUPPORTED = "sqlite:///PATH or postgresql+psycopg://USER@HOST:PORT/DB"
_POSTGRES_ALIASES = {"postgres", "postgresql", "postgresql+psycopg", "postgres+psycopg"}


def default_url() -> str:
    """The embedded default: `$TAMMA_HOME/events.db`, TAMMA_HOME defaulting to ~/.tamma."""
    home = Path(os.environ.get("TAMMA_HOME") or Path.home() / ".tamma").expanduser()
    return f"sqlite:///{home / 'events.db'}"


def parse_url(url: str) -> URL:
    """Normalize a user's URL to a supported driver, or say clearly what is supported."""
    try:
        parsed = make_url(url)
    except ArgumentError:
        raise DatabaseURLError(f"not a database URL: {url!r}; use {_SUPPORTED}") from None
    if parsed.drivername in _POSTGRES_ALIASES:
        return parsed.set(drivername="postgresql+psycopg")
    if parsed.drivername in {"sqlite", "sqlite+pysqlite"}:
        return parsed
    raise DatabaseURLError(f"unsupported database URL scheme {parsed.drivername!r}; use {_SUPPORTED}")


def masked(url: URL) -> str:
    """The URL as it may appear in messages and logs: password hidden."""
    return url.render_as_string(hide_password=True)


def libpq_url(url: URL) -> str:
    """A PostgreSQL URL as psycopg connects to it directly, password included."""
    return url.set(drivername="postgresql").render_as_string(hide_password=False)


def create(url: URL) -> Engine:
    if url.get_backend_name() == "postgresql":
        return _create_postgres(url)
    return _create_sqlite(url)


def _create_postgres(url: URL) -> Engine:
    return create_engine(
        url,
        isolation_level="AUTOCOMMIT",
        pool_size=PG_POOL_SIZE,
        max_overflow=PG_MAX_OVERFLOW,
        json_deserializer=_json.decode,
        connect_args=dict(PG_CONNECT_ARGS),
    )


def _create_sqlite(url: URL) -> Engine:
    in_memory = url.database in (None, "", ":memory:")
    options: dict[str, Any] = {"connect_args": {"timeout": SQLITE_BUSY_TIMEOUT_S}}
    if in_memory:
        # One shared connection, or every checkout would see its own empty database.
        options = {"poolclass": StaticPool, "connect_args": {"check_same_thread": False}}
    else:
        Path(str(url.database)).expanduser().parent.mkdir(parents=True, exist_ok=True)
    engine = create_engine(url, json_deserializer=_json.decode, **options)
    event.listen(engine, "connect", _configure_sqlite_connection)
    event.listen(engine, "begin", _begin_sqlite_transaction)
    return engine


def _configure_sqlite_connection(dbapi_connection: Any, _record: Any) -> None:
    # Let SQLAlchemy's "begin" event issue BEGIN itself (pysqlite's implicit BEGIN is deferred).
    dbapi_connection.isolation_level = None
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute(f"PRAGMA busy_timeout={SQLITE_BUSY_TIMEOUT_S * 1000}")
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.close()


def _begin_sqlite_transaction(connection: Any) -> None:
    mode = connection.get_execution_options().get("sqlite_begin", "DEFERRED")
    connection.exec_driver_sql(f"BEGIN {mode}")
