"""`StoreCollector`: a Prometheus collector whose values are a fold of the event store.

Each scrape reads only the events after the last one folded (the store makes positions
visible strictly in order, so none is skipped) and folds them into the tally, under a lock so
concurrent scrapes never fold an event twice. The values are the store's, not this process's:
every endpoint on the same store exposes the same counts, and a restart loses nothing, it
folds the stream again. Only the read timing and the store's reachability are this process's
own view. What the stream cannot tell (append latency, `MetricSpec.folded` False) is left to
`AppendLatencyCollector`.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Iterator

from prometheus_client.metrics_core import (
    CounterMetricFamily,
    GaugeMetricFamily,
    HistogramMetricFamily,
    Metric,
)

from event_store import EventStore, EventStoreError
from tamma.metrics._catalog import CATALOG, MetricSpec, spec
from tamma.metrics._tally import Buckets, Labels, Tally

__all__ = ["StoreCollector"]

_log = logging.getLogger(__name__)
_FOLDED = tuple(metric for metric in CATALOG if metric.folded)


class StoreCollector:
    """Folds `store` into Tamma's metrics at each `collect()` (see the module docstring).

    A store that cannot be read leaves the values as last folded and sets
    `tamma_event_store_up` to 0, so a dashboard shows the outage instead of a failed scrape.
    """

    def __init__(self, store: EventStore) -> None:
        self._store = store
        self._tally = Tally()
        self._reads = Buckets(spec("tamma_event_store_read_seconds").buckets)
        self._up: bool | None = None
        """None until the first scrape; a warning is logged each time the store becomes unreadable."""
        self._lock = threading.Lock()

    def describe(self) -> Iterator[Metric]:
        """The families as last folded: lets a registry check names without reading the store."""
        with self._lock:
            return iter([self._family(metric) for metric in _FOLDED])

    def collect(self) -> Iterator[Metric]:
        with self._lock:
            self._catch_up()
            return iter([self._family(metric) for metric in _FOLDED])

    def _catch_up(self) -> None:
        started = time.perf_counter()
        try:
            for event in self._store.read(after=self._tally.position):
                self._tally.add(event)
        except EventStoreError as error:
            if self._up is not False:
                _log.warning("metrics: cannot read the event store: %s", error)
            self._up = False
            return
        self._up = True
        self._reads.observe(time.perf_counter() - started)

    def _family(self, metric: MetricSpec) -> Metric:
        if metric.kind == "histogram":
            return self._histogram(metric)
        family = _SCALARS[metric.kind](metric.name, metric.help, labels=list(metric.labels))
        for labels, value in self._values(metric):
            family.add_metric(list(labels), value)
        return family

    def _values(self, metric: MetricSpec) -> list[tuple[Labels, float]]:
        if metric.name == "tamma_event_store_head":
            return [((), float(self._tally.position))]
        if metric.name == "tamma_event_store_up":
            return [((), 1.0 if self._up else 0.0)]
        series = self._tally.counters.get(metric.name, {})
        if not metric.labels and not series:
            return [((), 0.0)]  # present from the start, so rate() has a base
        return sorted(series.items())

    def _histogram(self, metric: MetricSpec) -> HistogramMetricFamily:
        family = HistogramMetricFamily(metric.name, metric.help, labels=list(metric.labels))
        series: dict[Labels, Buckets] = (
            {(): self._reads}
            if metric.name == "tamma_event_store_read_seconds"
            else self._tally.histograms.get(metric.name, {})
        )
        for labels in sorted(series):
            family.add_metric(list(labels), series[labels].cumulative(), series[labels].sum)
        return family


_SCALARS: dict[str, type[CounterMetricFamily] | type[GaugeMetricFamily]] = {
    "counter": CounterMetricFamily,
    "gauge": GaugeMetricFamily,
}
