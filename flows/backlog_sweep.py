"""`backlog_sweep`: resolve the open issues of a repository that carry a label, a few at a time.

Issues another live run holds are skipped before starting (an issue whose run failed, or whose
claim expired because its process died, is taken over and that run continued); two sweeps (or
two machines) that still race for the same issue are settled by the claim itself, a
conditional append that exactly one run wins. Issues go in the order asked for: by priority
label (issues with the first of `priority_labels` first), then oldest or newest first.

Deployed, the sweep is orchestration: it starts one `resolve-issue` deployment run per issue
(`run_deployment`, linked to the sweep as subflow runs, so the UI shows the tree), and the
pool's workers take them; at most `concurrency` of them work at once, bounded by the
repository's global concurrency limit (`flows._slots`), and the pool's own limit bounds all
repositories together. Run anywhere else (`tamma sweep`), each issue is a `resolve_issue` run in
this process, at most `concurrency` at once, `cooldown_s` apart. Either way an issue that fails
is reported and the sweep goes on.
"""

from __future__ import annotations

import re
import time
from collections.abc import Iterable, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from datetime import UTC, datetime
from itertools import islice
from typing import Any, Literal, get_args
from uuid import UUID

from prefect import flow
from prefect.client.orchestration import get_client
from prefect.client.schemas.objects import FlowRun
from prefect.deployments import run_deployment
from prefect.runtime import deployment

from event_store import EventStore
from flows._slots import ensure_limit, repository_limit
from flows.resolve_issue import resolve_in_process
from tamma.claims import claimable
from tamma.config import load_settings
from tamma.errors import InvalidReference
from tamma.platforms import Issue, IssueRef, PlatformKind, open_platform
from tasks._context import MergePolicy

__all__ = ["RESOLVE_DEPLOYMENT", "backlog_sweep", "parse_repository", "sweep_order"]

RESOLVE_DEPLOYMENT = "resolve-issue/resolve-issue"
WAIT_POLL_S = 2.0
Order = Literal["oldest", "newest"]


def parse_repository(text: str) -> tuple[PlatformKind, str]:
    """`github:owner/repo`, `gitlab:group/project`, `gitea:owner/repo`, `azure:org/project/repo`, `bitbucket:workspace/repo` or `local:name`."""
    kind, _, name = text.partition(":")
    if kind not in get_args(PlatformKind) or not name:
        raise InvalidReference(
            f"not a repository: {text!r}; use github:owner/repo, gitlab:group/project, "
            "gitea:owner/repo, azure:org/project/repo, bitbucket:workspace/repo or local:name"
        )
    return kind, name  # type: ignore[return-value]


def sweep_order(issues: Iterable[Issue], order: Order, priority_labels: Sequence[str] = ()) -> list[Issue]:
    """`issues` by priority label (the first label of `priority_labels` first, unlabelled last),
    then by age: issue numbers grow with time on every forge."""
    rank = {label: index for index, label in enumerate(priority_labels)}

    def key(issue: Issue) -> tuple[int, int]:
        priority = min((rank[label] for label in issue.labels if label in rank), default=len(rank))
        return priority, issue.ref.number if order == "oldest" else -issue.ref.number

    return sorted(issues, key=key)


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
    order: Order = "oldest",
    priority_labels: list[str] | None = None,
    wait_s: float = 86_400.0,
) -> list[dict[str, Any]]:
    """Start `resolve_issue` for up to `limit` open, unclaimed issues of `repo` labelled `label`.

    Unattended by default: plans are approved by policy (`auto_approve`), and each run stops at
    the merge checkpoint (`merge_policy`). Deployed, the sweep waits up to `wait_s` for its runs
    and reports the ones still going as `still-running`.
    """
    kind, name = parse_repository(repo)
    settings = load_settings()
    platform = open_platform(kind, name, settings)
    with EventStore(settings.event_store_url) as store:
        open_issues = sweep_order(platform.list_issues(labels=[label]), order, priority_labels or ())
        now = datetime.now(UTC)
        candidates = list(islice((i for i in open_issues if claimable(store, i.ref.tag, now)), limit))
    print(f"{len(candidates)} unclaimed issue(s) labelled {label!r} in {repo}")
    parameters = {
        "auto_approve": auto_approve,
        "merge_policy": merge_policy,
        "ci_poll_s": ci_poll_s,
        "script": script,
    }
    refs = [issue.ref for issue in candidates]
    if deployment.id is not None:
        ensure_limit(repository_limit(kind, name), concurrency)
        results = _over_the_pool(refs, parameters, wait_s)
    else:
        results = _in_this_process(refs, parameters, concurrency, cooldown_s)
    for result in results:
        print(f"{result['issue']}: {result['outcome']} (run {result['run_id']})")
    return results


