"""Orchestration: a full resolve with a zero-latency scripted model, ten issues at once, CLI start.

Each scenario runs the `tamma` CLI as a whole process in a fresh TAMMA_HOME, as a person
would: Prefect's ephemeral server starts inside it, the local platform's git and CI run for
real, only the model's answers are canned (and instant), so what is measured is Tamma plus
Prefect. Peak RSS is the largest resident set among the process and the children it waited
for (the ephemeral Prefect server among them).

    python benchmarks/orchestration.py [--issues 10] [--markdown docs/BENCHMARKS.md]
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path[0] = str(Path(__file__).resolve().parents[1])

from benchmarks._in_process import demo_world_in_process, resolve_timed  # noqa: E402
from benchmarks._markdown import replace_section, run_stamp  # noqa: E402
from benchmarks.cli_startup import TAMMA, median_wall_s  # noqa: E402

RSS_TARGET_MB = 256
START_TARGET_S = 1.0


def timed(command: list[str], env: dict[str, str]) -> tuple[float, float, str]:
    """Wall seconds, peak RSS in MB of the process tree it waited for, and stdout."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
    started = time.perf_counter()
    done = subprocess.run(command, env=env, capture_output=True, text=True, check=False)
    wall = time.perf_counter() - started
    if done.returncode not in (0, 2):
        raise SystemExit(f"{' '.join(command)} failed:\n{done.stdout[-2000:]}\n{done.stderr[-2000:]}")
    peak_kb = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
    return wall, max(peak_kb, before) / 1024, done.stdout


def demo(ci_failure: bool) -> tuple[float, float]:
    with tempfile.TemporaryDirectory() as home:
        env = {**os.environ, "TAMMA_HOME": home}
        flag = "--ci-failure" if ci_failure else "--no-ci-failure"
        wall, rss, out = timed([TAMMA, "demo", flag], env)
        if "awaiting-merge" not in out:
            raise SystemExit(f"the demo did not reach the merge checkpoint:\n{out[-2000:]}")
        return wall, rss


def sweep(issues: int) -> tuple[float, float, int]:
    """`tamma sweep` over `issues` copies of the demo issue, all started at once."""
    from tamma.demo.scenario import agent_settings, build_world

    with tempfile.TemporaryDirectory() as directory:
        home = Path(directory)
        world = build_world(home, ci_failure=False)
        for n in range(2, issues + 1):
            world.platform.create_issue(f"add() subtracts ({n})", "add(1, 2) is -1", labels=["tamma"])
        env = {**os.environ, "TAMMA_HOME": str(home), "TAMMA_AGENT": json.dumps(agent_settings())}
        command = [TAMMA, "sweep", "local:shop", "--limit", str(issues), "--concurrency", str(issues)]
        wall, rss, out = timed([*command, "--cooldown", "0", "--script", str(world.script)], env)
        return wall, rss, out.count("awaiting-merge")


def prefect_split() -> tuple[float, float, float]:
    """One resolve in this process after a warm-up flow (so the ephemeral server is up): its
    wall time, the time inside its task runs (Tamma's work, as Prefect measured it), and the rest
    (Prefect's orchestration: flow and task run bookkeeping, state changes, API calls)."""
    from prefect.client.orchestration import get_client
    from prefect.client.schemas.filters import FlowRunFilter, FlowRunFilterId

    with demo_world_in_process(ci_failure=False) as world:
        wall = resolve_timed(world, "r-bench001")
        with get_client(sync_client=True) as client:
            runs = client.read_flow_runs(limit=10)
            flow_run = next(r for r in runs if r.name.startswith(world.issue_ref))
            task_runs = client.read_task_runs(
                flow_run_filter=FlowRunFilter(id=FlowRunFilterId(any_=[flow_run.id]))
            )
        inside_tasks = sum(run.total_run_time.total_seconds() for run in task_runs)
        return wall, inside_tasks, wall - inside_tasks


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--issues", type=int, default=10, help="issues for the concurrent sweep (default 10)")
    parser.add_argument("--markdown", type=Path, help="rewrite this file's orchestration section")
    args = parser.parse_args()

    with tempfile.TemporaryDirectory() as home:
        env = {**os.environ, "TAMMA_HOME": home}
        subprocess.run([TAMMA, "db", "upgrade"], env=env, check=True, capture_output=True)
        baseline = median_wall_s([sys.executable, "-c", "pass"], 5, env)
        help_s = median_wall_s([TAMMA, "--help"], 5, env)
        events_s = median_wall_s([TAMMA, "events"], 5, env)
    plain_wall, plain_rss = demo(ci_failure=False)
    repair_wall, repair_rss = demo(ci_failure=True)
    sweep_wall, sweep_rss, resolved = sweep(args.issues)
    split_wall, tamma_s, prefect_s = prefect_split()

    def rss_verdict(mb: float) -> str:
        return "met" if mb < RSS_TARGET_MB else "MISSED"

    rows = [
        ("`python -c pass` (baseline)", f"{baseline:.3f} s", "", ""),
        (
            "`tamma --help`",
            f"{help_s:.3f} s ({help_s / baseline:.1f}x)",
            "",
            "met" if help_s < START_TARGET_S else "MISSED",
        ),
        (
            "`tamma events`",
            f"{events_s:.3f} s ({events_s / baseline:.1f}x)",
            "",
            "met" if events_s < START_TARGET_S else "MISSED",
        ),
        (
            "`tamma demo --no-ci-failure` (one resolve)",
            f"{plain_wall:.1f} s",
            f"{plain_rss:.0f} MB",
            rss_verdict(plain_rss),
        ),
        (
            "`tamma demo` (resolve + one CI repair)",
            f"{repair_wall:.1f} s",
            f"{repair_rss:.0f} MB",
            rss_verdict(repair_rss),
        ),
        (
            f"`tamma sweep`, {args.issues} issues at once",
            f"{sweep_wall:.1f} s ({resolved} resolved)",
            f"{sweep_rss:.0f} MB",
            "",
        ),
        ("one resolve in-process, server already up", f"{split_wall:.1f} s", "", ""),
        ("... inside task runs (Tamma's work)", f"{tamma_s:.1f} s ({tamma_s / split_wall:.0%})", "", ""),
        (
            "... Prefect's orchestration (the rest)",
            f"{prefect_s:.1f} s ({prefect_s / split_wall:.0%})",
            "",
            "",
        ),
    ]
    lines = [
        run_stamp(f".venv/bin/python benchmarks/orchestration.py --issues {args.issues}"),
        "",
        "| scenario | wall | peak RSS (largest process) | target |",
        "|---|---|---|---|",
        *(f"| {name} | {wall} | {rss} | {verdict} |" for name, wall, rss, verdict in rows),
    ]
    table = "\n".join(lines)
    print(table)
    if args.markdown:
        replace_section(args.markdown, "orchestration", f"### Orchestration\n\n{table}\n")


if __name__ == "__main__":
    main()
