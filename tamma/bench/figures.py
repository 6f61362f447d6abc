"""A run's figures as its events recorded them: model turns, tokens and cost.

Read from AI.RESPONSE.RECEIVED (usage and cost_usd per model answer), never re-derived, so a
bench report says what the audit trail says.
"""

from __future__ import annotations

from dataclasses import dataclass

from event_store import EventStore, Query
from tamma import event_types

__all__ = ["RunFigures", "run_figures"]


@dataclass(frozen=True)
class RunFigures:
    turns: int = 0
    """Model answers received."""
    tokens_in: int = 0
    """Input tokens, cached ones (read and written) included."""
    tokens_out: int = 0
    cost_usd: float = 0.0


def run_figures(store: EventStore, run_id: str) -> RunFigures:
    answers = Query.of(types=[event_types.AI_RESPONSE_RECEIVED], tags=[f"run:{run_id}"])
    turns = tokens_in = tokens_out = 0
    cost = 0.0
    for event in store.read(answers):
        usage = event.data["usage"]
        turns += 1
        tokens_in += usage["input_tokens"] + usage["cache_read_tokens"] + usage["cache_write_tokens"]
        tokens_out += usage["output_tokens"]
        cost += event.data["cost_usd"]
    return RunFigures(turns, tokens_in, tokens_out, round(cost, 8))
