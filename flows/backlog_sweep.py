"""`backlog_sweep`: resolve the open issues of a repository that carry a label, a few at a time.

Issues another live run holds are skipped before starting (an issue whose run failed, or whose
claim expired because its process died, is taken over and that run continued); two sweeps (or two machines) that
still race for the same issue are settled by the claim itself, a conditional append that
exactly one run wins. Runs start `cooldown_s` apart and at most `concurrency` at once, each a
`resolve_issue` subflow.
"""

from __future__ import annotations

import time
from concurrent.futures import Future, ThreadPoolExecutor
from datetime import UTC, datetime
from itertools import islice
from typing import Any, get_args

from prefect import flow

from event_store import EventStore
from flows.resolve_issue import resolve_in_process
from tamma.claims import claimable
from tamma.config import load_settings
from tamma.errors import InvalidReference
from tamma.platforms import IssueRef, PlatformKind, open_platform
from tasks._context import MergePolicy

__all__ = ["backlog_sweep", "parse_repository"]


def parse_repository(text: str) -> tuple[PlatformKind, str]:
    """`github:owner/repo`, `gitlab:group/project`, `gitea:owner/repo`, `azure:org/project/repo`, `bitbucket:workspace/repo` or `local:name`."""
    kind, _, name = text.partition(":")
    if kind not in get_args(PlatformKind) or not name:
        raise InvalidReference(
            f"not a repository: {text!r}; use github:owner/repo, gitlab:group/project, "
            "gitea:owner/repo, azure:org/project/repo, bitbucket:workspace/repo or local:name"
        )
    return kind, name  # type: ignore[return-value]


@flow(name="backlog-sweep", log_prints=True)
def backlog_sweep(
    repo: str,
    label: str = "tamma",
    limit: int = 10,
    concurrency: int = 2,
    cooldown_s: float = 5.0,
    auto_approve: bool = True,
    merge_policy: MergePolicy = "stop",
    ci_poll_s: float = 30.0,
    script: str | None = None,
) -> list[dict[str, Any]]:
    """Start `resolve_issue` for up to `limit` open, unclaimed issues of `repo` labelled `label`.

    Unattended by default: plans are approved by policy (`auto_approve`), and each run stops at
    the merge checkpoint (`merge_policy`).
    """
    kind, name = parse_repository(repo)
    settings = load_settings()
    platform = open_platform(kind, name, settings)
    with EventStore(settings.event_store_url) as store:
        candidates = [
            issue
            for issue in islice(platform.list_issues(labels=[label]), limit)
            if claimable(store, issue.ref.tag, datetime.now(UTC))
        ]
    print(f"{len(candidates)} unclaimed issue(s) labelled {label!r} in {repo}")
    results: list[dict[str, Any]] = []
    with ThreadPoolExecutor(max_workers=max(1, concurrency), thread_name_prefix="sweep") as pool:
        started: list[Future[dict[str, Any]]] = []
        for index, issue in enumerate(candidates):
            if index:
                time.sleep(cooldown_s)
            started.append(
                pool.submit(
                    resolve_in_process,
                    str(issue.ref),
                    auto_approve=auto_approve,
                    merge_policy=merge_policy,
                    ci_poll_s=ci_poll_s,
                    script=script,
                )
            )
        results = [_result(future, issue.ref) for future, issue in zip(started, candidates, strict=True)]
    for result in results:
        print(f"{result['issue']}: {result['outcome']} (run {result['run_id']})")
    return results


def _result(future: Future[dict[str, Any]], ref: IssueRef) -> dict[str, Any]:
    """An issue's summary; one that failed is reported (its run recorded RUN.FAILED and can be
    continued) and the sweep goes on with the others."""
    try:
        return future.result()
    except Exception as error:
        return {
            "issue": str(ref),
            "outcome": "failed",
            "run_id": "",
            "error": f"{type(error).__name__}: {error}",
        }
