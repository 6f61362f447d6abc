"""Options shared by several commands, declared once."""

from __future__ import annotations

from typing import TYPE_CHECKING, Annotated

import typer

if TYPE_CHECKING:
    from event_store import EventStore

DatabaseUrl = Annotated[
    str | None,
    typer.Option(
        "--database-url",
        envvar="TAMMA_DATABASE_URL",
        help=(
            "Event store: sqlite:///PATH or postgresql+psycopg://USER@HOST:PORT/DB. "
            "Default: $TAMMA_HOME/events.db (TAMMA_HOME: ~/.tamma), or database_url in tamma.yaml."
        ),
        show_default=False,
    ),
]


def open_store(database_url: str | None) -> EventStore:
    """The configured event store (`--database-url` > TAMMA_DATABASE_URL > YAML > default)."""
    from event_store import EventStore
    from tamma.config import load_settings

    return EventStore(load_settings(database_url=database_url).event_store_url)
