"""SQLite append: `BEGIN IMMEDIATE` takes the database's one write lock, then the id check,
condition check and inserts run in that transaction. Positions are assigned explicitly
(head + 1, ...) because nothing else can write while the lock is held.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime

from sqlalchemy import Connection, Engine, func, insert, select

from event_store import _sql
from event_store._errors import AppendConditionFailed, DuplicateEventId
from event_store._model import AppendCondition, NewEvent
from event_store._tables import event_tags_table as tags_t
from event_store._tables import events_table as events_t


def append(engine: Engine, events: Sequence[NewEvent], condition: AppendCondition | None) -> int:
    with engine.connect() as connection:
        connection = connection.execution_options(sqlite_begin="IMMEDIATE")
        with connection.begin():
            retried = _stored_position_of_retry(connection, events)
            if retried is not None:
                return retried
            if condition is not None:
                _check(connection, condition)
            return _insert(connection, events)


def _stored_position_of_retry(connection: Connection, events: Sequence[NewEvent]) -> int | None:
    """The last position if this exact batch is already stored; None if none of it is."""
    ids = [e.id for e in events]
    stored = {
        row.id: (row.position, row.type)
        for row in connection.execute(
            select(events_t.c.id, events_t.c.position, events_t.c.type).where(events_t.c.id.in_(ids))
        )
    }
    if not stored:
        return None
    last: int = max(position for position, _ in stored.values())
    for offset, new in enumerate(events):
        expected = (last - len(events) + 1 + offset, new.type)
        if stored.get(new.id) != expected:
            raise DuplicateEventId(next(i for i in ids if i in stored))
    return last


def _check(connection: Connection, condition: AppendCondition) -> None:
    first_match = connection.execute(
        select(func.min(events_t.c.position)).where(
            _sql.matching(condition.query, condition.after or 0, None)
        )
    ).scalar()
    if first_match is not None:
        raise AppendConditionFailed(first_match, condition.after)


def _insert(connection: Connection, events: Sequence[NewEvent]) -> int:
    head: int = connection.execute(select(func.coalesce(func.max(events_t.c.position), 0))).scalar_one()
    now = datetime.now(UTC)
    positioned = list(enumerate(events, start=head + 1))
    connection.execute(
        insert(events_t),
        [
            {
                "position": position,
                "id": e.id,
                "type": e.type,
                "data": e.data,
                "metadata": e.metadata,
                "tags": list(e.tags),
                "recorded_at": now,
            }
            for position, e in positioned
        ],
    )
    tag_rows = [{"tag": tag, "position": position} for position, e in positioned for tag in e.tags]
    if tag_rows:
        connection.execute(insert(tags_t), tag_rows)
    return head + len(positioned)
