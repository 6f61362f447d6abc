"""Migration 0002 (PostgreSQL's append function on native arrays) on a store written at 0001.

A database filled by the previous release is opened by this one: it must be migrated on
first use, read back exactly as before, keep deciding against the events stored before the
upgrade, and (PostgreSQL) still serve a process of the previous release that keeps
appending through 0001's function meanwhile.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterator, Sequence
from pathlib import Path

import psycopg
import pytest
from sqlalchemy import Engine, text

from event_store import (
    AppendCondition,
    AppendConditionFailed,
    Event,
    EventStore,
    NewEvent,
    Query,
    QueryItem,
    _engines,
    _schema,
    _sqlite,
)
from tests.conftest import ADMIN_URL, BACKENDS, _libpq

ISSUE = "issue:local:demo#1"
BEFORE = [
    [NewEvent("ISSUE.CLAIMED", {"worker": "w1", "v": 1}, [ISSUE, "worker:w1"], {"actor": "tamma"})],
    [
        NewEvent("PLAN.PROPOSED", {"plan": 'fix → ✓ "quoted" \\ back', "steps": [1, 2.5]}, [ISSUE, "run:r1"]),
        NewEvent("TOOL.CALLED", {"args": {"path": "a,b {c}"}, "n": None}, ["run:r1", "tag with spaces"]),
    ],
    [NewEvent("NOTE", {})],
]
QUERIES = [
    Query.all(),
    Query.of(tags=[ISSUE]),
    Query.of(types=["TOOL.CALLED"]),
    Query([QueryItem(types=["NOTE"]), QueryItem(tags=["run:r1"])]),
]


@pytest.fixture(params=BACKENDS)
def fresh_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """A database nothing has touched: a new SQLite file or a new PostgreSQL database."""
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'events.db'}"
        return
    name = f"tamma_migration_{uuid.uuid4().hex[:10]}"
    with psycopg.connect(_libpq(ADMIN_URL), autocommit=True) as admin:
        admin.execute(f'CREATE DATABASE "{name}"')
    try:
        yield _engines.parse_url(ADMIN_URL).set(database=name).render_as_string(hide_password=False)
    finally:
        with psycopg.connect(_libpq(ADMIN_URL), autocommit=True) as admin:
            admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def append_as_0001(
    engine: Engine, events: Sequence[NewEvent], condition: AppendCondition | None = None
) -> int:
    """Append as the previous release did: its SQLite path (unchanged), or 0001's function."""
    if engine.dialect.name == "sqlite":
        return _sqlite.append(engine, events, condition)
    batch = [
        {"id": str(e.id), "type": e.type, "data": e.data, "metadata": e.metadata, "tags": e.tags}
        for e in events
    ]
    items = None if condition is None else [{"types": i.types, "tags": i.tags} for i in condition.query.items]
    after = 0 if condition is None else condition.after or 0
    with engine.connect() as connection:
        position: int = connection.execute(
            text("SELECT event_store_append(CAST(:batch AS jsonb), CAST(:items AS jsonb), :after)"),
            {
                "batch": json.dumps(batch),
                "items": None if items is None else json.dumps(items),
                "after": after,
            },
        ).scalar_one()
    return position


def reads(store: EventStore) -> list[list[Event]]:
    return [list(store.read(query)) for query in QUERIES]


def table_rows(engine: Engine) -> tuple[list[tuple[object, ...]], list[tuple[object, ...]]]:
    with engine.connect() as connection:
        events = connection.execute(text("SELECT * FROM events ORDER BY position")).all()
        tags = connection.execute(text("SELECT tag, position FROM event_tags ORDER BY tag, position")).all()
    return [tuple(row) for row in events], [tuple(row) for row in tags]


@pytest.fixture
def store_at_0001(fresh_url: str, monkeypatch: pytest.MonkeyPatch) -> tuple[str, list[list[Event]]]:
    """The URL of a database at revision 0001 holding BEFORE, and its reads taken at 0001."""
    engine = _engines.create(_engines.parse_url(fresh_url))
    try:
        assert _schema.upgrade(engine, "0001") == "0001"
        for batch in BEFORE:
            append_as_0001(engine, batch)
        with monkeypatch.context() as patched:
            patched.setattr(_schema, "ensure_schema", lambda _engine: None)  # open without migrating
            with EventStore(fresh_url) as old:
                before = reads(old)
        assert _schema.current_revision(engine) == "0001"
    finally:
        engine.dispose()
    return fresh_url, before


def test_first_use_migrates_and_reads_stay_identical(store_at_0001: tuple[str, list[list[Event]]]) -> None:
    url, before = store_at_0001
    engine = _engines.create(_engines.parse_url(url))
    rows_before = table_rows(engine)
    with EventStore(url) as store:
        assert _schema.current_revision(engine) == _schema.HEAD_REVISION
        assert reads(store) == before
        assert [len(found) for found in before] == [4, 2, 1, 3]
        assert table_rows(engine) == rows_before
        assert store.upgrade() == _schema.HEAD_REVISION
    engine.dispose()


def test_decisions_after_the_upgrade_see_the_events_from_before(
    store_at_0001: tuple[str, list[list[Event]]],
) -> None:
    url, _ = store_at_0001
    with EventStore(url) as store:
        claimed = Query.of(types=["ISSUE.CLAIMED"], tags=[ISSUE])
        with pytest.raises(AppendConditionFailed) as refused:
            store.append([NewEvent("ISSUE.CLAIMED", {"worker": "w2"}, [ISSUE])], AppendCondition(claimed))
        assert refused.value.conflicting_position == 1
        assert store.append(BEFORE[1], AppendCondition(Query.of(tags=[ISSUE]))) == 3, (
            "a retry across the upgrade"
        )
        assert store.append([NewEvent("AFTER", tags=[ISSUE])], AppendCondition(claimed, after=1)) == 5
        assert [e.type for e in store.read(after=4)] == ["AFTER"]


@pytest.mark.parametrize("fresh_url", ["postgresql"], indirect=True)
def test_a_process_of_the_previous_release_keeps_appending(
    store_at_0001: tuple[str, list[list[Event]]],
) -> None:
    """Both functions take the same table lock, so an old process's appends and this one's
    conditions serialize; this release never calls the old function (dropped at the end)."""
    url, _ = store_at_0001
    engine = _engines.create(_engines.parse_url(url))
    with EventStore(url) as store:
        try:
            old_claim = NewEvent("ISSUE.CLAIMED", {"worker": "old"}, ["issue:local:demo#2"])
            assert append_as_0001(engine, [old_claim]) == 5
            with engine.connect() as connection:
                connection.execute(text("DROP FUNCTION event_store_append(jsonb, jsonb, bigint)"))
        finally:
            engine.dispose()
        claimed = Query.of(types=["ISSUE.CLAIMED"], tags=["issue:local:demo#2"])
        with pytest.raises(AppendConditionFailed) as refused:
            store.append(
                [NewEvent("ISSUE.CLAIMED", {"worker": "new"}, ["issue:local:demo#2"])],
                AppendCondition(claimed),
            )
        assert refused.value.conflicting_position == 5
        assert store.append([NewEvent("NEXT")], AppendCondition(claimed, after=5)) == 6
