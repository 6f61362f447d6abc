"""Where the CLI's Prefect runs live, set before Prefect is imported.

Standalone (no PREFECT_API_URL): Prefect's ephemeral server on a SQLite database under
`$TAMMA_HOME/prefect`, so `tamma run` in one terminal and `tamma approve` in another see the
same flow runs. With PREFECT_API_URL set (a `tamma serve` or a team's Prefect server), that
server. Either way: no telemetry (there may be no network), a generous ephemeral start-up
timeout (the server takes ~20 s to start cold here), and Prefect's console logs kept to
warnings so Tamma's own progress reads clearly.
"""

from __future__ import annotations

import os
from pathlib import Path

__all__ = ["pin_event_store", "use_prefect"]

_DEFAULTS = {
    "PREFECT_SERVER_ANALYTICS_ENABLED": "false",
    "PREFECT_SERVER_EPHEMERAL_STARTUP_TIMEOUT_SECONDS": "90",
    "PREFECT_LOGGING_LEVEL": "WARNING",
    "PREFECT_LOGGING_LOG_PRINTS": "false",
}


def use_prefect(home: Path) -> str:
    """Point Prefect at the right server; returns a one-line description of it."""
    for name, value in _DEFAULTS.items():
        os.environ.setdefault(name, value)
    if os.environ.get("PREFECT_API_URL"):
        return f"Prefect server {os.environ['PREFECT_API_URL']}"
    prefect_home = home / "prefect"
    prefect_home.mkdir(parents=True, exist_ok=True)
    os.environ.setdefault("PREFECT_HOME", str(prefect_home))
    return f"Prefect ephemeral server (database in {os.environ['PREFECT_HOME']})"


def pin_event_store(url: str) -> None:
    """A flow run in this process loads its settings itself: make it use the store this command
    chose (`--database-url` included), not whatever the environment said before."""
    os.environ["TAMMA_DATABASE_URL"] = url
