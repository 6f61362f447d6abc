"""A tour of the event store: an issue's lifecycle, a claim race, and time travel.

This is what `make demo` shows until the end-to-end flow exists: the mechanisms every
later step stands on, run for real on the embedded SQLite store (or any URL given).
"""

from __future__ import annotations

import multiprocessing
from collections.abc import Callable
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING, Any

from event_store import (
    AppendCondition,
    AppendConditionFailed,
    Event,
    EventStore,
    NewEvent,
    Projection,
    Query,
)

if TYPE_CHECKING:
    from rich.console import Console

LIFECYCLE_ISSUE = "issue:local:demo#1"
RACED_ISSUE = "issue:local:demo#2"
RUN_TAG = "run:demo-1"

# (type, data) of one issue's life, in the order the resolve_issue flow records them, with the
# types and fields of docs/events.md (fewer of them), so `tamma audit export` reads them too.
LIFECYCLE: list[tuple[str, dict[str, Any]]] = [
    ("ISSUE.SELECTED", {"v": 1, "title": "Fix off-by-one in pagination", "labels": ["tamma"]}),
    ("ISSUE.CLAIMED", {"v": 1, "worker": "worker-a"}),
    ("ANALYSIS.COMPLETED", {"v": 1, "ambiguity": 18, "reasons": ["clear repro steps"]}),
    ("PLAN.PROPOSED", {"v": 1, "plan": "1. Test page 2 boundary\n2. Use < instead of <="}),
    ("APPROVAL.REQUESTED", {"v": 1, "subject": "plan"}),
    ("APPROVAL.PROVIDED", {"v": 1, "subject": "plan", "edited": False}),
    ("TESTS.RAN", {"v": 1, "phase": "tests", "passed": False}),
    ("TESTS.RAN", {"v": 1, "phase": "fix", "passed": True}),
    ("COMMIT.CREATED", {"v": 1, "phase": "fix", "sha": "3f2a9c1", "message": "Use < for the last page"}),
    ("BRANCH.PUSHED", {"v": 1, "branch": "tamma/issue-1-fix-off-by-one", "sha": "3f2a9c1"}),
    ("PR.CREATED", {"v": 1, "number": 7, "url": "", "head": "tamma/issue-1-fix-off-by-one"}),
    ("CI.STATUS.CHANGED", {"v": 1, "sha": "3f2a9c1", "state": "pending"}),
    ("CI.STATUS.CHANGED", {"v": 1, "sha": "3f2a9c1", "state": "success"}),
    ("RUN.COMPLETED", {"v": 1, "outcome": "awaiting-merge"}),
]


@dataclass(frozen=True)
class IssueView:
    """What a person asks about an issue: where it is, who has it, the plan, PR and CI."""

    phase: str = "new"
    claimed_by: str | None = None
    plan: str | None = None
    pull_request: int | None = None
    ci: str | None = None
    events: int = 0


def _apply(view: IssueView, event: Event) -> IssueView:
    view = replace(view, phase=event.type, events=view.events + 1)
    updates: dict[str, Callable[[dict[str, Any]], dict[str, Any]]] = {
        "ISSUE.CLAIMED": lambda d: {"claimed_by": d["worker"]},
        "PLAN.PROPOSED": lambda d: {"plan": d["plan"]},
        "PR.CREATED": lambda d: {"pull_request": d["number"]},
        "CI.STATUS.CHANGED": lambda d: {"ci": d["state"]},
    }
    update = updates.get(event.type)
    return replace(view, **update(event.data)) if update else view


ISSUE_VIEW = Projection(IssueView(), _apply, Query.of(tags=[LIFECYCLE_ISSUE]))


def record_lifecycle(store: EventStore, on_event: Callable[[int, str], None]) -> None:
    """Append the sample issue's life, claiming it with a condition as a worker would."""
    claim_boundary = Query.of(types=["ISSUE.CLAIMED"], tags=[LIFECYCLE_ISSUE])
    for event_type, data in LIFECYCLE:
        new = NewEvent(event_type, data, tags=[LIFECYCLE_ISSUE, RUN_TAG], metadata={"actor": "demo"})
        condition = AppendCondition(claim_boundary, after=None) if event_type == "ISSUE.CLAIMED" else None
        on_event(store.append([new], condition=condition), event_type)


def _claim(url: str, worker: str, start: Any, results: Any) -> None:
    """One racing worker: its own process, its own connection, one conditional append."""
    with EventStore(url) as store:
        boundary = Query.of(types=["ISSUE.CLAIMED"], tags=[RACED_ISSUE])
        claim = NewEvent("ISSUE.CLAIMED", {"v": 1, "worker": worker}, tags=[RACED_ISSUE, f"worker:{worker}"])
        start.wait()
        try:
            results.put((worker, store.append([claim], condition=AppendCondition(boundary, after=None))))
        except AppendConditionFailed as lost:
            results.put((worker, lost))


def race_for_claim(url: str, workers: tuple[str, ...] = ("worker-a", "worker-b")) -> dict[str, Any]:
    """Start the workers in separate processes at the same instant; return each one's outcome."""
    context = multiprocessing.get_context("spawn")
    start, results = context.Barrier(len(workers)), context.Queue()
    processes = [context.Process(target=_claim, args=(url, w, start, results)) for w in workers]
    for process in processes:
        process.start()
    outcomes = dict(results.get(timeout=60) for _ in workers)
    for process in processes:
        process.join(timeout=30)
    return outcomes


def claim_owner(store: EventStore) -> str:
    """Who holds the raced issue, read back from the stream."""
    claims = list(store.read(Query.of(types=["ISSUE.CLAIMED"], tags=[RACED_ISSUE])))
    return str(claims[0].data["worker"])


def present(store: EventStore, url: str, console: Console) -> None:
    """Run the three parts of the tour against `store`, narrating on `console`.

    `url` is the unmasked URL, which the racing worker processes need to connect.
    """
    console.rule("[bold]1. An issue's lifecycle, one event per decision")
    console.print(f"Event store: {store.url}")
    record_lifecycle(store, lambda position, kind: console.print(f"  {position:>4}  {kind}"))

    console.rule("[bold]2. Two workers race to claim issue local:demo#2")
    outcomes = race_for_claim(url)
    for worker, outcome in sorted(outcomes.items()):
        if isinstance(outcome, int):
            console.print(f"  {worker}: [green]claimed it[/green] (event at position {outcome})")
        else:
            console.print(
                f"  {worker}: [yellow]already claimed by {claim_owner(store)}[/yellow] "
                f"(its conditional append found position {outcome.conflicting_position})"
            )
    winners = sum(isinstance(outcome, int) for outcome in outcomes.values())
    console.print(f"  winners: {winners} (the conditional append admits exactly one)")

    console.rule("[bold]3. Time travel: the same fold, stopped at an earlier position")
    plan = next(iter(store.read(Query.of(types=["PLAN.PROPOSED"], tags=[LIFECYCLE_ISSUE]))))
    for label, view in (
        (f"at position {plan.position}", ISSUE_VIEW.state_at(store, plan.position)),
        (f"now (position {store.head()})", ISSUE_VIEW.run(store).state),
    ):
        console.print(
            f"  [bold]{label}[/bold]: phase={view.phase} claimed_by={view.claimed_by} "
            f"pr={view.pull_request} ci={view.ci} events={view.events}"
        )

    console.rule("[bold]Explore")
    console.print(f"  tamma events --database-url {store.url} --tag {LIFECYCLE_ISSUE}")
