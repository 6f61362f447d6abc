"""`tamma metrics`, and the `--metrics-port` that `tamma serve` and `tamma worker` share: a
Prometheus endpoint whose values are folded from the event store (docs/metrics.md).

The port and address come from the option, else TAMMA_METRICS_PORT/TAMMA_METRICS_HOST, else
`metrics:` in the settings files, else the default (off for serve and worker, 9464 for
`tamma metrics`; 127.0.0.1)."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Annotated

import typer

from tamma.cli._options import DatabaseUrl

METRICS_PORT = 9464
"""`tamma metrics`'s port when none is configured."""

MetricsPort = Annotated[
    int | None,
    typer.Option(
        "--metrics-port",
        envvar="TAMMA_METRICS_PORT",
        min=0,
        max=65535,
        help="Also serve Prometheus metrics on this port (0: any free one); default: `metrics.port` "
        "in the settings, else off.",
        show_default=False,
    ),
]
MetricsHost = Annotated[
    str | None,
    typer.Option(
        "--metrics-host",
        envvar="TAMMA_METRICS_HOST",
        help="Address of the metrics endpoint; default: `metrics.host` in the settings, else 127.0.0.1.",
        show_default=False,
    ),
]


@contextmanager
def serving_metrics(
    port: int | None,
    host: str | None,
    database_url: str | None = None,
    *,
    default_port: int | None = None,
    children: bool = False,
) -> Iterator[dict[str, str]]:
    """Serve the configured event store's metrics for the duration of the block, saying where;
    no endpoint when neither `port`, the settings nor `default_port` name a port. Yields the
    environment for child processes whose appends the endpoint should time (`children`)."""
    from tamma.config import load_settings

    settings = load_settings(database_url=database_url)
    port = next((p for p in (port, settings.metrics.port, default_port) if p is not None), None)
    if port is None:
        yield {}
        return
    from tamma.metrics import start_metrics_server

    server = start_metrics_server(
        settings.event_store_url, port, host or settings.metrics.host, children=children
    )
    typer.echo(f"Prometheus metrics at {server.url}")
    try:
        yield server.child_env
    finally:
        server.close()


def metrics(
    port: Annotated[
        int | None,
        typer.Option(
            envvar="TAMMA_METRICS_PORT",
            min=0,
            max=65535,
            help=f"Port of the endpoint (0: any free one); default: `metrics.port` in the settings, else {METRICS_PORT}.",
            show_default=False,
        ),
    ] = None,
    host: Annotated[
        str | None,
        typer.Option(
            envvar="TAMMA_METRICS_HOST",
            help="Address to listen on (0.0.0.0 for Prometheus elsewhere); default: `metrics.host` "
            "in the settings, else 127.0.0.1.",
            show_default=False,
        ),
    ] = None,
    database_url: DatabaseUrl = None,
) -> None:
    """Serve Prometheus metrics folded from the event store until stopped (Ctrl-C)."""
    with serving_metrics(port, host, database_url, default_port=METRICS_PORT):
        threading.Event().wait()  # the endpoint runs on its own thread; a stop signal ends this