def _over_the_pool(
    refs: Sequence[IssueRef], parameters: dict[str, Any], wait_s: float
) -> list[dict[str, Any]]:
    """One resolve-issue deployment run per issue, as subflow runs of this sweep; the workers
    take them (the repository's and the pool's limits decide how many work at once), and the
    sweep waits up to `wait_s` for them to end."""
    started = {ref: _start(ref, parameters) for ref in refs}
    ended = _wait_for(list(started.values()), wait_s)
    results = []
    for ref, flow_run_id in started.items():
        flow_run = ended.get(flow_run_id)
        outcome = _kebab(flow_run.state.name or "") if flow_run and flow_run.state else "still-running"
        run_id = _tamma_run_id(flow_run.name) if flow_run else ""
        results.append(
            {"issue": str(ref), "outcome": outcome, "run_id": run_id, "flow_run_id": str(flow_run_id)}
        )
    return results


def _start(ref: IssueRef, parameters: dict[str, Any]) -> UUID:
    flow_run = run_deployment(
        RESOLVE_DEPLOYMENT, parameters={"issue_ref": str(ref), **parameters}, timeout=0, as_subflow=True
    )
    assert isinstance(flow_run, FlowRun)  # the synchronous call, not the coroutine
    return flow_run.id


def _wait_for(flow_run_ids: Sequence[UUID], wait_s: float) -> dict[UUID, FlowRun]:
    """The flow runs that reached a final state within `wait_s`."""
    deadline = time.monotonic() + wait_s
    ended: dict[UUID, FlowRun] = {}
    with get_client(sync_client=True) as client:
        while len(ended) < len(flow_run_ids) and time.monotonic() < deadline:
            for flow_run_id in flow_run_ids:
                if flow_run_id not in ended:
                    flow_run = client.read_flow_run(flow_run_id)
                    if flow_run.state is not None and flow_run.state.is_final():
                        ended[flow_run_id] = flow_run
            time.sleep(WAIT_POLL_S if len(ended) < len(flow_run_ids) else 0)
    return ended


def _kebab(state_name: str) -> str:
    """A Prefect state name as Tamma names the outcome: AwaitingMerge -> awaiting-merge."""
    return re.sub(r"(?<=[a-z])(?=[A-Z])", "-", state_name).lower()


def _tamma_run_id(flow_run_name: str) -> str:
    """The Tamma run id a resolve-issue flow run names itself after (`local:shop#1 [r-1a2b3c4d]`)."""
    found = re.search(r"\[(r-[0-9a-z]+)\]$", flow_run_name)
    return found.group(1) if found else ""


def _in_this_process(
    refs: Sequence[IssueRef], parameters: dict[str, Any], concurrency: int, cooldown_s: float
) -> list[dict[str, Any]]:
    """Each issue a `resolve_issue` run on a thread of this process, `cooldown_s` apart."""
    with ThreadPoolExecutor(max_workers=max(1, concurrency), thread_name_prefix="sweep") as pool:
        started: list[Future[dict[str, Any]]] = []
        for index, ref in enumerate(refs):
            if index:
                time.sleep(cooldown_s)
            started.append(pool.submit(resolve_in_process, str(ref), **parameters))
        return [_result(future, ref) for future, ref in zip(started, refs, strict=True)]


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
