"""Following a run as it happens: its events, one readable line each, as they are recorded.

The flow runs in the foreground; this watcher tails the run's events from the store on a
background thread (the store is the one place every step writes to) and calls `on_approval`
when the run pauses for a decision, so `tamma run` can ask at the terminal.
"""

from __future__ import annotations

import threading
from collections.abc import Callable

from rich.console import Console
from rich.markdown import Markdown
from rich.padding import Padding

from event_store import Event, EventStore, Query
from tamma import event_types as et
from tamma.audit.summaries import describe

__all__ = ["RunWatcher"]


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
