"""The run's budget guard: one budget (`agent.budget`) for every model call of a run.

The analysis, the plan, each phase of the agent and each CI repair spend from the same caps,
and the guard starts from what the run's recorded model calls already spent, so a restarted
run cannot spend its budget twice and a huge issue is refused before it is sent.
"""

from __future__ import annotations

from event_store import Query
from tamma import event_types
from tamma.agent.budget import BudgetGuard, Spend
from tamma.providers import PriceTable
from tasks._context import RunContext

__all__ = ["run_budget"]


def run_budget(ctx: RunContext) -> BudgetGuard:
    """A guard over the run's budget, charged with what the run has spent so far."""
    return BudgetGuard(ctx.settings.agent.budget, PriceTable(ctx.settings.prices), spent=_spent_so_far(ctx))


def _spent_so_far(ctx: RunContext) -> Spend:
    spent = Spend()
    for event in ctx.store.read(Query.of(types=[event_types.AI_RESPONSE_RECEIVED], tags=[ctx.run_tag])):
        usage = event.data["usage"]
        spent.turns += 0 if event.data.get("reconciliation") else 1  # Claude Code's late-counted tokens
        spent.tokens += sum(usage.values())
        spent.cost_usd = round(spent.cost_usd + event.data["cost_usd"], 8)
    return spent
