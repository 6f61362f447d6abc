"""The local platform's tracker: issues, comments, labels, pull requests and CI checks in a
SQLite file beside the bare repository. Plain SQL: a handful of small tables, one writer."""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path

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
        connection = sqlite3.connect(self.path, timeout=30)
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
