"""`EventStore`: append with a condition, read by query in position order, head."""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager
from types import TracebackType
from typing import TYPE_CHECKING, Any

from sqlalchemy import Row, Select, func, select
from sqlalchemy.exc import DBAPIError, SQLAlchemyError

from event_store import _engines, _schema, _sql, _sqlite
from event_store._errors import DuplicateEventId, EventStoreUnavailable, InvalidEvent, NotAnEventStore
from event_store._model import AppendCondition, Event, NewEvent, Query, check_position
from event_store._tables import READ_COLUMNS, event_from_row
from event_store._tables import events_table as events_t

if TYPE_CHECKING:
    from event_store import _postgres

DEFAULT_READ_BATCH = 1000


class EventStore:
    """One append-only stream of events in SQLite or PostgreSQL.

    `EventStore(url)` connects, and migrates the schema if it is missing or behind. With no
    URL it opens the embedded default `$TAMMA_HOME/events.db` (TAMMA_HOME: ~/.tamma).

    Appends are atomic per batch and get consecutive positions. Re-appending events that are
    all stored already, with the same ids and types, in the same order at consecutive
    positions (a retried task), stores nothing and returns the last one's position. The
    store keeps no batch boundaries, so a run of stored events re-sent on its own counts as
    such a retry too. Any other reuse of a stored id raises `DuplicateEventId`.
    """

    def __init__(self, url: str | None = None, *, read_batch_size: int = DEFAULT_READ_BATCH) -> None:
        self._url = _engines.parse_url(url or _engines.default_url())
        self.read_batch_size = read_batch_size
        with self._translate_errors():
            self._engine = _engines.create(self._url)
            _schema.ensure_schema(self._engine)
        self._postgres: _postgres.Appender | None = None
        if self._url.get_backend_name() == "postgresql":
            from event_store import _postgres  # psycopg: ~130 ms that a SQLite store never needs

            self._postgres = _postgres.Appender(self._url)

    @property
    def url(self) -> str:
        """The database URL with any password masked."""
        return _engines.masked(self._url)

    @property
    def backend(self) -> str:
        """ "postgresql" or "sqlite"."""
        return self._url.get_backend_name()

    def append(self, events: NewEvent | Iterable[NewEvent], condition: AppendCondition | None = None) -> int:
        """Append a batch atomically; return the position of its last event.

        Raises `AppendConditionFailed` (nothing written) if an event matching
        `condition.query` exists after `condition.after`.
        """
        batch = [events] if isinstance(events, NewEvent) else list(events)
        if not batch:
            raise InvalidEvent("append needs at least one event")
        if not all(isinstance(e, NewEvent) for e in batch):
            raise InvalidEvent("append takes NewEvent objects")
        if condition is not None and not isinstance(condition, AppendCondition):
            raise InvalidEvent("condition must be an AppendCondition")
        seen: set[object] = set()
        for new in batch:
            if new.id in seen:
                raise DuplicateEventId(new.id, "appears twice in the batch")
            seen.add(new.id)
        with self._translate_errors():
            if self._postgres is not None:
                return self._postgres.append(batch, condition)
            return _sqlite.append(self._engine, batch, condition)

    def read(
        self,
        query: Query | None = None,
        *,
        after: int | None = 0,
        until: int | None = None,
        limit: int | None = None,
    ) -> Iterator[Event]:
        """Events matching `query` with `after < position <= until`, in position order.

        Streams in batches of `read_batch_size` (keyset pages, no transaction held open
        between them), so memory stays bounded however many events match.
        """
        query = Query.all() if query is None else query
        if not isinstance(query, Query):
            raise InvalidEvent("read takes a Query")
        start = check_position(after, "after") or 0
        until = check_position(until, "until")
        limit = check_position(limit, "limit")
        return self._stream(query, start, until, limit)

    def _stream(self, query: Query, after: int, until: int | None, limit: int | None) -> Iterator[Event]:
        remaining = limit
        while remaining is None or remaining > 0:
            size = self.read_batch_size if remaining is None else min(remaining, self.read_batch_size)
            statement = (
                select(*READ_COLUMNS)
                .where(_sql.matching(query, after, until))
                .order_by(events_t.c.position)
                .limit(size)
            )
            rows = self._fetch(statement)
            for row in rows:
                yield event_from_row(row)
            if len(rows) < size:
                return
            after = rows[-1][0]
            if remaining is not None:
                remaining -= len(rows)

    def head(self) -> int:
        """The last position in the store; 0 when it is empty."""
        head: int = self._fetch(select(func.coalesce(func.max(events_t.c.position), 0)))[0][0]
        return head

    def _fetch(self, statement: Select[Any]) -> Sequence[Row[Any]]:
        """All rows of one read. A pooled connection found dead (a server restart, an idle
        timeout) makes SQLAlchemy drop the pool's connections; the read, which changes
        nothing, is then sent once more on a fresh one, as an append would be."""
        with self._translate_errors():
            try:
                with self._engine.connect() as connection:
                    return connection.execute(statement).all()
            except DBAPIError as exc:
                if not exc.connection_invalidated:
                    raise
            with self._engine.connect() as connection:
                return connection.execute(statement).all()

    def upgrade(self) -> str:
        """Apply pending migrations (idempotent); returns the schema revision."""
        with self._translate_errors():
            return _schema.upgrade(self._engine)

    def close(self) -> None:
        """Release pooled connections."""
        if self._postgres is not None:
            self._postgres.close()
        self._engine.dispose()

    def __enter__(self) -> EventStore:
        return self

    def __exit__(self, *exc: type[BaseException] | BaseException | TracebackType | None) -> None:
        self.close()

    def __repr__(self) -> str:
        return f"EventStore({self.url!r})"

    @contextmanager
    def _translate_errors(self) -> Iterator[None]:
        """Database failures become `EventStoreUnavailable` (or `NotAnEventStore` for a file
        SQLite cannot read), naming the masked URL only."""
        try:
            yield
        except DBAPIError as exc:
            if _is_not_a_database(exc):
                raise NotAnEventStore(self.url, "the file is not a SQLite database") from None
            if exc.connection_invalidated or isinstance(exc.orig, OSError) or _is_connection_error(exc):
                raise EventStoreUnavailable(f"cannot use event store {self.url}: {_reason(exc)}") from None
            raise
        except SQLAlchemyError as exc:
            raise EventStoreUnavailable(f"cannot use event store {self.url}: {exc}") from None
        except OSError as exc:  # e.g. the SQLite file's directory cannot be created
            raise EventStoreUnavailable(f"cannot use event store {self.url}: {exc.strerror or exc}") from None


def _is_not_a_database(exc: DBAPIError) -> bool:
    # sqlite3.DatabaseError proper: "file is not a database" (older SQLite: "file is encrypted
    # or is not a database"); its subclasses (OperationalError...) mean something else.
    return type(exc.orig).__name__ == "DatabaseError" and "not a database" in str(exc.orig)


def _is_connection_error(exc: DBAPIError) -> bool:
    return type(exc).__name__ in {"OperationalError", "InterfaceError"}


def _reason(exc: DBAPIError) -> str:
    text = str(exc.orig).strip().splitlines()
    return text[0] if text else type(exc.orig).__name__
