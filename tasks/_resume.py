"""Where an interrupted implementation goes on: after its last completed test-first phase.

Each phase that passed its check ends with a commit and AGENT.PHASE.COMPLETED; those events
are resume points. A run killed (or a step failed) inside the agent continues, on its next
start, at the next phase: the workspace goes back to the last completed phase's commit (what a
half-done phase left is dropped), and the completed phases' summaries and the tests' failing
run stand as recorded. Without the commit in the workspace (another machine's fresh clone),
nothing can be resumed and the implementation starts over.
"""

from __future__ import annotations

from event_store import Event, Query
from tamma import event_types
from tamma.agent.test_first import Implementation
from tamma.agent.workspace import Workspace
from tamma.git import git
from tamma.sandbox import CommandResult
from tasks._context import RunContext

__all__ = ["has_commit", "resume_point"]


def resume_point(ctx: RunContext, workspace: Workspace) -> Implementation | None:
    """The completed phases of this run's unfinished implementation, with the workspace reset
    to the last one's commit; None when there is nothing to resume (or it cannot be)."""
    kinds = [event_types.AGENT_PHASE_COMPLETED, event_types.TESTS_RAN]
    events = list(ctx.store.read(Query.of(types=kinds, tags=[ctx.run_tag])))
    completed = [event for event in events if event.type == event_types.AGENT_PHASE_COMPLETED]
    if not completed:
        workspace.reset_to(workspace.base_sha)  # what an interrupted first phase left (even a commit)
        return None
    commits = tuple(event.data["commit"] for event in completed if event.data.get("commit"))
    head = commits[-1] if commits else workspace.base_sha
    if not has_commit(workspace, head):
        ctx.recorder.record(
            event_types.AGENT_RESUMED,
            phases=[],
            head=workspace.base_sha,
            reason=f"commit {head[:12]} is not in this clone",
        )
        workspace.reset_to(workspace.base_sha)
        return None
    workspace.reset_to(head)
    phases = [event.data["phase"] for event in completed]
    ctx.recorder.record(event_types.AGENT_RESUMED, phases=phases, head=head, reason="")
    return Implementation(
        status="stopped",
        reason="resumed",
        summaries={
            event.data["phase"]: event.data["summary"] for event in completed if "summary" in event.data
        },
        commits=commits,
        tests_before=_failing_run(events),
        passed=frozenset(phases),
    )


def has_commit(workspace: Workspace, sha: str) -> bool:
    """Whether this clone has `sha` (a fresh clone on another machine has only what was pushed)."""
    return git("cat-file", "-e", f"{sha}^{{commit}}", cwd=workspace.path, check=False).returncode == 0


def _failing_run(events: list[Event]) -> CommandResult | None:
    """Tamma's own run of the suite that showed the new tests failing: the PR's evidence."""
    runs = [e for e in events if e.type == event_types.TESTS_RAN and e.data.get("phase") == "tests"]
    checked = [e for e in runs if e.data.get("by") == "tamma" and not e.data["passed"]]
    if not checked:
        return None
    data = checked[-1].data
    return CommandResult(
        argv=tuple(data["command"]),
        exit_code=data["exit_code"],
        output=data["output"],
        stopped_by="time" if data.get("timed_out") else None,
    )
