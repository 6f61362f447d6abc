"""Several hosts: a Prefect server + PostgreSQL + forge host and two worker hosts, each a network
namespace on this machine (`topology`). A sweep of ten issues loses one worker host mid-run;
the other finishes every issue, each claimed by one run and resolved once, and the figures are
printed (`scenario`; `benchmarks/multi_host.py` prints the same on its own)."""

from __future__ import annotations

import os
import re
import shutil
from collections import Counter
from pathlib import Path

import pytest
from sqlalchemy.engine import make_url

from event_store import EventStore, Query
from tamma import event_types as et
from tests.multihost.cluster import ADMIN_URL, REPO, cluster
from tests.multihost.scenario import sweep_losing_a_host

pytestmark = pytest.mark.skipif(
    os.geteuid() != 0 or shutil.which("ip") is None, reason="network namespaces need root and `ip`"
)


@pytest.mark.timeout(720)
def test_a_sweep_over_two_worker_hosts_survives_losing_one(tmp_path: Path) -> None:
    with cluster(tmp_path, issues=10, lease_s=20) as hosts:
        for worker in hosts.workers:  # a worker's loopback is its own: the store is over the LAN
            assert not worker.host.can_connect("127.0.0.1", make_url(ADMIN_URL).port or 5432)
            assert worker.host.can_connect(
                hosts.network.server_ip, make_url(hosts.worker_store_url).port or 0
            )
        outcome = sweep_losing_a_host(hosts)
        print("\n" + "\n".join(outcome.figures.lines()))
        survivor = hosts.workers[1 - outcome.victim]
        assert hosts.flow_run(outcome.sweeps[-1])["state"]["type"] == "COMPLETED"
        pulls = [issue for issue in hosts.forge.github.repo(REPO).issues.values() if issue.pull]
        with EventStore(hosts.store_url) as store:
            events = {
                n: list(store.read(Query.of(tags=[f"issue:github:{REPO}#{n}"]))) for n in hosts.forge.issues
            }

    assert outcome.lost_runs, "the killed host was working on a run"
    assert max(outcome.figures.worker_rss_idle_mb) < 512  # under a sweep, see the printed figures
    assert len(pulls) == len(events) == 10
    resolved = sorted(int(n) for p in pulls for n in re.findall(r"Resolves #(\d+)", p.body or ""))
    assert resolved == sorted(events)  # one pull request per issue
    assert len({p.pull.head_ref for p in pulls if p.pull}) == 10  # each run its own branch
    for n, issue_events in events.items():
        kinds = Counter(e.type for e in issue_events)
        runs = {e.data["run_id"] for e in issue_events if e.type == et.ISSUE_CLAIMED}
        assert len(runs) == 1, f"#{n} was worked on by {runs}"
        assert kinds[et.RUN_STARTED] == kinds[et.PR_CREATED] == kinds[et.RUN_COMPLETED] == 1, (n, kinds)
        completed = next(e for e in issue_events if e.type == et.RUN_COMPLETED)
        assert completed.data["outcome"] == "awaiting-merge", (n, completed.data)
        lost = runs <= set(outcome.lost_runs)
        assert kinds[et.RUN_RESUMED] == kinds[et.ISSUE_CLAIM_EXPIRED] == int(lost), (n, kinds)
        if lost:  # continued by the survivor, under the claim it took over
            last_claim = [e for e in issue_events if e.type == et.ISSUE_CLAIMED][-1]
            assert last_claim.data["claimant"] in survivor.seen
