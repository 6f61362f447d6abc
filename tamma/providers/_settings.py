"""Provider settings as they appear in tamma.yaml / TAMMA_PROVIDERS, and the keys they need.

    providers:                       # tried in this order (failover)
      - kind: anthropic
        model: claude-sonnet-4-6
      - kind: openai-compatible
        name: ollama
        base_url: http://127.0.0.1:11434/v1
        model: qwen2.5-coder
    prices:                          # USD per million tokens, overriding the built-in table
      qwen2.5-coder: {input: 0, output: 0, cache_read: 0, cache_write: 0}

API keys never come from YAML: from the environment variable `api_key_env` names
(ANTHROPIC_API_KEY for Anthropic), else from the OS keychain (service "tamma", user = the
provider's name).
"""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

from tamma.secrets import lookup_secret

__all__ = ["BreakerConfig", "ProviderSettings", "api_key_for"]

_DEFAULT_KEY_ENV = {"anthropic": "ANTHROPIC_API_KEY", "openai-compatible": "OPENAI_API_KEY"}


class ProviderSettings(BaseModel):
    """One provider of the chain."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    kind: Literal["anthropic", "openai-compatible"]
    name: str = ""
    model: str = ""
    base_url: str | None = None
    api_key_env: str | None = None
    timeout_s: float = Field(default=600.0, gt=0)

    @model_validator(mode="before")
    @classmethod
    def _no_keys_in_files(cls, values: Any) -> Any:
        if isinstance(values, dict) and any(k in values for k in ("api_key", "key", "token")):
            raise ValueError(
                "API keys do not belong in configuration files; set the environment variable named by "
                "api_key_env (ANTHROPIC_API_KEY by default) or store it in the OS keychain"
            )
        return values

    @property
    def display_name(self) -> str:
        return self.name or self.kind

    @property
    def key_env(self) -> str | None:
        return self.api_key_env or _DEFAULT_KEY_ENV.get(self.kind)


class BreakerConfig(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    failures: int = Field(default=5, ge=1)
    window_s: float = Field(default=60.0, gt=0)
    open_s: float = Field(default=300.0, gt=0)


def api_key_for(settings: ProviderSettings) -> str | None:
    """The provider's key from its environment variable, else the OS keychain, else None."""
    return lookup_secret(
        [settings.key_env] if settings.key_env else [], settings.display_name, block="provider"
    )
