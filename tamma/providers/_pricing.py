"""Prices per model and the cost of a call, in USD.

Prices are per million tokens. Cache writes cost more than plain input and cache reads a
fraction of it, which is why prompt caching pays. A user overrides or adds models in config
(`prices:` in tamma.yaml). `cost()` of a model with no price is 0 (a local model is free);
a model that is known to cost money (Claude Code's) goes through `require()` before it is
used, so its spend is never counted as $0.
"""

from __future__ import annotations

from collections.abc import Mapping

from pydantic import BaseModel, ConfigDict, Field

from tamma.errors import ConfigError
from tamma.providers._models import Usage

__all__ = ["DEFAULT_PRICES", "ModelPrice", "PriceTable"]


class ModelPrice(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    input: float = Field(ge=0)
    output: float = Field(ge=0)
    cache_read: float = Field(ge=0)
    cache_write: float = Field(ge=0)


def _anthropic(input_per_mtok: float, output_per_mtok: float, *, cache_read: float = 0.1) -> ModelPrice:
    # Anthropic's published ratios: 5-minute cache writes 1.25x input, cache reads 0.1x (0.05x
    # from Opus 5.5 on).
    return ModelPrice(
        input=input_per_mtok,
        output=output_per_mtok,
        cache_read=input_per_mtok * cache_read,
        cache_write=input_per_mtok * 1.25,
    )


# Keyed by model-name prefix, longest match wins ("claude-sonnet-4" covers dated versions).
DEFAULT_PRICES: Mapping[str, ModelPrice] = {
    "claude-opus-5-5": _anthropic(4.0, 20.0, cache_read=0.05),
    "claude-opus-5": _anthropic(5.0, 25.0),
    "claude-opus-4": _anthropic(15.0, 75.0),
    "claude-opus-4-5": _anthropic(5.0, 25.0),
    "claude-sonnet-4": _anthropic(3.0, 15.0),
    "claude-3-7-sonnet": _anthropic(3.0, 15.0),
    "claude-haiku-4": _anthropic(1.0, 5.0),
    "claude-3-5-haiku": _anthropic(0.8, 4.0),
}


class PriceTable:
    """Looks up a model's price by the longest matching name prefix."""

    def __init__(self, overrides: Mapping[str, ModelPrice] | None = None) -> None:
        self._prices = {**DEFAULT_PRICES, **(overrides or {})}

    def price(self, model: str) -> ModelPrice | None:
        matches = [prefix for prefix in self._prices if model.startswith(prefix)]
        return self._prices[max(matches, key=len)] if matches else None

    def require(self, model: str, *, setting: str) -> ModelPrice:
        """The price of `model`, which `setting` names; a `ConfigError` saying how to add one when
        there is none, so a paid model is refused before its first call instead of costing $0."""
        price = self.price(model)
        if price is None:
            raise ConfigError(
                f"no price for model {model!r} ({setting}), so its spend could not be counted: add it "
                f"under `prices:` in tamma.yaml, USD per million tokens, e.g. `prices: {{{model}: "
                "{input: 3, output: 15, cache_read: 0.3, cache_write: 3.75}}`"
            )
        return price

    def cost(self, model: str, usage: Usage) -> float:
        """USD for `usage` on `model`; 0.0 for a model with no price (local models)."""
        price = self.price(model)
        if price is None:
            return 0.0
        total = (
            usage.input_tokens * price.input
            + usage.output_tokens * price.output
            + usage.cache_read_tokens * price.cache_read
            + usage.cache_write_tokens * price.cache_write
        )
        return round(total / 1_000_000, 8)
