"""Options shared by several commands, declared once."""

from __future__ import annotations

from typing import TYPE_CHECKING, Annotated

import typer

if TYPE_CHECKING:
    from event_store import EventStore
    from tamma.errors import TammaError

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


def no_run(run_id: str, store: EventStore) -> TammaError:
    """The one error every command taking a run id gives for a run the store does not hold."""
    from tamma.errors import TammaError

    return TammaError(f"no run {run_id!r} in {store.url}; `tamma status` lists the runs")


def require_run(store: EventStore, run_id: str) -> None:
    """Raise `no_run` unless some event of the store is tagged with `run_id`."""
    from event_store import Query

    if next(iter(store.read(Query.of(tags=[f"run:{run_id}"]), limit=1)), None) is None:
        raise no_run(run_id, store)
