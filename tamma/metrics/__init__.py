"""Prometheus metrics folded from the event store: runs, steps, model calls, CI, claims; and
the latency of appends, timed by the processes that append.

    server = start_metrics_server("postgresql+psycopg://tamma@db:5432/tamma", port=9464)
    ...                                   # scrape http://127.0.0.1:9464/metrics
    server.close()

Every value but append latency is derived from the one event stream (docs/metrics.md lists
them), so any process that can read the store, `tamma serve`, each `tamma worker` or `tamma
metrics`, can expose them, and they survive restarts. Append latency is measured where the
append happens (`timed_append`, see `_appends`). `CATALOG` declares every exported name.
Names load on first use (PEP 562): the recorder imports `timed_append` without
prometheus_client or an HTTP server.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from tamma._lazy import lazy_attributes

if TYPE_CHECKING:
    from tamma.metrics._appends import AppendLatencyCollector, timed_append
    from tamma.metrics._catalog import CATALOG, MetricSpec
    from tamma.metrics._collector import StoreCollector
    from tamma.metrics._server import MetricsServer, start_metrics_server
    from tamma.metrics._settings import MetricsSettings

# Keep in step with __all__ below.
_LAZY = {
    "AppendLatencyCollector": "tamma.metrics._appends",
    "CATALOG": "tamma.metrics._catalog",
    "MetricSpec": "tamma.metrics._catalog",
    "MetricsServer": "tamma.metrics._server",
    "MetricsSettings": "tamma.metrics._settings",
    "StoreCollector": "tamma.metrics._collector",
    "start_metrics_server": "tamma.metrics._server",
    "timed_append": "tamma.metrics._appends",
}

__all__ = [
    "CATALOG",
    "AppendLatencyCollector",
    "MetricSpec",
    "MetricsServer",
    "MetricsSettings",
    "StoreCollector",
    "start_metrics_server",
    "timed_append",
]

__getattr__ = lazy_attributes(__name__, _LAZY)
