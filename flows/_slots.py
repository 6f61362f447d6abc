"""How many resolve-issue runs work at once: Prefect global concurrency limits.

`tamma-runs` bounds the whole pool (created by `tamma deploy`, `--max-runs`); `tamma-repo:<kind>:<repo>` (its `/` as `:`)
bounds one repository (created by a sweep with its `concurrency`). A run holds a slot of each
while it works and gives it back when it ends or suspends to wait for a human. A limit that
does not exist bounds nothing (a `tamma run` on its own ephemeral server has none).
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


def repository_limit(platform: str, repo: str) -> str:
    """`tamma-repo:github:acme:shop`: Prefect refuses `/` in a limit's name."""
    return f"tamma-repo:{platform}:{repo.replace('/', ':')}"


@contextmanager
def run_slots(ref: IssueRef) -> Iterator[None]:
    """Hold a slot of the pool's limit and of the issue's repository's limit for the block."""
    with concurrency([POOL_LIMIT, repository_limit(ref.platform, ref.repo)], strict=False):
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
