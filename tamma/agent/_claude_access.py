"""How the Claude Code CLI reaches the model: the key and base URL the built-in provider would use.

Why resolve the base URL here: the backend blanks every variable it inherits (the SDK merges
its `env` over Tamma's environment), so ANTHROPIC_BASE_URL reaches the CLI only when Tamma
passes it on. Without that, a run configured for a gateway or a local endpoint would send the
CLI's traffic to Anthropic's public API. The rule is `AnthropicProvider`'s: the provider's
`base_url`, else ANTHROPIC_BASE_URL (which the anthropic SDK reads), else Anthropic's API.
"""

from __future__ import annotations

import os
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

from tamma.errors import ConfigError
from tamma.providers._settings import ProviderSettings, api_key_for

__all__ = ["ModelAccess", "model_access"]


@dataclass(frozen=True)
class ModelAccess:
    """What the CLI needs to reach the model, and nothing more."""

    api_key: str = field(repr=False)
    base_url: str | None = None
    """None: Anthropic's API."""


def model_access(
    providers: Sequence[ProviderSettings], environ: Mapping[str, str] = os.environ
) -> ModelAccess:
    """The first `anthropic` provider that has a key: that key, and its base URL as the built-in
    provider resolves it (an empty ANTHROPIC_BASE_URL counts as unset)."""
    for provider in providers:
        key = api_key_for(provider) if provider.kind == "anthropic" else None
        if key:
            return ModelAccess(
                api_key=key, base_url=provider.base_url or environ.get("ANTHROPIC_BASE_URL") or None
            )
    raise ConfigError(
        "the claude-code agent backend needs an Anthropic API key: set ANTHROPIC_API_KEY "
        "(or the api_key_env of an anthropic provider in tamma.yaml)"
    )
