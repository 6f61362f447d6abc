"""A fresh, throw-away database per backend, shared by the store and the raw driver.

Figures from a database that other runs or tests have written to depend on their leftovers,
so every run creates its own and drops it however the run ends. The store and the baseline
share it, so both write into indexes of the same size on the same disk.
"""

from __future__ import annotations

import secrets
import tempfile
from collections.abc import Callable, Iterator, Mapping
from contextlib import AbstractContextManager, contextmanager
from dataclasses import dataclass
from pathlib import Path

import psycopg
from sqlalchemy.engine import make_url

from benchmarks._event_store._drivers import PostgresDriver, RawDriver, SqliteDriver

BACKENDS = ("postgresql", "sqlite")
TITLES = {"postgresql": "PostgreSQL", "sqlite": "SQLite"}


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
