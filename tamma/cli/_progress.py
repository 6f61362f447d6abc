"""Following a run as it happens: its events, one readable line each, as they are recorded.

The flow runs in the foreground; this watcher tails the run's events from the store on a
background thread (the store is the one place every step writes to) and calls `on_approval`
when the run pauses for a decision, so `tamma run` can ask at the terminal.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Any

from rich.console import Console
from rich.markdown import Markdown
from rich.padding import Padding

from event_store import Event, EventStore, Query
from tamma import event_types as et

__all__ = ["RunWatcher", "describe"]


def describe(event: Event) -> str | None:
    """One line for the events a person follows; None for the detail (tool calls, AI calls)."""
    data: dict[str, Any] = event.data
    lines: dict[str, Callable[[], str]] = {
        et.RUN_STARTED: lambda: f"claimed {data['issue']} on {data['worker']}",
        et.ANALYSIS_COMPLETED: lambda: f"analyzed: ambiguity {data['ambiguity']}/100",
        et.CLARIFICATION_REQUESTED: lambda: (
            f"asked the reporter {len(data['questions'])} question(s); waiting"
        ),
        et.CLARIFICATION_RECEIVED: lambda: "the reporter answered",
        et.PLAN_PROPOSED: lambda: "plan proposed",
        et.APPROVAL_REQUESTED: lambda: f"waiting for approval of the {data['subject']}",
        et.APPROVAL_PROVIDED: lambda: (
            f"{data['subject']} approved by {event.metadata.get('actor')}"
            + (" (edited)" if data.get("edited") else "")
        ),
        et.APPROVAL_REJECTED: lambda: f"{data['subject']} rejected: {data['reason'] or 'no reason given'}",
        et.AGENT_PHASE_STARTED: lambda: f"agent: phase {data['phase']}",
        et.TESTS_RAN: lambda: f"  tests {'pass' if data['passed'] else 'FAIL'} ({data.get('phase', '')})",
        et.COMMIT_CREATED: lambda: f"  commit {data['sha'][:10]} {data['message']}",
        et.BUDGET_EXCEEDED: lambda: f"budget exceeded: {data['limit']}",
        et.BRANCH_PUSHED: lambda: f"pushed {data['branch']} at {data['sha'][:10]}",
        et.PR_CREATED: lambda: f"pull request #{data['number']} {data['url']}".rstrip(),
        et.CI_STATUS_CHANGED: lambda: f"CI {data['state']} on {data['sha'][:10]}",
        et.CI_FIX_ATTEMPTED: lambda: (
            f"CI repair attempt {data['attempt']}: {data.get('summary') or data['reason']}"
        ),
        et.MERGE_CHECKPOINT_REACHED: lambda: f"merge checkpoint: pull request #{data['number']}",
        et.PR_MERGED: lambda: f"merged at {data['sha'][:10]}",
        et.ESCALATION_TRIGGERED: lambda: f"escalated to a human: {data['reason']}",
        et.RUN_COMPLETED: lambda: f"run finished: {data['outcome']}",
    }
    line = lines.get(event.type)
    return line() if line else None


class RunWatcher(threading.Thread):
    def __init__(
        self,
        store_url: str,
        run_id: str,
        console: Console,
        on_approval: Callable[[Event], None] | None = None,
        show_plan: bool = False,
        poll_s: float = 0.2,
    ) -> None:
        super().__init__(name=f"watch-{run_id}", daemon=True)
        self.store_url, self.run_id, self.console = store_url, run_id, console
        self.on_approval, self.show_plan, self.poll_s = on_approval, show_plan, poll_s
        self._stopping = threading.Event()

    def stop(self) -> None:
        self._stopping.set()
        self.join(timeout=5)

    def run(self) -> None:
        position = 0
        with EventStore(self.store_url) as store:
            query = Query.of(tags=[f"run:{self.run_id}"])
            while True:
                stopping = self._stopping.is_set()
                for event in store.read(query, after=position):
                    position = event.position
                    self._show(event)
                if stopping:
                    return
                self._stopping.wait(self.poll_s)

    def _show(self, event: Event) -> None:
        line = describe(event)
        if line:
            self.console.print(f"[dim]{event.position:>6}[/dim]  {line}", highlight=False)
        if event.type == et.PLAN_PROPOSED and self.show_plan:
            self.console.print(Padding(Markdown(event.data["plan"]), (0, 0, 0, 8)))
        if event.type == et.APPROVAL_REQUESTED and self.on_approval is not None:
            self.on_approval(event)
