"""How long appends to the event store take, measured where they happen.

Every other metric is folded from the stream, so any endpoint can serve it. Append latency is
not in the stream, and writing it there would turn a measurement of the store into part of the
record (each event carrying the timing of another append, different in every replay). So the
process that appends measures it: `timed_append` wraps `EventStore.append` for the recorder and
the claims and observes a prometheus_client histogram of this process.

The process that appends is often not the one that serves. `tamma worker` runs each flow run in
a new child process of Prefect's worker, so the worker's endpoint would see no append at all.
Those observations reach it through prometheus_client's multiprocess mode instead:

- `start_metrics_server(..., children=True)` makes a private directory and offers it as
  `PROMETHEUS_MULTIPROC_DIR` in `MetricsServer.child_env`; the worker passes that environment
  to Prefect's worker, which passes it on to every flow run it starts;
- a process started with that variable writes its observations to a file of its own there
  (`histogram_<pid>.db`);
- at each scrape the endpoint adds up those files, this process's own histogram, and the files
  of a `PROMETHEUS_MULTIPROC_DIR` set in its own environment (processes started by anyone can
  share an endpoint that way, on one machine).

The private directory belongs to the endpoint. It adds the files of children that have exited
into a running total and deletes them, so a worker that runs thousands of flows keeps a file
per live process. It removes the directory when it closes. Only this histogram is read from the
files; whatever else writes there (Prefect's own counters) is left out and deleted with its
process's files.

Unlike the folded metrics, an endpoint reports only the appends of its own process tree, so
different endpoints count different appends: sum them across instances, never take the max.
"""

from __future__ import annotations

import logging
import math
import os
import struct
import threading
import time
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import TYPE_CHECKING

from event_store import AppendCondition, AppendConditionFailed, EventStore, NewEvent
from tamma.metrics._catalog import spec

if TYPE_CHECKING:
    from prometheus_client import Histogram
    from prometheus_client.metrics_core import Metric
    from prometheus_client.samples import Sample

__all__ = ["MULTIPROCESS_DIR_ENV", "AppendLatencyCollector", "timed_append"]

MULTIPROCESS_DIR_ENV = "PROMETHEUS_MULTIPROC_DIR"
"""Where prometheus_client's multiprocess mode keeps each process's values (read at its import)."""
_NAME = "tamma_event_append_seconds"
_CONDITIONAL = ("false", "true")

_log = logging.getLogger(__name__)
_histogram: Histogram | None = None
_histogram_lock = threading.Lock()
_warned = False


def timed_append(
    store: EventStore, events: NewEvent | Iterable[NewEvent], condition: AppendCondition | None = None
) -> int:
    """`store.append(events, condition)`, its latency observed by this process. An append that
    fails its condition is observed too (the store did an append's work to refuse it); one that
    fails otherwise is not: the store was unreachable, and its time is a timeout's."""
    started = time.perf_counter()
    try:
        position = store.append(events, condition)
    except AppendConditionFailed:
        _observe(time.perf_counter() - started, conditional=True)
        raise
    _observe(time.perf_counter() - started, conditional=condition is not None)
    return position


def _observe(seconds: float, *, conditional: bool) -> None:
    """Never fails the append it measured: a metric that cannot be written (the worker that
    gave this process its directory has gone) is logged once and dropped."""
    global _warned
    try:
        _process_histogram().labels(conditional=_CONDITIONAL[conditional]).observe(seconds)
    except Exception:
        if not _warned:
            _warned = True
            _log.warning("metrics: cannot record the latency of an append", exc_info=True)


def _process_histogram() -> Histogram:
    """This process's histogram, made at the first append: prometheus_client is imported, and in
    multiprocess mode its file created, only by a process that appends."""
    global _histogram
    if _histogram is not None:
        return _histogram
    with _histogram_lock:
        if _histogram is None:
            from prometheus_client import Histogram

            metric = spec(_NAME)
            _histogram = Histogram(
                metric.name, metric.help, metric.labels, registry=None, buckets=metric.buckets
            )
        return _histogram


