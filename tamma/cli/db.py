"""`tamma db`: manage the event store's schema."""

from __future__ import annotations

import typer

from tamma.cli._options import DatabaseUrl, open_store
from tamma.cli._output import examples

app = typer.Typer(help="Manage the event store database.", no_args_is_help=True)


@app.command(
    "upgrade",
    epilog=examples(
        "tamma db upgrade", "tamma db upgrade --database-url postgresql+psycopg://root@127.0.0.1:5432/test"
    ),
)
def upgrade(database_url: DatabaseUrl = None) -> None:
    """Create the event store schema or migrate it to the newest revision (safe to repeat)."""
    with open_store(database_url) as store:
        revision = store.upgrade()
        typer.echo(f"event store {store.url}: schema revision {revision}, last position {store.head()}")
