"""Settings: TAMMA_* environment > ./tamma.yaml > $TAMMA_HOME/config.yaml > defaults.

Only plain settings live here; secrets (API keys, tokens) come from the environment or the
OS keychain and are never read from YAML.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Annotated, Any

import yaml
from pydantic import Field, ValidationError, field_validator
from pydantic_settings import (
    BaseSettings,
    NoDecode,
    PydanticBaseSettingsSource,
    SettingsConfigDict,
    SettingsError,
    YamlConfigSettingsSource,
)

from tamma.agent.settings import AgentSettings
from tamma.errors import ConfigError
from tamma.metrics._settings import MetricsSettings
from tamma.platforms._settings import PlatformsSettings
from tamma.providers._pricing import ModelPrice
from tamma.providers._settings import BreakerConfig, ProviderSettings, api_key_for
from tamma.sandbox._policy import SandboxPolicy
from tamma.webhooks._settings import WebhookSettings

__all__ = ["Settings", "load_settings", "tamma_home"]

PROJECT_CONFIG = Path("tamma.yaml")


def tamma_home() -> Path:
    """Where Tamma keeps its state: $TAMMA_HOME, default ~/.tamma."""
    return Path(os.environ.get("TAMMA_HOME") or Path.home() / ".tamma").expanduser()


class Settings(BaseSettings):
    """Tamma's configuration; every field can be set as TAMMA_<FIELD> or in YAML."""

    model_config = SettingsConfigDict(env_prefix="TAMMA_", extra="ignore")

    home: Path = Field(default_factory=tamma_home)
    database_url: str | None = None
    providers: tuple[ProviderSettings, ...] = (ProviderSettings(kind="anthropic"),)
    prices: dict[str, ModelPrice] = Field(default_factory=dict)
    breaker: BreakerConfig = Field(default_factory=BreakerConfig)
    platforms: PlatformsSettings = Field(default_factory=PlatformsSettings)
    agent: AgentSettings = Field(default_factory=AgentSettings)
    claim_lease_s: float = Field(default=600.0, gt=0)
    """How long a claim outlives its run's last heartbeat (renewed every third of it): after a
    kill or a lost machine, the issue is free again this long after the run's last sign of life."""
    metrics: MetricsSettings = Field(default_factory=MetricsSettings)
    """The Prometheus endpoint of `tamma serve`, `tamma worker` and `tamma metrics`: `port`, `host`."""
    webhooks: WebhookSettings = Field(default_factory=WebhookSettings)
    """`tamma webhooks`: the secret's variable, the trigger label and command, the size limit."""
    sandbox: Annotated[SandboxPolicy, NoDecode] = Field(default_factory=SandboxPolicy)
    """How repository code runs. `sandbox: none` (TAMMA_SANDBOX=none) names just the backend;
    TAMMA_SANDBOX may also hold the whole policy as JSON."""

    @field_validator("sandbox", mode="before")
    @classmethod
    def _sandbox_shorthand(cls, value: Any) -> Any:
        if isinstance(value, str):
            return json.loads(value) if value.lstrip().startswith("{") else {"backend": value.strip()}
        return value

    @field_validator("home")
    @classmethod
    def _expand_home(cls, value: Path) -> Path:
        return value.expanduser()

    @property
    def event_store_url(self) -> str:
        """The configured event store, or the embedded SQLite file under `home`."""
        return self.database_url or f"sqlite:///{self.home / 'events.db'}"

    def secrets(self) -> list[str]:
        """The exact values of the secrets this configuration uses: masked wherever Tamma writes
        or publishes, even when they have no recognisable shape (a self-hosted GitLab's token,
        a local model's key)."""
        keys = [api_key_for(provider) for provider in self.providers]
        tokens = [self.platforms.github.token(), self.platforms.gitlab.token(), self.platforms.gitea.token()]
        tokens.append(self.platforms.azure.token())
        tokens += self.platforms.bitbucket.secrets()
        return [secret for secret in (*keys, *tokens, self.webhooks.secret()) if secret]

    @classmethod
    def settings_customise_sources(
        cls,
        settings_cls: type[BaseSettings],
        init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource,
        dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        return (
            init_settings,
            env_settings,
            YamlConfigSettingsSource(settings_cls, yaml_file=PROJECT_CONFIG),
            YamlConfigSettingsSource(settings_cls, yaml_file=tamma_home() / "config.yaml"),
        )


def load_settings(**overrides: Any) -> Settings:
    """Settings from every source, with `overrides` (e.g. CLI options) winning; None is ignored."""
    try:
        settings = Settings(**{key: value for key, value in overrides.items() if value is not None})
        backend = os.environ.get("TAMMA_AGENT_BACKEND")
        if backend:
            agent = AgentSettings.model_validate({**settings.agent.model_dump(), "backend": backend})
            settings = settings.model_copy(update={"agent": agent})
        return settings
    except SettingsError as exc:
        raise ConfigError(f"invalid configuration: {exc}") from None
    except yaml.YAMLError as exc:
        raise ConfigError(f"configuration file is not valid YAML: {exc}") from None
    except ValidationError as exc:
        problems = "; ".join(f"{'.'.join(map(str, e['loc'])) or 'config'}: {e['msg']}" for e in exc.errors())
        raise ConfigError(f"invalid configuration: {problems}") from None
