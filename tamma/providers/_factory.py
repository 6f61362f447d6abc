"""Building the configured provider chain from settings."""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from tamma.errors import ConfigError
from tamma.providers._anthropic import AnthropicProvider
from tamma.providers._failover import BreakerSettings, FailoverProvider
from tamma.providers._openai import OpenAICompatibleProvider
from tamma.providers._pricing import ModelPrice, PriceTable
from tamma.providers._protocol import Provider
from tamma.providers._settings import BreakerConfig, ProviderSettings, api_key_for
from tamma.secrets import where_to_put

__all__ = ["build_provider"]

DEFAULT_CHAIN = (ProviderSettings(kind="anthropic"),)


def build_provider(
    chain: Sequence[ProviderSettings] = DEFAULT_CHAIN,
    *,
    prices: Mapping[str, ModelPrice] | None = None,
    breaker: BreakerConfig | None = None,
) -> Provider:
    """One provider, or a `FailoverProvider` over several, in the configured order."""
    if not chain:
        raise ConfigError("no providers configured; add at least one under `providers:` in tamma.yaml")
    table = PriceTable(prices)
    providers = [_build(settings, table) for settings in chain]
    names = [p.name for p in providers]
    if len(set(names)) != len(names):
        raise ConfigError(f"provider names must be unique, got {names}; set `name:` on each")
    if len(providers) == 1:
        return providers[0]
    limits = breaker or BreakerConfig()
    return FailoverProvider(
        providers, breaker=BreakerSettings(limits.failures, limits.window_s, limits.open_s)
    )


def _build(settings: ProviderSettings, prices: PriceTable) -> Provider:
    key = api_key_for(settings)
    if settings.kind == "anthropic":
        if not key:
            hint = where_to_put([settings.key_env or "ANTHROPIC_API_KEY"], settings.display_name)
            raise ConfigError(f"provider {settings.display_name!r} has no API key: {hint}")
        return AnthropicProvider(
            api_key=key,
            model=settings.model or AnthropicProvider.default_model,
            base_url=settings.base_url,
            timeout_s=settings.timeout_s,
            prices=prices,
            name=settings.display_name,
        )
    if not settings.base_url or not settings.model:
        raise ConfigError(f"provider {settings.display_name!r} (openai-compatible) needs base_url and model")
    return OpenAICompatibleProvider(
        base_url=settings.base_url,
        model=settings.model,
        api_key=key,
        timeout_s=settings.timeout_s,
        prices=prices,
        name=settings.display_name,
    )
