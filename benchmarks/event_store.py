"""Benchmark Tamma's event store against the bare database drivers, on PostgreSQL and SQLite.

Every worker step is an append and every decision a conditional append, so the store's speed
bounds the whole orchestrator. ARCHITECTURE.md ("The event stream") states its targets
relative to the cheapest durable write there is, a one-row-per-commit INSERT of an event plus
its tag row; this script measures that baseline and the store side by side in one run, on a
fresh database it creates and drops itself, and can record the figures in docs/BENCHMARKS.md.

    .venv/bin/python benchmarks/event_store.py [--backend all|postgresql|sqlite] [--events 20000]
        [--iterations 2000] [--postgres-url URL] [--markdown docs/BENCHMARKS.md]

The store and the baseline tables are first filled with the same `--events` generated events,
because an append's cost can depend on how much is stored (a plan that scans `events` is
invisible on an empty table). Then: single appends (unconditional; conditional on a fresh
tag), 100-event batches, reading every event, querying a tag that ~10 events carry, 8
writer processes racing on one tag (exactly one winner per round) or writing disjoint tags
(in blocks alternating with raw inserts by the same processes), and a demo-sized run's state
asked after every append, folded from scratch and incrementally.
"""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Sequence
from pathlib import Path

# Run as a file, Python puts benchmarks/ first on sys.path, where `benchmarks` is not importable
# and this file would shadow the `event_store` package it measures: put the repository root
# there instead, as `python -m benchmarks.event_store` run from it does.
sys.path[0] = str(Path(__file__).resolve().parents[1])

from benchmarks._event_store import (  # noqa: E402
    BACKENDS,
    DATABASES,
    TITLES,
    render_markdown,
    render_text,
    run_backend,
    run_context,
    update_markdown,
)

DEFAULT_POSTGRES_URL = "postgresql+psycopg://root@127.0.0.1:5432/test"
DEFAULT_EVENTS = 20_000
DEFAULT_ITERATIONS = 2_000


def _positive(text: str) -> int:
    value = int(text)
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be a positive integer, got {text}")
    return value


def parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=(__doc__ or "").split("\n\n")[0])
    parser.add_argument("--backend", choices=("all", *BACKENDS), default="all")
    parser.add_argument(
        "--events",
        type=_positive,
        default=DEFAULT_EVENTS,
        help="events stored (generated server-side) before the first measurement; default %(default)s",
    )
    parser.add_argument(
        "--iterations",
        type=_positive,
        default=DEFAULT_ITERATIONS,
        help="single appends per measurement; batches, queries and writer rounds scale from it "
        "(default %(default)s)",
    )
    parser.add_argument(
        "--postgres-url",
        default=os.environ.get("TAMMA_BENCH_POSTGRES_URL", DEFAULT_POSTGRES_URL),
        help="admin URL; a fresh database is created beside it and dropped (default %(default)s)",
    )
    parser.add_argument("--markdown", type=Path, help="rewrite the benchmark section of this file")
    return parser.parse_args(argv)


def main(argv: Sequence[str] | None = None) -> int:
    options = parse_args(argv)
    backends = BACKENDS if options.backend == "all" else (options.backend,)
    context = run_context()
    print(context)
    reports = []
    for backend in backends:
        print(
            f"\n{TITLES[backend]}: --events {options.events:,}, --iterations {options.iterations:,}",
            flush=True,
        )
        with DATABASES[backend](options.postgres_url) as database:
            report = run_backend(database, options.events, options.iterations)
        print(render_text(report), flush=True)
        reports.append(report)
    if options.markdown:
        update_markdown(
            options.markdown,
            {(r.backend, r.events_requested): render_markdown(r, context) for r in reports},
        )
        print(f"\nWrote {options.markdown}")
    print(f"\nTotal: {sum(r.seconds for r in reports):.0f} s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
