"""`tamma metrics`, and the `--metrics-port` that `tamma serve` and `tamma worker` share: a
Prometheus endpoint whose values are folded from the event store (docs/metrics.md)."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Annotated

import typer

from tamma.cli._options import DatabaseUrl

MetricsPort = Annotated[
    int | None,
    typer.Option(
        "--metrics-port",
        envvar="TAMMA_METRICS_PORT",
        min=0,
        help="Also serve Prometheus metrics on this port (0: any free one); off when not given.",
        show_default=False,
    ),
]
MetricsHost = Annotated[
    str,
    typer.Option("--metrics-host", envvar="TAMMA_METRICS_HOST", help="Address of the metrics endpoint."),
]


@contextmanager
def serving_metrics(port: int | None, host: str, database_url: str | None = None) -> Iterator[None]:
    """Serve the configured event store's metrics on `port` for the duration of the block (no
    endpoint when `port` is None), saying where."""
    if port is None:
        yield
        return
    from tamma.config import load_settings
    from tamma.metrics import start_metrics_server

    server = start_metrics_server(load_settings(database_url=database_url).event_store_url, port, host)
    typer.echo(f"Prometheus metrics at {server.url}")
    try:
        yield
    finally:
        server.close()


def metrics(
    port: Annotated[
        int, typer.Option(envvar="TAMMA_METRICS_PORT", min=0, help="Port of the endpoint (0: any free one).")
    ] = 9464,
    host: Annotated[
        str,
        typer.Option(
            envvar="TAMMA_METRICS_HOST", help="Address to listen on (0.0.0.0 for Prometheus elsewhere)."
        ),
    ] = "127.0.0.1",
    database_url: DatabaseUrl = None,
) -> None:
    """Serve Prometheus metrics folded from the event store until stopped (Ctrl-C)."""
    with serving_metrics(port, host, database_url):
        threading.Event().wait()  # the endpoint runs on its own thread; a stop signal ends this
