"""Serving the metrics over HTTP beside whatever the process does (a Prefect server, a worker).

prometheus_client's own server runs on a daemon thread, with a registry of its own that holds
only Tamma's store collector: the process's default registry (Python's GC and process metrics,
whatever Prefect registers there) stays out of Tamma's endpoint.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass
from wsgiref.simple_server import WSGIServer

from prometheus_client import CollectorRegistry, start_http_server

from event_store import EventStore
from tamma.metrics._collector import StoreCollector

__all__ = ["MetricsServer", "start_metrics_server"]


@dataclass
class MetricsServer:
    """A running endpoint: where it listens, and how to stop it."""

    host: str
    store: EventStore
    http: WSGIServer
    thread: threading.Thread

    @property
    def port(self) -> int:
        """The port listened on (the one chosen by the system when 0 was asked for)."""
        return int(self.http.server_port)

    @property
    def url(self) -> str:
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"http://{host}:{self.port}/metrics"

    def close(self) -> None:
        self.http.shutdown()
        self.http.server_close()
        self.thread.join(timeout=5)
        self.store.close()


def start_metrics_server(store_url: str, port: int, addr: str = "127.0.0.1") -> MetricsServer:
    """Open the event store and serve its metrics at http://ADDR:PORT/metrics (port 0: any free
    one). The stream is folded at the first scrape, not here, so a long one never delays the
    command (a Prefect server, a worker) this endpoint runs beside."""
    store = EventStore(store_url)
    try:
        registry = CollectorRegistry(auto_describe=False)
        registry.register(StoreCollector(store))
        http, thread = start_http_server(port, addr=addr, registry=registry)
    except BaseException:
        store.close()
        raise
    return MetricsServer(addr, store, http, thread)
