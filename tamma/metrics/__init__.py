"""Prometheus metrics folded from the event store: runs, steps, model calls, CI, claims.

    server = start_metrics_server("postgresql+psycopg://tamma@db:5432/tamma", port=9464)
    ...                                   # scrape http://127.0.0.1:9464/metrics
    server.close()

Every value is derived from the one event stream (docs/metrics.md lists them), so any
process that can read the store, `tamma serve`, each `tamma worker` or `tamma metrics`, can
expose them, and they survive restarts. `CATALOG` declares every exported name.
"""

from tamma.metrics._catalog import CATALOG, MetricSpec
from tamma.metrics._collector import StoreCollector
from tamma.metrics._server import MetricsServer, start_metrics_server

__all__ = ["CATALOG", "MetricSpec", "MetricsServer", "StoreCollector", "start_metrics_server"]
