"""Where the CLI's Prefect runs live, set before Prefect is imported.

Standalone (no PREFECT_API_URL): Prefect's ephemeral server on a SQLite database under
`$TAMMA_HOME/prefect`, so `tamma run` in one terminal and `tamma approve` in another see the
same flow runs. With PREFECT_API_URL set (a `tamma serve` or a team's Prefect server), that
server. Either way: no telemetry (there may be no network), a generous ephemeral start-up
timeout (the server takes ~20 s to start cold here), and Prefect's console logs kept to
warnings so Tamma's own progress reads clearly. And when a stop signal ends a run (see
`tamma.cli._signals`), the ephemeral server outlives tamma's handling of it and Prefect's crash
reports stay off the console.
"""

from __future__ import annotations

import logging
import os
import signal
import sys
from pathlib import Path

__all__ = ["pin_event_store", "quiet_stops", "start_ephemeral_server", "use_prefect"]

_DEFAULTS = {
    "PREFECT_SERVER_ANALYTICS_ENABLED": "false",
    "PREFECT_SERVER_EPHEMERAL_STARTUP_TIMEOUT_SECONDS": "90",
    "PREFECT_LOGGING_LOG_PRINTS": "false",
}


def use_prefect(home: Path, *, console_level: str = "WARNING") -> str:
    """Point Prefect at the right server; returns a one-line description of it. Prefect's own
    lines reach the terminal from `console_level` up (the UI gets every step at INFO): a command
    that runs a flow in this process and prints its own lines passes CRITICAL, since Prefect's
    ERROR lines would repeat the run's one-line error with a traceback."""
    for name, value in {**_DEFAULTS, "PREFECT_LOGGING_HANDLERS_CONSOLE_LEVEL": console_level}.items():
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


def start_ephemeral_server() -> None:
    """Standalone, start Prefect's ephemeral API server now (Prefect would on first use), from a
    thread that blocks SIGINT. The server inherits the block, so a Ctrl-C at the terminal, which
    reaches every process in its foreground group, stops only tamma; tamma then reports the
    run's crash to a server that is still up, and Prefect's atexit hook stops it (SIGTERM)."""
    from prefect.settings import PREFECT_API_URL

    if PREFECT_API_URL.value():
        return
    from concurrent.futures import ThreadPoolExecutor

    from prefect.server.api.server import SubprocessASGIServer

    with ThreadPoolExecutor(
        1, initializer=signal.pthread_sigmask, initargs=(signal.SIG_BLOCK, {signal.SIGINT})
    ) as pool:
        pool.submit(SubprocessASGIServer().start).result()


def quiet_stops() -> None:
    """Keep a stopped run's crash reports (Prefect logs one per task and flow run) off the
    console: the stop's one line says what happened. Prefect's API log handler still gets them,
    so the UI shows why the run crashed. Call it once Prefect is imported (its logging is set)."""
    for handler in logging.getLogger().handlers:
        if not any(isinstance(f, _UnlessStopping) for f in handler.filters):
            handler.addFilter(_UnlessStopping())


class _UnlessStopping(logging.Filter):
    """Drops the records logged while a stop signal unwinds the stack (logging filters run in
    the thread that logs, so the exception in flight there is the stop's)."""

    def filter(self, record: logging.LogRecord) -> bool:
        from prefect.exceptions import TerminationSignal

        from tamma.cli._signals import Interrupted

        return not isinstance(sys.exc_info()[1], Interrupted | TerminationSignal)
