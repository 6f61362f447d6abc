"""What a backend's run produced, rendered for the console and recorded in docs/BENCHMARKS.md.

The console and the markdown show the same cells, so both renderings share one row model;
recording keeps one block per (backend, --events) inside the `event_store` section, so a
1M-event run sits beside the default run's figures instead of replacing them.
"""

from __future__ import annotations

import os
import platform
import re
import shlex
import sys
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from benchmarks._event_store._databases import BACKENDS, TITLES
from benchmarks._event_store._timing import Timing
from benchmarks._markdown import read_section, replace_section

SECTION = "event_store"
RUN_MARK = re.compile(r"^<!-- run (?P<backend>[a-z]+) events=(?P<events>\d+) -->$", re.MULTILINE)


@dataclass(frozen=True)
class Check:
    """One target printed next to a figure: what it demands and whether this run met it."""

    description: str
    met: bool


@dataclass(frozen=True)
class Row:
    """One line of a backend's table: the store's figure, the raw driver's, and the targets."""

    label: str
    unit: str
    tamma: Timing
    raw: Timing | None = None
    checks: tuple[Check, ...] = ()


@dataclass(frozen=True)
class BackendReport:
    """One backend's table, its notes and how long it took, for the console and the markdown."""

    backend: str
    version: str
    events_requested: int
    rows: tuple[Row, ...]
    notes: tuple[str, ...]
    seconds: float


HEADERS = (
    "Measurement",
    "Tamma",
    "p50 ms",
    "p95 ms",
    "Raw driver",
    "raw p50 ms",
    "raw p95 ms",
    "Tamma/raw",
    "Target",
    "Met",
)
LEFT_ALIGNED = {0, 8, 9}


def _rate(timing: Timing | None, unit: str) -> str:
    return "" if timing is None else f"{timing.rate:,.0f} {unit}"


def _ms(timing: Timing | None, fraction: float) -> str:
    value = None if timing is None else timing.percentile_ms(fraction)
    return "" if value is None else f"{value:.2f}"


def cells(row: Row) -> tuple[str, ...]:
    ratio = "" if row.raw is None else f"{row.tamma.rate / row.raw.rate:.2f}x"
    verdict = "" if not row.checks else ("yes" if all(c.met for c in row.checks) else "NO")
    return (
        row.label,
        _rate(row.tamma, row.unit),
        _ms(row.tamma, 0.50),
        _ms(row.tamma, 0.95),
        _rate(row.raw, row.unit),
        _ms(row.raw, 0.50),
        _ms(row.raw, 0.95),
        ratio,
        "; ".join(check.description for check in row.checks),
        verdict,
    )


def render_text(report: BackendReport) -> str:
    table = [HEADERS, *(cells(row) for row in report.rows)]
    widths = [max(len(line[column]) for line in table) for column in range(len(HEADERS))]

    def line(values: Sequence[str]) -> str:
        return "  ".join(
            value.ljust(width) if column in LEFT_ALIGNED else value.rjust(width)
            for column, (value, width) in enumerate(zip(values, widths, strict=True))
        ).rstrip()

    title = f"{report.version} ({report.seconds:.0f} s)"
    rule = "-" * len(line(HEADERS))
    notes = [f"  * {note}" for note in report.notes]
    return "\n".join(
        [title, rule, line(HEADERS), rule, *(line(values) for values in table[1:]), rule, *notes]
    )


def render_markdown(report: BackendReport, context: str) -> str:
    align = ["---" if column in LEFT_ALIGNED else "---:" for column in range(len(HEADERS))]
    table = [HEADERS, align, *(cells(row) for row in report.rows)]
    title = TITLES[report.backend]
    return "\n".join(
        [
            f"<!-- run {report.backend} events={report.events_requested} -->",
            f"### {title}, --events {report.events_requested:,}",
            "",
            f"{context}; {report.version}; this backend took {report.seconds:.0f} s.",
            "",
            *("| " + " | ".join(values) + " |" for values in table),
            "",
            *(f"- {note}" for note in report.notes),
        ]
    )


def run_context() -> str:
    """Command line, date and machine, so a figure can be reproduced and compared fairly."""
    python = os.path.relpath(sys.executable) if sys.executable else "python"
    command = shlex.join([python, *sys.argv])
    cpus = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()
    when = datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC")
    machine = f"nproc {cpus} ({_cpu_model()}), {platform.system()} {platform.release()}"
    load = "load average {:.2f} {:.2f} {:.2f}".format(*os.getloadavg()) if hasattr(os, "getloadavg") else ""
    return f"`{command}`; {when}; {machine}, {load}; Python {platform.python_version()}"


def _cpu_model() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown CPU"


def update_markdown(path: Path, blocks: Mapping[tuple[str, int], str]) -> None:
    """Rewrite only the benchmark section of `path`, keeping the rest of the file.

    Inside the section each run owns one block keyed by (backend, --events), so a 1M-event run
    adds its own table beside the default run's instead of replacing it, and a rerun with the
    same key replaces only its own block.
    """
    merged = {**_run_blocks(read_section(path, SECTION)), **blocks}
    ordered = sorted(merged, key=lambda key: (BACKENDS.index(key[0]) if key[0] in BACKENDS else 99, key[1]))
    replace_section(path, SECTION, "\n".join(merged[key].strip() + "\n" for key in ordered))


def _run_blocks(inside: str) -> dict[tuple[str, int], str]:
    """The section's run blocks by (backend, --events); each runs from its marker to the next."""
    marks = list(RUN_MARK.finditer(inside))
    ends = [mark.start() for mark in marks[1:]] + [len(inside)] if marks else []
    return {
        (mark["backend"], int(mark["events"])): inside[mark.start() : end]
        for mark, end in zip(marks, ends, strict=True)
    }
