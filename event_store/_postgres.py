"""PostgreSQL append: one `SELECT event_store_append(...)` in autocommit, one round trip.

The function (migration 0002) takes `LOCK TABLE events IN EXCLUSIVE MODE`, checks ids and
the condition with statements of their own after the lock, inserts, and commits with the
statement. Every append, conditional or not, goes through it, so they all serialize the
same way and a condition can never miss an event committed beside it.

What the client adds to that call is kept small, because an append costs the server little
more than the raw INSERT it is measured against (figures: docs/BENCHMARKS.md):

* arguments are arrays, one element per event and one per condition item, sent as array
  literals written here: psycopg adapts a Python list element by element in Python, about
  60 µs an append, more than the server spends checking the condition;
* the call goes to a psycopg connection of the appender's own, not through SQLAlchemy: its
  execution layer cost about 50 µs an append, and checking a connection out of its pool and
  back another 50 µs of median latency, for nothing used here. psycopg prepares the
  statement after a few calls on each connection.
"""

from __future__ import annotations

import threading
from collections import deque
from collections.abc import Iterable, Sequence
from uuid import UUID

import orjson
import psycopg
from psycopg import pq
from sqlalchemy.engine import URL

from event_store import _engines
from event_store._errors import AppendConditionFailed, DuplicateEventId, EventStoreUnavailable
from event_store._model import AppendCondition, NewEvent, QueryItem

_APPEND_SQL = (
    "SELECT event_store_append(%s::uuid[], %s::text[], %s::jsonb[], %s::jsonb[], %s::jsonb[],"
    " %s::jsonb[], %s::jsonb[], %s::bigint)"
)
_DUPLICATE_ID = "TAM01"
_CONDITION_FAILED = "TAM02"
# A connection that died (server restart, idle timeout) is replaced and the append sent once
# more. That is safe even if the first one committed: the same event ids make the second an
# idempotent retry, which returns the first one's position.
_CONNECTION_LOST = (psycopg.OperationalError, psycopg.InterfaceError)
# `Query.all()` has no items and matches every event, as an item without types or tags does.
_MATCH_ALL = (QueryItem(),)
# The limits of the engine's pool: so many connections kept idle, so many open at once; a
# thread beyond them waits this long for one to come back (appends queue on the lock anyway).
_KEPT_IDLE = _engines.PG_POOL_SIZE
_MAX_OPEN = _engines.PG_POOL_SIZE + _engines.PG_MAX_OVERFLOW
_CONNECTION_WAIT_S = 30

Params = tuple[str | int | None, ...]
Connection = psycopg.Connection[tuple[int]]


class Appender:
    """Appends to one PostgreSQL database over connections of its own, the most recently used
    first, with the engine's pool limits."""

    def __init__(self, url: URL) -> None:
        self._address = _engines.libpq_url(url)
        self._masked = _engines.masked(url)
        self._idle: deque[Connection] = deque()
        self._slots = threading.BoundedSemaphore(_MAX_OPEN)

    def append(self, events: Sequence[NewEvent], condition: AppendCondition | None) -> int:
        params = _params(events, condition)
        try:
            return self._send(params, condition)
        except _CONNECTION_LOST:
            self.close()  # the server went away for the idle connections too, most likely
            try:
                return self._send(params, condition)
            except _CONNECTION_LOST as exc:
                reason = (str(exc).strip().splitlines() or [type(exc).__name__])[0]
                raise EventStoreUnavailable(f"cannot use event store {self._masked}: {reason}") from None

    def close(self) -> None:
        """Close the idle connections; the appender stays usable and opens new ones as needed."""
        while self._idle:
            self._idle.pop().close()

    def _send(self, params: Params, condition: AppendCondition | None) -> int:
        if not self._slots.acquire(timeout=_CONNECTION_WAIT_S):
            raise EventStoreUnavailable(f"cannot use event store {self._masked}: all connections busy")
        try:
            connection = self._checkout()
            try:
                row = connection.execute(_APPEND_SQL, params).fetchone()
            except psycopg.Error as exc:
                _raise_typed(exc, condition)
                raise
            finally:
                self._release(connection)
        finally:
            self._slots.release()
        assert row is not None  # the function returns a position or raises
        return row[0]

    def _checkout(self) -> Connection:
        try:
            return self._idle.pop()
        except IndexError:
            return psycopg.connect(self._address, autocommit=True, **_engines.PG_CONNECT_ARGS)

    def _release(self, connection: Connection) -> None:
        """Keep a connection that is idle and healthy; close one that died or was interrupted."""
        healthy = connection.info.transaction_status == pq.TransactionStatus.IDLE
        if healthy and len(self._idle) < _KEPT_IDLE:
            self._idle.append(connection)
        else:
            connection.close()


def _params(events: Sequence[NewEvent], condition: AppendCondition | None) -> Params:
    """The function's arguments: one array per event field, then one per condition item field."""
    batch = (
        "{" + ",".join([str(e.id) for e in events]) + "}",  # UUIDs need no quoting
        _array([e.type for e in events]),
        _json_array([e.data for e in events]),
        _json_array([e.metadata for e in events]),
        _json_array([e.tags for e in events]),
    )
    if condition is None:
        return (*batch, None, None, 0)
    items = condition.query.items or _MATCH_ALL
    return (
        *batch,
        _json_array([item.types for item in items]),
        _json_array([item.tags for item in items]),
        condition.after or 0,
    )


def _array(texts: Iterable[str]) -> str:
    """A PostgreSQL array literal of `texts`: each element quoted, `\\` and `"` escaped.

    Quoting every element makes any text safe (commas, braces, spaces, the word NULL); the
    store has already replaced U+0000, the one character a PostgreSQL text cannot hold.
    """
    return "{" + ",".join(['"' + t.replace("\\", "\\\\").replace('"', '\\"') + '"' for t in texts]) + "}"


def _json_array(values: Iterable[object]) -> str:
    """An array literal of JSON texts; the values were made plain JSON by `NewEvent`/`QueryItem`."""
    return _array([orjson.dumps(value).decode() for value in values])


def _raise_typed(exc: psycopg.Error, condition: AppendCondition | None) -> None:
    detail = exc.diag.message_detail or ""
    if exc.sqlstate == _CONDITION_FAILED and condition is not None:
        raise AppendConditionFailed(int(detail), condition.after) from None
    if exc.sqlstate == _DUPLICATE_ID:
        raise DuplicateEventId(UUID(detail)) from None
