"""What a Claude Code session spends: each response's final usage, reconciled with the CLI's count.

The CLI streams each API response to the SDK (`include_partial_messages`) with its usage in two
steps, as the Messages API sends it:

- `message_start`: the input side (plain, cache read, cache write) and `output_tokens: 1`.
  It is counted at once, as one turn of the run's budget: the CLI runs a tool call as soon as
  its block is complete, before the response ends, so a cap this response crosses must be
  known by then. (The SDK's `AssistantMessage`s carry only these first figures.)
- `message_delta`: the final usage, cumulative. What it adds to the first figures (the output,
  mostly) is added to the budget, and the response is recorded with it.

At the end, `ResultMessage.usage` holds what the CLI counted for the whole query, including a
response cut before its `message_delta` and any request it does not stream. What it holds
beyond the responses seen is recorded as one correcting figure, so the session's total is
never below the CLI's. Its `total_cost_usd` and `model_usage` are not used for this: on a
resumed session they include the earlier attempts, which are counted already.

Prices are Tamma's, since the CLI's list prices know nothing of `prices:`. A response of a
model Tamma has no price for, and the correcting figure, are priced as the session's model,
whose price the backend checks before it starts: never $0.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from tamma.agent.budget import BudgetGuard
from tamma.providers import PriceTable, Usage

__all__ = ["SessionMeter", "Spent"]

_WIRE_NAMES = {
    "input_tokens": "input_tokens",
    "output_tokens": "output_tokens",
    "cache_read_tokens": "cache_read_input_tokens",
    "cache_write_tokens": "cache_creation_input_tokens",
}
"""`Usage` field -> the Messages API's name for it."""


@dataclass(frozen=True)
class Spent:
    """Tokens and their cost at Tamma's prices."""

    usage: Usage
    cost_usd: float


def _wire_usage(raw: Mapping[str, Any] | None) -> Usage:
    """A `usage` object of the Messages API; a field it lacks or leaves null is 0."""
    raw = raw or {}
    return Usage(**{field: int(raw.get(wire) or 0) for field, wire in _WIRE_NAMES.items()})


def _beyond(total: Usage, part: Usage) -> Usage:
    """What `total` holds beyond `part`, field by field (never negative: Tamma errs high)."""
    return Usage(**{field: max(0, getattr(total, field) - getattr(part, field)) for field in _WIRE_NAMES})


class SessionMeter:
    """Counts one session's spend into the run's budget and keeps the session's total."""

    def __init__(self, guard: BudgetGuard, prices: PriceTable, model: str) -> None:
        """`model`: the session's, which has a price; it prices what no other price fits."""
        self.guard, self.prices, self.model = guard, prices, model
        self.total = Spent(Usage(), 0.0)

    def started(self, model: str, usage: Mapping[str, Any] | None) -> Spent:
        """A response's first figures (`message_start`), counted as one turn."""
        spent = self._priced(model, _wire_usage(usage))
        self._count(spent, turn=True)
        return spent

    def ended(self, model: str, first: Spent, usage: Mapping[str, Any] | None) -> Spent:
        """The response's final figures (`message_delta`); what they add to `first` is counted. A
        field they lack (an older API sends only `output_tokens`) adds nothing."""
        added = self._priced(model, _beyond(_wire_usage(usage), first.usage))
        self._count(added, turn=False)
        return Spent(first.usage + added.usage, round(first.cost_usd + added.cost_usd, 8))

    def unseen(self, reported: Mapping[str, Any] | None) -> Spent | None:
        """What the CLI counted for the query (`ResultMessage.usage`) beyond the responses seen,
        counted and returned for the record; None when nothing."""
        extra = _beyond(_wire_usage(reported), self.total.usage)
        if extra == Usage():
            return None
        spent = self._priced(self.model, extra)
        self._count(spent, turn=False)
        return spent

    def _priced(self, model: str, usage: Usage) -> Spent:
        return Spent(usage, self.prices.cost(model if self.prices.price(model) else self.model, usage))

    def _count(self, spent: Spent, *, turn: bool) -> None:
        """Add `spent` to the session's total and the run's budget; `BudgetGuard.add` counts a
        turn as well, so a later figure for a response already counted goes to `spent` directly."""
        usage = spent.usage
        self.total = Spent(self.total.usage + usage, round(self.total.cost_usd + spent.cost_usd, 8))
        tokens = usage.total_input_tokens + usage.output_tokens
        if turn:
            self.guard.add(tokens, spent.cost_usd)
            return
        self.guard.spent.tokens += tokens
        self.guard.spent.cost_usd = round(self.guard.spent.cost_usd + spent.cost_usd, 8)
