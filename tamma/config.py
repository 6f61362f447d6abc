"""Settings: TAMMA_* environment > ./tamma.yaml > $TAMMA_HOME/config.yaml > defaults.

Only plain settings live here; secrets (API keys, tokens) come from the environment or the
OS keychain and are never read from YAML.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import yaml
from pydantic import Field, ValidationError, field_validator
from pydantic_settings import (
    BaseSettings,
    PydanticBaseSettingsSource,
    SettingsConfigDict,
    YamlConfigSettingsSource,
)

from tamma.agent.settings import AgentSettings
from tamma.errors import ConfigError
from tamma.platforms._settings import PlatformsSettings
from tamma.providers._pricing import ModelPrice
from tamma.providers._settings import BreakerConfig, ProviderSettings

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

    @field_validator("home")
    @classmethod
    def _expand_home(cls, value: Path) -> Path:
        return value.expanduser()

    @property
    def event_store_url(self) -> str:
        """The configured event store, or the embedded SQLite file under `home`."""
        return self.database_url or f"sqlite:///{self.home / 'events.db'}"

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
    except yaml.YAMLError as exc:
        raise ConfigError(f"configuration file is not valid YAML: {exc}") from None
    except ValidationError as exc:
        problems = "; ".join(f"{'.'.join(map(str, e['loc'])) or 'config'}: {e['msg']}" for e in exc.errors())
        raise ConfigError(f"invalid configuration: {problems}") from None
