"""Serving the metrics over HTTP beside whatever the process does (a Prefect server, a worker).

prometheus_client's own server runs on a daemon thread, with a registry of its own that holds
only Tamma's collectors: the store's fold and the append latency (`_appends`). The process's
default registry (Python's GC and process metrics, whatever Prefect registers there) stays out
of Tamma's endpoint.
"""

from __future__ import annotations

import os
import shutil
import tempfile
import threading
from dataclasses import dataclass
from pathlib import Path
from wsgiref.simple_server import WSGIServer

from prometheus_client import CollectorRegistry, start_http_server

from event_store import EventStore
from tamma.metrics._appends import MULTIPROCESS_DIR_ENV, AppendLatencyCollector
from tamma.metrics._collector import StoreCollector

__all__ = ["MetricsServer", "start_metrics_server"]


@dataclass
class MetricsServer:
    """A running endpoint: where it listens, what its children need, and how to stop it."""

    host: str
    store: EventStore
    http: WSGIServer
    thread: threading.Thread
    children_dir: Path | None = None
    """Where processes started with `child_env` leave their append latencies; removed at close."""

    @property
    def port(self) -> int:
        """The port listened on (the one chosen by the system when 0 was asked for)."""
        return int(self.http.server_port)

    @property
    def url(self) -> str:
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"http://{host}:{self.port}/metrics"

    @property
    def child_env(self) -> dict[str, str]:
        """Environment for the processes whose appends this endpoint should time (a worker's flow
        runs); empty unless started with `children=True`."""
        return {} if self.children_dir is None else {MULTIPROCESS_DIR_ENV: str(self.children_dir)}

    def close(self) -> None:
        self.http.shutdown()
        self.http.server_close()
        self.thread.join(timeout=5)
        self.store.close()
        if self.children_dir is not None:
            shutil.rmtree(self.children_dir, ignore_errors=True)


def start_metrics_server(
    store_url: str, port: int, addr: str = "127.0.0.1", *, children: bool = False
) -> MetricsServer:
    """Open the event store and serve its metrics at http://ADDR:PORT/metrics (port 0: any free
    one). The stream is folded at the first scrape, not here, so a long one never delays the
    command (a Prefect server, a worker) this endpoint runs beside.

    Append latency is this process's, plus that of a `PROMETHEUS_MULTIPROC_DIR` in the
    environment, plus, with `children`, that of the processes started with `child_env`."""
    store = EventStore(store_url)
    children_dir = Path(tempfile.mkdtemp(prefix="tamma-metrics-")) if children else None
    try:
        shared = os.environ.get(MULTIPROCESS_DIR_ENV)
        registry = CollectorRegistry(auto_describe=False)
        registry.register(StoreCollector(store))
        registry.register(AppendLatencyCollector(Path(shared) if shared else None, children_dir))
        http, thread = start_http_server(port, addr=addr, registry=registry)
    except BaseException:
        store.close()
        if children_dir is not None:
            shutil.rmtree(children_dir, ignore_errors=True)
        raise
    return MetricsServer(addr, store, http, thread, children_dir)
