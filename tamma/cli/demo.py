"""`tamma demo`: the offline walk-through that `make demo` runs."""

from __future__ import annotations

from tamma.cli._options import DatabaseUrl


def demo(database_url: DatabaseUrl = None) -> None:
    """Walk through the event store: an issue's lifecycle, two workers racing to claim an
    issue (exactly one wins), and the issue's state at an earlier position (time travel).

    Runs offline on a fresh SQLite store, $TAMMA_HOME/demo/events.db, unless --database-url
    names an empty store to use instead.
    """
    from rich.console import Console

    from event_store import EventStore
    from tamma.config import load_settings
    from tamma.demo import event_store_tour
    from tamma.errors import TammaError

    if database_url is None:
        demo_db = load_settings().home / "demo" / "events.db"
        for previous_run in demo_db.parent.glob("events.db*"):
            previous_run.unlink()
        database_url = f"sqlite:///{demo_db}"
    with EventStore(database_url) as store:
        if store.head():
            raise TammaError(f"the demo needs an empty event store; {store.url} holds events")
        event_store_tour.present(store, database_url, Console())
