"""Bad input gets a clear, typed error and changes nothing."""

from __future__ import annotations

import math
import pickle
from pathlib import Path
from uuid import uuid4

import pytest

from event_store import (
    AppendCondition,
    AppendConditionFailed,
    DatabaseURLError,
    DuplicateEventId,
    EventStore,
    EventStoreUnavailable,
    InvalidEvent,
    NewEvent,
    Query,
    QueryItem,
)


@pytest.mark.parametrize("bad_type", ["", "   ", " ISSUE.CLAIMED", "ISSUE CLAIMED", None, 7, "X" * 201])
def test_event_type_must_be_a_non_empty_word(bad_type: object) -> None:
    with pytest.raises(InvalidEvent, match="type"):
        NewEvent(bad_type)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("data", "reason"),
    [
        ({"when": object()}, "not JSON-serializable"),
        ({"ratio": math.nan}, "not JSON"),
        ([1, 2], "JSON object"),
    ],
)
def test_event_data_must_be_a_json_object(data: object, reason: str) -> None:
    with pytest.raises(InvalidEvent, match=reason):
        NewEvent("X", data)  # type: ignore[arg-type]


def test_tags_must_be_a_list_of_non_empty_strings() -> None:
    with pytest.raises(InvalidEvent, match="not one string"):
        NewEvent("X", tags="issue:1")
    with pytest.raises(InvalidEvent, match="non-empty"):
        NewEvent("X", tags=["ok", ""])
    assert NewEvent("X", tags=["a", "b", "a"]).tags == ("a", "b")


def test_query_and_condition_arguments_are_checked() -> None:
    with pytest.raises(InvalidEvent, match="not one string"):
        QueryItem(types="ISSUE.CLAIMED")
    with pytest.raises(InvalidEvent):
        Query(["not an item"])  # type: ignore[list-item]
    with pytest.raises(InvalidEvent, match="after"):
        AppendCondition(Query.all(), after=-1)
    with pytest.raises(InvalidEvent, match="after"):
        AppendCondition(Query.all(), after=True)


def test_bad_append_and_read_arguments_write_nothing(store: EventStore) -> None:
    with pytest.raises(InvalidEvent, match="at least one"):
        store.append([])
    with pytest.raises(InvalidEvent, match="NewEvent"):
        store.append([{"type": "X"}])  # type: ignore[list-item]
    with pytest.raises(InvalidEvent, match="AppendCondition"):
        store.append([NewEvent("X")], condition=Query.all())  # type: ignore[arg-type]
    with pytest.raises(InvalidEvent, match="after"):
        store.read(after=-5)
    with pytest.raises(InvalidEvent, match="limit"):
        store.read(limit="10")  # type: ignore[arg-type]
    assert store.head() == 0


@pytest.mark.parametrize("url", ["mysql://root@localhost/test", "redis://localhost:6379", "not a url"])
def test_unknown_scheme_is_refused_before_connecting(url: str) -> None:
    with pytest.raises(DatabaseURLError, match="sqlite:///PATH or postgresql"):
        EventStore(url)


def test_unreachable_postgres_is_reported_without_the_password() -> None:
    with pytest.raises(EventStoreUnavailable) as failure:
        EventStore("postgresql+psycopg://root:hunter2-secret@127.0.0.1:1/test")
    message = str(failure.value)
    assert "127.0.0.1:1" in message
    assert "hunter2-secret" not in message
    assert "***" in message


def test_unopenable_sqlite_path_is_reported(tmp_path: Path) -> None:
    blocker = tmp_path / "file"
    blocker.write_text("not a directory")
    with pytest.raises(EventStoreUnavailable, match="cannot"):
        EventStore(f"sqlite:///{blocker}/events.db")


def test_postgres_aliases_use_psycopg(postgres_url: str) -> None:
    alias = postgres_url.replace("postgresql+psycopg://", "postgres://")
    with EventStore(alias) as store:
        assert store.backend == "postgresql"
        assert store.url.startswith("postgresql+psycopg://")


def test_typed_errors_survive_pickling_between_processes() -> None:
    conflict = pickle.loads(pickle.dumps(AppendConditionFailed(7, after=3)))
    assert (conflict.conflicting_position, conflict.after, str(conflict)) == (
        7,
        3,
        str(AppendConditionFailed(7, 3)),
    )
    event_id = uuid4()
    duplicate = pickle.loads(pickle.dumps(DuplicateEventId(event_id, "appears twice in the batch")))
    assert (duplicate.event_id, str(duplicate)) == (
        event_id,
        f"event id {event_id} appears twice in the batch",
    )