class AppendLatencyCollector:
    """`tamma_event_append_seconds` of this process, of `shared` (read only) and of `private`
    (this endpoint's children: the files of exited ones are added up and deleted)."""

    def __init__(self, shared: Path | None = None, private: Path | None = None) -> None:
        self._shared, self._private = shared, private
        self._exited = _Totals()
        """What the children that have exited observed, their files deleted."""
        self._lock = threading.Lock()

    def describe(self) -> Iterator[Metric]:
        return iter([_Totals().family()])

    def collect(self) -> Iterator[Metric]:
        with self._lock:
            totals = _Totals()
            if self._private is not None:
                for path in sorted(self._private.glob("*.db")):
                    self._take(path, totals)
            totals.add(self._exited)
            if not _multiprocess_mode() and _histogram is not None:  # else its values are in files
                totals.add_samples(sample for metric in _histogram.collect() for sample in metric.samples)
            if self._shared is not None:
                for path in sorted(self._shared.glob("histogram_*.db")):
                    totals.add_samples(_read(path))
            return iter([totals.family()])

    def _take(self, path: Path, totals: _Totals) -> None:
        """Add a child's file to this scrape, or to the running total once the child has exited."""
        pid = _pid_of(path)
        if pid is not None and not _alive(pid):
            if path.name.startswith("histogram_"):
                self._exited.add_samples(_read(path))
            path.unlink(missing_ok=True)
        elif path.name.startswith("histogram_"):
            totals.add_samples(_read(path))


class _Totals:
    """Summed cumulative bucket counts and sums, by the `conditional` label."""

    def __init__(self) -> None:
        self.bounds = (*spec(_NAME).buckets, math.inf)
        self.buckets = {label: dict.fromkeys(self.bounds, 0.0) for label in _CONDITIONAL}
        self.sums = dict.fromkeys(_CONDITIONAL, 0.0)

    def add(self, other: _Totals) -> None:
        for label in _CONDITIONAL:
            for bound, count in other.buckets[label].items():
                self.buckets[label][bound] += count
            self.sums[label] += other.sums[label]

    def add_samples(self, samples: Iterable[Sample]) -> None:
        for sample in samples:
            label = sample.labels.get("conditional")
            if label not in self.sums:
                continue
            if sample.name == f"{_NAME}_bucket":
                bound = float(sample.labels["le"])
                if bound in self.buckets[label]:  # a file of an older build with other bounds: left out
                    self.buckets[label][bound] += sample.value
            elif sample.name == f"{_NAME}_sum":
                self.sums[label] += sample.value

    def family(self) -> Metric:
        from prometheus_client.metrics_core import HistogramMetricFamily

        metric = spec(_NAME)
        family = HistogramMetricFamily(metric.name, metric.help, labels=list(metric.labels))
        for label in _CONDITIONAL:
            buckets = [("+Inf" if math.isinf(b) else str(b), self.buckets[label][b]) for b in self.bounds]
            family.add_metric([label], buckets, self.sums[label])
        return family


def _read(path: Path) -> list[Sample]:
    """This histogram's samples in one process's file; none from a file just being created or
    already gone (read again at the next scrape)."""
    from prometheus_client.multiprocess import MultiProcessCollector

    try:
        metrics = MultiProcessCollector.merge([str(path)], accumulate=True)  # type: ignore[no-untyped-call]
    except (OSError, struct.error, ValueError):
        return []
    return [sample for metric in metrics if metric.name == _NAME for sample in metric.samples]


def _multiprocess_mode() -> bool:
    """True when this process writes its own values to files (the variable was set when
    prometheus_client was imported), so they are read from there, not from memory."""
    from prometheus_client import values

    return bool(getattr(values.ValueClass, "_multiprocess", False))


def _pid_of(path: Path) -> int | None:
    """`histogram_123.db`, `gauge_livesum_123.db` -> 123."""
    last = path.stem.rpartition("_")[2]
    return int(last) if last.isdigit() and int(last) > 0 else None


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # someone else's process now holds the number
        return True
    return True
