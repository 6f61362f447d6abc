"""Several hosts on one machine: a Prefect server + PostgreSQL + forge host and two worker hosts
as network namespaces, a sweep of N issues that loses one worker host mid-run (the scenario of
tests/multihost/test_three_hosts.py), and what it costs: issues per minute, Prefect overhead
per issue and each worker's RSS idle and at its peak (goal: under 512 MB per worker).

Needs root (`ip netns`) and PostgreSQL (TAMMA_TEST_POSTGRES_URL, default the machine's `test`
database as postgres); everything it makes is removed again.

    python benchmarks/multi_host.py [--issues 10] [--lease 20]
"""

from __future__ import annotations

import argparse
import sys
import tempfile
from pathlib import Path

sys.path[0] = str(Path(__file__).resolve().parents[1])


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--issues", type=int, default=10, help="issues in the sweep")
    parser.add_argument(
        "--lease", type=float, default=20.0, help="claim lease, seconds (TAMMA_CLAIM_LEASE_S)"
    )
    args = parser.parse_args()
    from tests.multihost.cluster import cluster
    from tests.multihost.scenario import sweep_losing_a_host

    with (
        tempfile.TemporaryDirectory(prefix="tmh-bench-") as root,
        cluster(Path(root), issues=args.issues, lease_s=args.lease) as hosts,
    ):
        outcome = sweep_losing_a_host(hosts)
    print(f"killed worker host {outcome.victim + 1} while it worked on {len(outcome.lost_runs)} run(s)")
    print("\n".join(outcome.figures.lines()))


if __name__ == "__main__":
    main()
