"""The matching rule of `event_store._model`, as SQL over the two tables.

Tag terms are `position IN (SELECT position FROM event_tags WHERE tag = ... AND position
in range)`, so every tag lookup starts from the (tag, position) primary key.
"""

from __future__ import annotations

from sqlalchemy import ColumnElement, and_, or_, select, true

from event_store._model import Query, QueryItem
from event_store._tables import event_tags_table as tags_t
from event_store._tables import events_table as events_t


def position_range(after: int, until: int | None) -> ColumnElement[bool]:
    bounds = [events_t.c.position > after]
    if until is not None:
        bounds.append(events_t.c.position <= until)
    return and_(*bounds)


def matching(query: Query, after: int, until: int | None) -> ColumnElement[bool]:
    """Events of `query` with `after < position <= until`."""
    in_range = position_range(after, until)
    if query.matches_all:
        return in_range
    return and_(in_range, or_(*(_item(item, after, until) for item in query.items)))


def _item(item: QueryItem, after: int, until: int | None) -> ColumnElement[bool]:
    terms: list[ColumnElement[bool]] = []
    if item.types:
        terms.append(events_t.c.type.in_(item.types))
    for tag in item.tags:
        tagged = select(tags_t.c.position).where(tags_t.c.tag == tag, tags_t.c.position > after)
        if until is not None:
            tagged = tagged.where(tags_t.c.position <= until)
        terms.append(events_t.c.position.in_(tagged))
    return and_(true(), *terms)
