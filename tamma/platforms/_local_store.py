"""The local platform's tracker: issues, comments, labels, pull requests and CI checks in a
SQLite file beside the bare repository. Plain SQL: a handful of small tables, one writer.

Any text is accepted, so tests (and `tamma local`, whose arguments may hold bytes that are not
UTF-8) can file an issue out of anything. A NUL is kept, as a forge's JSON API would hand it
back: the event store and git each make it storable. A lone surrogate is no character at all:
sqlite3 cannot bind it, and no JSON request (to a model, to a forge) nor UTF-8 file can carry
it, so it is stored as U+FFFD, the replacement character a UTF-8 decoder puts in its place.
"""

from __future__ import annotations

import re
import sqlite3
from collections.abc import Iterable, Iterator, Mapping
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

SCHEMA = """
CREATE TABLE IF NOT EXISTS settings (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS issues (
    number INTEGER PRIMARY KEY, title TEXT NOT NULL, body TEXT NOT NULL,
    state TEXT NOT NULL DEFAULT 'open', author TEXT NOT NULL, created_at TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS labels (issue INTEGER NOT NULL, label TEXT NOT NULL, PRIMARY KEY (issue, label));
CREATE TABLE IF NOT EXISTS assignees (issue INTEGER NOT NULL, user TEXT NOT NULL, PRIMARY KEY (issue, user));
CREATE TABLE IF NOT EXISTS comments (
    id INTEGER PRIMARY KEY, issue INTEGER NOT NULL, author TEXT NOT NULL, body TEXT NOT NULL,
    created_at TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS pulls (
    number INTEGER PRIMARY KEY, title TEXT NOT NULL, body TEXT NOT NULL, head TEXT NOT NULL,
    base TEXT NOT NULL, state TEXT NOT NULL DEFAULT 'open', draft INTEGER NOT NULL DEFAULT 0);
CREATE TABLE IF NOT EXISTS checks (
    id INTEGER PRIMARY KEY, sha TEXT NOT NULL UNIQUE, name TEXT NOT NULL, state TEXT NOT NULL,
    log TEXT NOT NULL, started_at TEXT NOT NULL);
"""


_SURROGATE = re.compile("[\ud800-\udfff]")


def now() -> str:
    return datetime.now(UTC).isoformat()


class TrackerDB:
    """A connection per operation, so the platform can be shared across threads."""

    def __init__(self, path: Path) -> None:
        self.path = path

    def create(self, settings: dict[str, str]) -> None:
        with self.transaction() as db:
            db.executescript(SCHEMA)
            db.executemany("INSERT OR REPLACE INTO settings VALUES (?, ?)", settings.items())

    @contextmanager
    def transaction(self) -> Iterator[sqlite3.Connection]:
        connection = sqlite3.connect(self.path, timeout=30, factory=_Connection)
        connection.row_factory = sqlite3.Row
        try:
            with connection:
                yield connection
        finally:
            connection.close()

    def setting(self, key: str, default: str = "") -> str:
        with self.transaction() as db:
            row = db.execute("SELECT value FROM settings WHERE key = ?", (key,)).fetchone()
        return str(row["value"]) if row else default


class _Connection(sqlite3.Connection):
    """Binds text with its lone surrogates replaced (see the module docstring). Parameters are
    typed `Any`, as wide as sqlite3's own: a sequence, or a mapping for named placeholders."""

    def execute(self, sql: str, parameters: Any = (), /) -> sqlite3.Cursor:
        return super().execute(sql, _bindable(parameters))

    def executemany(self, sql: str, parameters: Iterable[Any], /) -> sqlite3.Cursor:
        return super().executemany(sql, (_bindable(row) for row in parameters))


def _bindable(parameters: Any) -> Any:
    if isinstance(parameters, Mapping):
        return {name: _bindable_value(value) for name, value in parameters.items()}
    return tuple(_bindable_value(value) for value in parameters)


def _bindable_value(value: object) -> object:
    """`value`, with each lone surrogate of a text as U+FFFD."""
    if not isinstance(value, str):
        return value
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:
        return _SURROGATE.sub("\ufffd", value)
    return value
