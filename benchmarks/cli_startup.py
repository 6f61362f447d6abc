"""CLI start-up: wall time of `tamma --help` and `tamma events` against a bare interpreter.

Target (ARCHITECTURE.md): both under 1 s. Each command runs as a whole process, several
times after a warm-up; medians are quoted, with the ratio to `python -c pass` measured in
the same run so a noisy machine shows up as a noisy baseline rather than a false figure.

    python benchmarks/cli_startup.py [--runs 7] [--markdown docs/BENCHMARKS.md]
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

# Run as a file, Python puts benchmarks/ first on sys.path, where `benchmarks` is not
# importable: put the repository root there instead, as `python -m benchmarks.cli_startup` does.
sys.path[0] = str(Path(__file__).resolve().parents[1])

from benchmarks._markdown import replace_section  # noqa: E402

TAMMA = str(Path(sys.executable).with_name("tamma"))
TARGET_S = 1.0


def median_wall_s(command: list[str], runs: int, env: dict[str, str]) -> float:
    """Median wall time over `runs` runs, after one warm-up run that fills OS caches."""
    samples = []
    for attempt in range(runs + 1):
        started = time.perf_counter()
        subprocess.run(command, env=env, check=True, capture_output=True)
        if attempt:
            samples.append(time.perf_counter() - started)
    return statistics.median(samples)


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--runs", type=int, default=7, help="counted runs per command (default 7)")
    parser.add_argument(
        "--markdown", type=Path, help="rewrite this file's cli_startup section with the figures"
    )
    args = parser.parse_args()

    with tempfile.TemporaryDirectory() as home:
        env = {**os.environ, "TAMMA_HOME": home}
        subprocess.run([TAMMA, "db", "upgrade"], env=env, check=True, capture_output=True)
        baseline = median_wall_s([sys.executable, "-c", "pass"], args.runs, env)
        rows = [
            ("python -c pass (baseline)", baseline),
            ("tamma --help", median_wall_s([TAMMA, "--help"], args.runs, env)),
            ("tamma events (empty SQLite store)", median_wall_s([TAMMA, "events"], args.runs, env)),
        ]

    lines = [
        f"Median of {args.runs} runs after a warm-up; target < {TARGET_S:.0f} s.",
        "",
        "| command | wall s (median) | x baseline | target |",
        "|---|---|---|---|",
    ]
    for name, seconds in rows:
        verdict = "" if name.endswith("(baseline)") else ("met" if seconds < TARGET_S else "MISSED")
        lines.append(f"| `{name}` | {seconds:.3f} | {seconds / baseline:.1f}x | {verdict} |")
    table = "\n".join(lines)
    print(table)
    if args.markdown:
        replace_section(args.markdown, "cli_startup", f"### CLI start-up\n\n{table}\n")


if __name__ == "__main__":
    main()
