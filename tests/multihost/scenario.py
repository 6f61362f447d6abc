"""A sweep over two worker hosts that loses one of them mid-run, and what it costs.

The first sweep starts a resolve-issue run per issue; once a run is working on one host (it
holds its claim and has a plan), every process of that host is killed. The other host finishes
its own runs; once the dead host's claims have expired, a second sweep starts the issues left
and the surviving host continues each dead run under its own run id (RUN.RESUMED).

Figures:
- issues per minute: issues over the wall time from the first sweep's start to the last
  RUN.COMPLETED, the lease wait included;
- Prefect overhead per issue, for the flow run that completed it: the wait from its scheduled
  start to its start (worker poll, process start, flow load), plus its run time not spent in
  any task run (engine bookkeeping between steps, slot acquisition);
- worker RSS: its process tree (the worker and every flow run and tool it started) idle, before
  the sweep, and at its peak; and the peak's excess over idle per flow run then running.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from datetime import datetime
from statistics import mean
from typing import Any

from event_store import EventStore, Query
from tamma import event_types as et
from tamma.claims import claimable
from tests.multihost.cluster import REPO, Cluster, Worker

__all__ = ["Figures", "Outcome", "sweep_losing_a_host"]

TIMEOUT_S = 480.0
FINAL = {"COMPLETED", "FAILED", "CANCELLED", "CRASHED"}
MB = 2**20


@dataclass(frozen=True)
class Figures:
    issues: int
    wall_s: float
    overhead_s: float
    pickup_s: float
    worker_rss_idle_mb: tuple[float, ...]
    worker_rss_peak_mb: tuple[float, ...]
    runs_at_peak: tuple[int, ...]

    @property
    def issues_per_minute(self) -> float:
        return self.issues / (self.wall_s / 60)

    def lines(self) -> list[str]:
        per_run = [
            (peak - idle) / runs if runs else 0.0
            for idle, peak, runs in zip(
                self.worker_rss_idle_mb, self.worker_rss_peak_mb, self.runs_at_peak, strict=True
            )
        ]
        return [
            f"issues: {self.issues} in {self.wall_s:.0f} s = {self.issues_per_minute:.2f} issues/min (lease wait included)",
            f"Prefect overhead per issue: {self.overhead_s:.1f} s (of which pickup {self.pickup_s:.1f} s)",
            *(
                f"worker {n}: RSS idle {idle:.0f} MB, peak {peak:.0f} MB with {runs} flow run(s), "
                f"{extra:.0f} MB per running issue"
                for n, (idle, peak, runs, extra) in enumerate(
                    zip(
                        self.worker_rss_idle_mb,
                        self.worker_rss_peak_mb,
                        self.runs_at_peak,
                        per_run,
                        strict=True,
                    ),
                    1,
                )
            ),
        ]


@dataclass(frozen=True)
class Outcome:
    figures: Figures
    victim: int
    """The index of the worker host that was killed."""
    lost_runs: tuple[str, ...]
    """The Tamma runs that were working on the killed host (claimed, not completed)."""
    sweeps: tuple[str, ...]


def _events(cluster: Cluster, issue: int) -> list[Any]:
    with EventStore(cluster.store_url) as store:
        return list(store.read(Query.of(tags=[f"issue:github:{REPO}#{issue}"])))


def _planned_here(cluster: Cluster, worker: Worker) -> bool:
    """Whether a run on `worker` holds its claim and has a plan, and has not completed."""
    on_host = worker.flow_runs()
    for issue in cluster.forge.issues:
        events = _events(cluster, issue)
        kinds = {e.type for e in events}
        claimants = {e.data.get("claimant") for e in events if e.type == et.ISSUE_CLAIMED}
        if claimants & on_host and et.PLAN_PROPOSED in kinds and et.RUN_COMPLETED not in kinds:
            return True
    return False


def _lost(cluster: Cluster, victim: Worker) -> list[str]:
    """The runs that died with `victim`: claimed by one of its flow runs, not completed."""
    lost = []
    for issue in cluster.forge.issues:
        events = _events(cluster, issue)
        claims = [
            e.data for e in events if e.type == et.ISSUE_CLAIMED and e.data.get("claimant") in victim.seen
        ]
        if claims and not any(e.type == et.RUN_COMPLETED for e in events):
            lost.append(str(claims[0]["run_id"]))
    return lost


def _completed(cluster: Cluster) -> bool:
    return all(_done(cluster, n) for n in cluster.forge.issues)


def _settled(cluster: Cluster, victim: Worker) -> bool:
    """Every resolve-issue flow run not lost with `victim` has ended, and every issue is done
    or free to take (the dead host's claims have expired)."""
    runs = [run for run in cluster.every("/flow_runs/filter", {}) if run["parameters"].get("issue_ref")]
    if any(run["state"]["type"] not in FINAL and run["id"] not in victim.seen for run in runs):
        return False
    now = datetime.now().astimezone()
    with EventStore(cluster.store_url) as store:
        return all(
            _done(cluster, n) or claimable(store, f"issue:github:{REPO}#{n}", now)
            for n in cluster.forge.issues
        )


def _done(cluster: Cluster, issue: int) -> bool:
    return any(e.type == et.RUN_COMPLETED for e in _events(cluster, issue))


def _until(condition: Any, deadline: float, what: str, cluster: Cluster | None = None) -> Any:
    """Poll `condition` until it is truthy; past `deadline`, a TimeoutError that says, when
    `cluster` is given, where each issue and flow run stood and what the logs ended with."""
    while not (found := condition()):
        if time.monotonic() > deadline:
            report = f"\n{_where_things_stand(cluster)}" if cluster else ""
            raise TimeoutError(f"timed out waiting for {what}{report}")
        time.sleep(1)
    return found


def _where_things_stand(cluster: Cluster) -> str:
    """Each issue's last events, each resolve-issue flow run's state and host, each log's tail."""
    lines = []
    for issue in cluster.forge.issues:
        kinds = [e.type for e in _events(cluster, issue)]
        lines.append(f"#{issue}: {len(kinds)} events, last: {', '.join(kinds[-4:])}")
    hosts = {run: n for n, worker in enumerate(cluster.workers, 1) for run in worker.seen}
    for run in cluster.every("/flow_runs/filter", {}):
        ref = run["parameters"].get("issue_ref", "sweep")
        state = run["state"]
        where = f"worker {hosts[run['id']]}" if run["id"] in hosts else "no worker seen"
        lines.append(f"{ref} {run['id'][:8]} {state['name']} ({where}): {(state['message'] or '')[:200]}")
    for log in cluster.logs():
        tail = log.read_text(errors="replace").splitlines()[-15:] if log.exists() else ["(none)"]
        lines += [f"--- {log}", *tail]
    return "\n".join(lines)


def sweep_losing_a_host(cluster: Cluster, *, ci_poll_s: float = 0.5) -> Outcome:
    """The scenario of the module docstring; raises TimeoutError if it does not end in time."""
    parameters = {
        "repo": f"github:{REPO}",
        "script": str(cluster.forge.script),
        "ci_poll_s": ci_poll_s,
        "cooldown_s": 0,
        "concurrency": len(cluster.forge.issues),
        "wait_s": TIMEOUT_S,
    }
    idle = [_rss_now(worker) for worker in cluster.workers]
    started = time.monotonic()
    deadline = started + TIMEOUT_S
    sweeps = [cluster.start("backlog-sweep/backlog-sweep", **parameters)]

    def planning_host() -> Worker | None:
        state = cluster.flow_run(sweeps[0])["state"]
        if state["type"] in FINAL:  # e.g. a repository its concurrency limit cannot be named for
            raise RuntimeError(
                f"the sweep ended before any run had a plan: {state['name']}: {state['message']}"
            )
        return next((worker for worker in cluster.workers if _planned_here(cluster, worker)), None)

    victim = cluster.workers.index(
        _until(planning_host, deadline, "a run with a plan on some worker host", cluster)
    )
    cluster.workers[victim].lose_power()
    lost = _lost(cluster, cluster.workers[victim])
    _until(
        lambda: _settled(cluster, cluster.workers[victim]),
        deadline,
        "the survivor's runs and the dead host's claims",
        cluster,
    )
    sweeps.append(cluster.start("backlog-sweep/backlog-sweep", **parameters))
    _until(lambda: _completed(cluster), deadline, "every issue's RUN.COMPLETED", cluster)
    wall = time.monotonic() - started
    _until(
        lambda: cluster.flow_run(sweeps[-1])["state"]["type"] in FINAL,
        deadline,
        "the second sweep's end",
        cluster,
    )
    overhead, pickup = _overhead(cluster)
    peaks = [max(worker.samples, key=lambda s: s.rss) for worker in cluster.workers]
    figures = Figures(
        issues=len(cluster.forge.issues),
        wall_s=wall,
        overhead_s=overhead,
        pickup_s=pickup,
        worker_rss_idle_mb=tuple(rss / MB for rss in idle),
        worker_rss_peak_mb=tuple(peak.rss / MB for peak in peaks),
        runs_at_peak=tuple(len(peak.flow_runs - set(sweeps)) for peak in peaks),
    )
    return Outcome(figures, victim, tuple(lost), tuple(sweeps))


def _rss_now(worker: Worker) -> int:
    """The worker's settled footprint: the last sample before the sweep."""
    _until(lambda: len(worker.samples) >= 4, time.monotonic() + 30, "a worker's first samples")
    return worker.samples[-1].rss


def _overhead(cluster: Cluster) -> tuple[float, float]:
    """Mean Prefect overhead and pickup wait over the resolve-issue flow runs that completed."""
    runs = [
        run
        for run in cluster.every("/flow_runs/filter", {})
        if run["parameters"].get("issue_ref") and run["state"]["type"] == "COMPLETED"
    ]
    tasks = cluster.every("/task_runs/filter", {"flow_runs": {"id": {"any_": [run["id"] for run in runs]}}})
    in_tasks: dict[str, float] = {}
    for task in tasks:
        in_tasks[task["flow_run_id"]] = in_tasks.get(task["flow_run_id"], 0.0) + task["total_run_time"]
    pickups = [_seconds(run["start_time"]) - _seconds(run["expected_start_time"]) for run in runs]
    outside = [run["total_run_time"] - in_tasks.get(run["id"], 0.0) for run in runs]
    return mean(p + o for p, o in zip(pickups, outside, strict=True)), mean(pickups)


def _seconds(stamp: str) -> float:
    return datetime.fromisoformat(stamp).timestamp()
