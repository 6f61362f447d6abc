"""SQLModel table rows: private to the store; callers only ever see `Event`.

Two tables make the one stream: `events` in global order and `event_tags`, one row per
(tag, position), whose primary key is the index every tag query and append condition
starts from. `events.tags` repeats an event's tags so a read needs no join or aggregate.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any
from uuid import UUID

from sqlalchemy import JSON, BigInteger, Column, DateTime, Identity, Index, Integer, Table, Text, Uuid
from sqlalchemy.dialects.postgresql import JSONB
from sqlmodel import Field, SQLModel

from event_store._model import Event

# BIGINT identity on PostgreSQL; INTEGER PRIMARY KEY (the rowid) on SQLite.
POSITION_TYPE = BigInteger().with_variant(Integer(), "sqlite")
JSON_TYPE = JSON().with_variant(JSONB(), "postgresql")


class EventRow(SQLModel, table=True):
    __tablename__ = "events"
    __table_args__ = (Index("ix_events_type_position", "type", "position"),)

    position: int | None = Field(
        default=None, sa_column=Column("position", POSITION_TYPE, Identity(), primary_key=True)
    )
    id: UUID = Field(sa_column=Column("id", Uuid(), nullable=False, unique=True))
    type: str = Field(sa_column=Column("type", Text(), nullable=False))
    data: dict[str, Any] = Field(sa_column=Column("data", JSON_TYPE, nullable=False))
    # `metadata` is taken by SQLAlchemy's declarative base, hence the attribute name.
    meta: dict[str, Any] = Field(sa_column=Column("metadata", JSON_TYPE, nullable=False))
    tags: list[str] = Field(sa_column=Column("tags", JSON_TYPE, nullable=False))
    recorded_at: datetime = Field(sa_column=Column("recorded_at", DateTime(timezone=True), nullable=False))


class EventTagRow(SQLModel, table=True):
    """No foreign key: rows are written only by the append, in the transaction that writes
    their event, and a per-row referential check would tax every append."""

    __tablename__ = "event_tags"
    __table_args__ = {"sqlite_with_rowid": False}

    tag: str = Field(sa_column=Column("tag", Text(), primary_key=True))
    position: int = Field(sa_column=Column("position", POSITION_TYPE, primary_key=True))


events_table: Table = SQLModel.metadata.tables[EventRow.__tablename__]
event_tags_table: Table = SQLModel.metadata.tables[EventTagRow.__tablename__]

READ_COLUMNS = (
    events_table.c.position,
    events_table.c.id,
    events_table.c.type,
    events_table.c.data,
    events_table.c.tags,
    events_table.c.metadata,
    events_table.c.recorded_at,
)


def event_from_row(row: Any) -> Event:
    """Map a row of `READ_COLUMNS` to the public type, times in UTC whatever the backend.

    SQLite hands back naive UTC times; PostgreSQL sessions are set to UTC (see _engines).
    """
    position, event_id, event_type, data, tags, metadata, recorded_at = row
    if recorded_at.tzinfo is None:
        recorded_at = recorded_at.replace(tzinfo=UTC)
    elif recorded_at.tzinfo is not UTC:
        recorded_at = recorded_at.astimezone(UTC)
    return Event(position, event_id, event_type, data, tuple(tags), metadata, recorded_at)
