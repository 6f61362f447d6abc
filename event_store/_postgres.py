"""PostgreSQL append: one `SELECT event_store_append(...)` in autocommit, one round trip.

The function (migration 0001) takes `LOCK TABLE events IN EXCLUSIVE MODE`, checks ids and
the condition with statements of their own after the lock, inserts, and commits with the
statement. Every append, conditional or not, goes through it, so they all serialize the
same way and a condition can never miss an event committed beside it.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from uuid import UUID

from sqlalchemy import Engine
from sqlalchemy.exc import DBAPIError

from event_store._errors import AppendConditionFailed, DuplicateEventId
from event_store._model import AppendCondition, NewEvent

_APPEND_SQL = "SELECT event_store_append(%s::jsonb, %s::jsonb, %s)"
_DUPLICATE_ID = "TAM01"
_CONDITION_FAILED = "TAM02"


def append(engine: Engine, events: Sequence[NewEvent], condition: AppendCondition | None) -> int:
    batch = json.dumps(
        [
            {"id": str(e.id), "type": e.type, "data": e.data, "metadata": e.metadata, "tags": e.tags}
            for e in events
        ]
    )
    items = None
    after = 0
    if condition is not None:
        items = json.dumps([{"types": i.types, "tags": i.tags} for i in condition.query.items])
        after = condition.after or 0
    try:
        with engine.connect() as connection:
            position: int = connection.exec_driver_sql(_APPEND_SQL, (batch, items, after)).scalar_one()
            return position
    except DBAPIError as exc:
        _raise_typed(exc, condition)
        raise


def _raise_typed(exc: DBAPIError, condition: AppendCondition | None) -> None:
    sqlstate = getattr(exc.orig, "sqlstate", None)
    detail = getattr(getattr(exc.orig, "diag", None), "message_detail", None) or ""
    if sqlstate == _CONDITION_FAILED and condition is not None:
        raise AppendConditionFailed(int(detail), condition.after) from None
    if sqlstate == _DUPLICATE_ID:
        raise DuplicateEventId(UUID(detail)) from None
