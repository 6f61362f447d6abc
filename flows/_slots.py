"""How many resolve-issue runs work at once: Prefect global concurrency limits.

`tamma-runs` bounds the whole pool (created by `tamma deploy`, `--max-runs`); `tamma-repo:<kind>:<repo>` (its `/` as `:`)
bounds one repository (created by a sweep with its `concurrency`). A run holds a slot of each
while it works and gives it back when it ends or suspends to wait for a human. A limit that
does not exist bounds nothing (a `tamma run` on its own ephemeral server has none).

Slots are leased for as long as the issue's claim (`claim_lease_s`, within the one minute to
one day Prefect accepts) and renewed while the run lives: the slots of a host that lost power
come back about when its claims do, not after Prefect's default five minutes, which left the
survivors of a lost host taking its issues over a few at a time.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from prefect.client.orchestration import get_client
from prefect.client.schemas.actions import GlobalConcurrencyLimitCreate, GlobalConcurrencyLimitUpdate
from prefect.concurrency.sync import concurrency
from prefect.exceptions import ObjectNotFound

from tamma.platforms import IssueRef

__all__ = ["POOL_LIMIT", "ensure_limit", "repository_limit", "run_slots"]

POOL_LIMIT = "tamma-runs"
_SHORTEST_LEASE_S = 60.0
_LONGEST_LEASE_S = 86_400.0


def repository_limit(platform: str, repo: str) -> str:
    """`tamma-repo:github:acme:shop`: Prefect refuses `/` in a limit's name."""
    return f"tamma-repo:{platform}:{repo.replace('/', ':')}"


@contextmanager
def run_slots(ref: IssueRef, *, lease_s: float) -> Iterator[None]:
    """Hold a slot of the pool's limit and of the issue's repository's limit for the block,
    under a lease of `lease_s` that Prefect renews in the background."""
    limits = [POOL_LIMIT, repository_limit(ref.platform, ref.repo)]
    lease = min(max(lease_s, _SHORTEST_LEASE_S), _LONGEST_LEASE_S)
    with concurrency(limits, strict=False, lease_duration=lease):
        yield


def ensure_limit(name: str, limit: int) -> None:
    """Create global concurrency limit `name` with `limit` slots, or set an existing one's size."""
    with get_client(sync_client=True) as client:
        try:
            client.read_global_concurrency_limit_by_name(name)
        except ObjectNotFound:
            client.create_global_concurrency_limit(GlobalConcurrencyLimitCreate(name=name, limit=limit))
        else:
            client.update_global_concurrency_limit(name, GlobalConcurrencyLimitUpdate(limit=limit))
