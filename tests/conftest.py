"""Shared fixtures: event stores on SQLite and on a fresh PostgreSQL database per session.

PostgreSQL comes from TAMMA_TEST_POSTGRES_URL (default: the machine's `test` database as
postgres); the session creates its own database beside it and drops it at the end, so runs
never see each other's events. Tests that need PostgreSQL fail, not skip, when it is down.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path

import psycopg
import pytest
from sqlalchemy.engine import make_url

from event_store import EventStore

pytest_plugins = ["tests.fakes.fixtures", "tests.config_fixtures", "tests.prefect_fixtures"]

ADMIN_URL = os.environ.get("TAMMA_TEST_POSTGRES_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test")
BACKENDS = ("sqlite", "postgresql")

StoreFactory = Callable[[], EventStore]


def _libpq(url: str) -> str:
    return make_url(url).set(drivername="postgresql").render_as_string(hide_password=False)


@pytest.fixture(scope="session")
def postgres_url() -> Iterator[str]:
    """URL of a database created for this test session (dropped afterwards)."""
    name = f"tamma_test_{uuid.uuid4().hex[:10]}"
    with psycopg.connect(_libpq(ADMIN_URL), autocommit=True) as admin:
        admin.execute(f'CREATE DATABASE "{name}"')
    try:
        yield make_url(ADMIN_URL).set(database=name).render_as_string(hide_password=False)
    finally:
        with psycopg.connect(_libpq(ADMIN_URL), autocommit=True) as admin:
            admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def empty_postgres(url: str) -> None:
    """Remove every event so each test starts from position 0 on the session database."""
    with psycopg.connect(_libpq(url), autocommit=True) as connection:
        exists = connection.execute("SELECT to_regclass('events') IS NOT NULL").fetchone()
        if exists and exists[0]:
            connection.execute("TRUNCATE events, event_tags RESTART IDENTITY")


@pytest.fixture(params=BACKENDS)
def store_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """An empty event store's URL, once per backend."""
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'events.db'}"
    url = request.getfixturevalue("postgres_url")
    empty_postgres(url)
    return url


@pytest.fixture
def store(store_url: str) -> Iterator[EventStore]:
    """An empty, open event store, once per backend."""
    with EventStore(store_url) as opened:
        yield opened


def terminate_store_connections(url: str) -> None:
    """Kill the event store's server connections, as a server restart or idle timeout would."""
    with psycopg.connect(_libpq(url), autocommit=True) as admin:
        admin.execute(
            "SELECT pg_terminate_backend(pid) FROM pg_stat_activity"
            " WHERE application_name = 'tamma-event-store' AND datname = current_database()"
        )
