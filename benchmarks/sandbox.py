"""The sandbox's price: the demo project's commands in bubblewrap against the same unconfined.

Target (issue 21): under 50 ms extra per command. Both columns go through `Sandbox.run`
(same limits, environment allowlist, output capture), so the difference is what confinement
costs: bubblewrap's namespaces and mounts, and a cgroup where one can be made. The commands
are the demo's own: its test suite (what the agent runs after every change), its linter,
and `python -c pass` (the floor: starting an interpreter). Medians of interleaved runs, so
a noisy machine slows both columns alike.

    python benchmarks/sandbox.py [--runs 15] [--markdown docs/BENCHMARKS.md]
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from dataclasses import replace
from pathlib import Path

sys.path[0] = str(Path(__file__).resolve().parents[1])  # see benchmarks/cli_startup.py

from benchmarks._markdown import replace_section, run_stamp  # noqa: E402
from tamma.demo.scenario import agent_settings, build_world  # noqa: E402
from tamma.git import git  # noqa: E402
from tamma.sandbox import Sandbox, SandboxPolicy  # noqa: E402

TARGET_EXTRA_MS = 50.0


def _timed(sandbox: Sandbox, argv: list[str], workspace: Path) -> float:
    started = time.perf_counter()
    result = sandbox.run(argv, workspace=workspace, timeout_s=120)
    elapsed = time.perf_counter() - started
    if result.exit_code is None:
        raise SystemExit(f"{result.summary()}\n{result.output}")
    return elapsed


def measure(argv: list[str], workspace: Path, runs: int) -> tuple[float, float]:
    """Median seconds (unconfined, bubblewrap) over `runs` interleaved runs, after a warm-up."""
    demo = SandboxPolicy(env={"PYTEST_DISABLE_PLUGIN_AUTOLOAD": "1"})  # as `tamma demo` runs them
    confined, unconfined = Sandbox(demo), Sandbox(replace(demo, backend="none"))
    samples: dict[str, list[float]] = {"none": [], "bubblewrap": []}
    for attempt in range(runs + 1):
        for name, sandbox in (("none", unconfined), ("bubblewrap", confined)):
            elapsed = _timed(sandbox, argv, workspace)
            if attempt:
                samples[name].append(elapsed)
    return statistics.median(samples["none"]), statistics.median(samples["bubblewrap"])


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument(
        "--runs", type=int, default=15, help="counted runs per command and backend (default 15)"
    )
    parser.add_argument("--markdown", type=Path, help="rewrite this file's sandbox section with the figures")
    args = parser.parse_args()
    Sandbox().check()
    settings = agent_settings()
    commands = {
        "python -c pass": [sys.executable, "-c", "pass"],
        "the demo's test suite (pytest)": [str(part) for part in settings["test_command"]],  # type: ignore[attr-defined]
        "the demo's linter (ruff check)": [*settings["lint_command"], "calc.py"],  # type: ignore[misc]
    }
    with tempfile.TemporaryDirectory(prefix="tamma-bench-") as scratch:
        world = build_world(Path(scratch))
        workspace = Path(scratch) / "workspace"
        git("clone", "--quiet", str(world.platform.remote), str(workspace))
        rows = [(name, *measure(argv, workspace, args.runs)) for name, argv in commands.items()]
    lines = [
        run_stamp(f".venv/bin/python benchmarks/sandbox.py --runs {args.runs}"),
        "",
        f"Median of {args.runs} interleaved runs each, after a warm-up; target < {TARGET_EXTRA_MS:.0f} ms "
        "extra per command.",
        "",
        "| command | none (ms) | bubblewrap (ms) | extra (ms) | x none | target |",
        "|---|---|---|---|---|---|",
    ]
    for name, unconfined, confined in rows:
        extra_ms = (confined - unconfined) * 1000
        verdict = "met" if extra_ms < TARGET_EXTRA_MS else "MISSED"
        lines.append(
            f"| {name} | {unconfined * 1000:.1f} | {confined * 1000:.1f} | {extra_ms:+.1f} | "
            f"{confined / unconfined:.2f}x | {verdict} |"
        )
    table = "\n".join(lines)
    print(table)
    if args.markdown:
        replace_section(args.markdown, "sandbox", f"### Sandbox\n\n{table}\n")


if __name__ == "__main__":
    main()
