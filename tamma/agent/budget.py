"""Hard budgets for a model session, enforced in code before every call.

Why before and not after: a cap checked after the call is overshot by that call. Here the
guard estimates the next call conservatively (every character of the request a third of a
token, priced as a cache write; the full `max_tokens` of output) and refuses it if spending
it could cross any cap. So the spend never exceeds a cap by more than the error of one
estimate, and with these estimates not at all. What was spent is plain data (`Spend`), so a
stopped session can be resumed with a larger budget.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable
from dataclasses import dataclass

from tamma.agent.settings import Budget
from tamma.errors import TammaError
from tamma.providers import PriceTable, Request, Response

__all__ = ["Budget", "BudgetExceeded", "BudgetGuard", "Spend"]

CHARACTERS_PER_TOKEN = 3
"""Fewer characters per token than English text averages (about 4): the estimate errs high."""


class BudgetExceeded(TammaError):
    """The next call would cross `limit`; the session stops with what it has."""

    def __init__(self, limit: str, used: float, next_call: float, cap: float) -> None:
        self.limit, self.used, self.next_call, self.cap = limit, used, next_call, cap
        super().__init__(
            f"budget: {limit} would reach {_number(used + next_call)} with the next call "
            f"(used {_number(used)}, cap {_number(cap)})"
        )


@dataclass
class Spend:
    turns: int = 0
    tokens: int = 0
    cost_usd: float = 0.0
    wall_s: float = 0.0


@dataclass(frozen=True)
class CallEstimate:
    tokens: int
    cost_usd: float


class BudgetGuard:
    """Checks every call against `budget` and adds up what calls really cost."""

    def __init__(
        self,
        budget: Budget,
        prices: PriceTable,
        *,
        spent: Spend | None = None,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.budget, self.prices, self.spent = budget, prices, spent or Spend()
        self._clock = clock
        self._started = clock() - self.spent.wall_s

    def estimate(self, request: Request, model: str) -> CallEstimate:
        input_tokens = math.ceil(len(request.model_dump_json()) / CHARACTERS_PER_TOKEN)
        price = self.prices.price(model or request.model)
        cost = 0.0
        if price is not None:
            per_input = max(price.input, price.cache_write)
            cost = (input_tokens * per_input + request.max_tokens * price.output) / 1_000_000
        return CallEstimate(tokens=input_tokens + request.max_tokens, cost_usd=cost)

    def before_call(self, request: Request, model: str = "") -> CallEstimate:
        """The estimate of the call, or `BudgetExceeded` if it could cross a cap."""
        self.spent.wall_s = self._clock() - self._started
        estimate = self.estimate(request, model)
        checks = (
            ("turns", self.spent.turns, 1, self.budget.max_turns),
            ("tokens", self.spent.tokens, estimate.tokens, self.budget.max_tokens),
            ("cost_usd", self.spent.cost_usd, estimate.cost_usd, self.budget.max_cost_usd),
            ("wall_s", self.spent.wall_s, 0, self.budget.max_wall_s),
        )
        for limit, used, next_call, cap in checks:
            if used + next_call > cap:
                raise BudgetExceeded(limit, used, next_call, cap)
        return estimate

    def after_call(self, response: Response) -> None:
        usage = response.usage
        self.add(usage.total_input_tokens + usage.output_tokens, response.cost_usd)

    def add(self, tokens: int, cost_usd: float) -> None:
        """One model turn's real spend (a backend that makes its own calls reports them here)."""
        self.spent.turns += 1
        self.spent.tokens += tokens
        self.spent.cost_usd = round(self.spent.cost_usd + cost_usd, 8)
        self.spent.wall_s = self._clock() - self._started

    def reached(self) -> BudgetExceeded | None:
        """The cap already reached, if any: a backend that cannot be asked before each call (its
        own CLI makes them) is stopped as soon as this says so."""
        self.spent.wall_s = self._clock() - self._started
        for limit, used, cap in (
            ("turns", self.spent.turns, self.budget.max_turns),
            ("tokens", self.spent.tokens, self.budget.max_tokens),
            ("cost_usd", self.spent.cost_usd, self.budget.max_cost_usd),
            ("wall_s", self.spent.wall_s, self.budget.max_wall_s),
        ):
            if used >= cap:
                return BudgetExceeded(limit, used, 0, cap)
        return None


def _number(value: float) -> str:
    return f"{value:.4f}".rstrip("0").rstrip(".") if isinstance(value, float) else str(value)
