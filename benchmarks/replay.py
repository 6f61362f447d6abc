"""Black-box replay: how long `tamma replay` takes on a recorded demo run (~110 events).

The run is recorded first (the demo with its CI repair: a resolve with a scripted model, real
git, pytest, ruff and local CI), and its own wall time is the baseline. The replay then runs in
the same process with the ephemeral Prefect server already up, several times (median), and
once as a whole `tamma replay` process, which also starts Prefect's server. A replay does the
agent's real work again (clone, edits, test and lint runs, commits), so its floor is those
commands; it waits for nothing (no model, no CI polling).

    python benchmarks/replay.py [--repeat 3] [--markdown docs/BENCHMARKS.md]
"""

from __future__ import annotations

import argparse
import statistics
import subprocess
import sys
import time
from pathlib import Path

sys.path[0] = str(Path(__file__).resolve().parents[1])

from benchmarks._in_process import demo_world_in_process, resolve_timed  # noqa: E402
from benchmarks._markdown import replace_section, run_stamp  # noqa: E402
from benchmarks.cli_startup import TAMMA  # noqa: E402

TARGET_S = 5.0
RUN = "r-bench0r1"


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--repeat", type=int, default=3, help="in-process replays (default 3)")
    parser.add_argument("--markdown", type=Path, help="rewrite this file's replay section")
    args = parser.parse_args()

    from flows.replay_run import replay_run

    with demo_world_in_process(ci_failure=True) as world:
        recorded_s = resolve_timed(world, RUN)

        walls, events = [], 0
        for _ in range(args.repeat):
            started = time.perf_counter()
            report = replay_run(RUN)
            walls.append(time.perf_counter() - started)
            if not report["identical"]:
                raise SystemExit(f"the replay diverged:\n{report['divergence']['text']}")
            events = report["recorded_events"]
        replay_s = statistics.median(walls)

        started = time.perf_counter()
        whole = subprocess.run([TAMMA, "replay", RUN], capture_output=True, text=True, check=False)
        cli_s = time.perf_counter() - started
        if whole.returncode != 0:
            raise SystemExit(f"tamma replay failed:\n{whole.stdout}\n{whole.stderr}")

    rows = [
        (f"the recorded run (resolve + CI repair, {events} events; baseline)", f"{recorded_s:.2f} s", ""),
        (
            f"replay in-process, server up (median of {args.repeat})",
            f"{replay_s:.2f} s ({replay_s / recorded_s:.2f}x the run; {events / replay_s:.0f} events/s)",
            "met" if replay_s < TARGET_S else "MISSED",
        ),
        ("`tamma replay` as a whole process (starts Prefect's ephemeral server)", f"{cli_s:.1f} s", ""),
    ]
    lines = [
        run_stamp(f".venv/bin/python benchmarks/replay.py --repeat {args.repeat}"),
        "",
        f"| measurement | wall | target (< {TARGET_S:g} s for a ~100-event run) |",
        "|---|---|---|",
        *(f"| {name} | {wall} | {verdict} |" for name, wall, verdict in rows),
    ]
    table = "\n".join(lines)
    print(table)
    if args.markdown:
        replace_section(args.markdown, "replay", f"### Replay\n\n{table}\n")


if __name__ == "__main__":
    main()
