"""Settings: TAMMA_* environment > ./tamma.yaml > $TAMMA_HOME/config.yaml > defaults.

Only plain settings live here; secrets (API keys, tokens) come from the environment or the
OS keychain and are never read from YAML.

Settings are strict, and every error names where the bad value came from:

- Each source is checked on its own before the sources are merged: every YAML file's content,
  and the environment's `TAMMA_<SETTING>` values, are validated alone against `SettingsFields`
  (the plain model `Settings` inherits its fields from, which reads no source). An error can
  then only be that source's, so its message starts with the file (`tamma.yaml: ...`) or the
  variable (`TAMMA_CLAIM_LEASE_S: ...`), with the key's path after it. Each file must
  therefore be valid by itself: a section of one file is not completed by the other.
- An unknown key, at the top or inside a section, is an error with a close match suggested;
  out-of-range numbers (timeouts, polls, budgets, ports, leases) are refused by `Field` bounds.
- A file that is not UTF-8 text, not valid YAML, or not a mapping is one error naming the
  file (and the line, when YAML says).
- The environment stays open: TAMMA_* variables that are not settings (TAMMA_LOG_FORMAT,
  TAMMA_METRICS_PORT, TAMMA_AGENT_BACKEND...) are read elsewhere and ignored here. A real
  setting's malformed value (JSON that does not parse, a number out of range) names the variable.

Every such error is a `ConfigError`, which the CLI prints as one line.
"""

from __future__ import annotations

import dataclasses
import difflib
import json
import os
import types
import typing
from collections.abc import Sequence
from pathlib import Path
from typing import Annotated, Any

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator
from pydantic.fields import FieldInfo
from pydantic_core import ErrorDetails
from pydantic_settings import (
    BaseSettings,
    EnvSettingsSource,
    NoDecode,
    PydanticBaseSettingsSource,
    SettingsConfigDict,
    SettingsError,
)

from tamma.agent.settings import AgentSettings
from tamma.errors import ConfigError
from tamma.metrics._settings import MetricsSettings
from tamma.platforms._settings import PlatformsSettings
from tamma.providers._pricing import ModelPrice
from tamma.providers._settings import BreakerConfig, ProviderSettings, api_key_for
from tamma.sandbox._policy import SandboxPolicy
from tamma.webhooks._settings import WebhookSettings

__all__ = ["Settings", "SettingsFields", "load_settings", "tamma_home"]

PROJECT_CONFIG = Path("tamma.yaml")
ENV_PREFIX = "TAMMA_"
_UNKNOWN_KEY_ERRORS = frozenset({"extra_forbidden", "unexpected_keyword_argument"})


def tamma_home() -> Path:
    """Where Tamma keeps its state: $TAMMA_HOME, default ~/.tamma."""
    return Path(os.environ.get("TAMMA_HOME") or Path.home() / ".tamma").expanduser()


class SettingsFields(BaseModel):
    """Every setting and its bounds, with no source attached: validates one file's or the
    environment's values on their own. `Settings` adds the sources."""

    model_config = ConfigDict(extra="forbid")

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
            if not value.lstrip().startswith("{"):
                return {"backend": value.strip()}
            try:
                return json.loads(value)
            except json.JSONDecodeError as exc:
                raise ValueError(f"not valid JSON ({exc})") from None
        return value

    @field_validator("home")
    @classmethod
    def _expand_home(cls, value: Path) -> Path:
        return value.expanduser()


class Settings(BaseSettings, SettingsFields):
    """Tamma's configuration; every field can be set as TAMMA_<FIELD> or in YAML."""

    model_config = SettingsConfigDict(env_prefix=ENV_PREFIX, extra="forbid")

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
            _Environment(settings_cls),
            _YamlFile(settings_cls, PROJECT_CONFIG),
            _YamlFile(settings_cls, tamma_home() / "config.yaml"),
        )


class _Environment(EnvSettingsSource):
    """TAMMA_<SETTING> variables, each checked on its own; other TAMMA_* names are ignored."""

    def prepare_field_value(
        self, field_name: str, field: FieldInfo, value: Any, value_is_complex: bool
    ) -> Any:
        try:
            return super().prepare_field_value(field_name, field, value, value_is_complex)
        except ValueError as exc:  # JSON that does not parse
            raise ConfigError(
                f"{_variable(field_name)}: {field_name}: not valid JSON ({_one_line(str(exc))})"
            ) from None

    def __call__(self) -> dict[str, Any]:
        values = super().__call__()
        try:
            SettingsFields.model_validate(values)
        except ValidationError as exc:
            raise ConfigError(
                "; ".join(f"{_variable(str(e['loc'][0]))}: {_describe(e, e['loc'])}" for e in exc.errors())
            ) from None
        return values


class _YamlFile(PydanticBaseSettingsSource):
    """One YAML file's settings (none when it does not exist), checked on their own."""

    def __init__(self, settings_cls: type[BaseSettings], path: Path) -> None:
        super().__init__(settings_cls)
        self.path = path

    def get_field_value(self, field: FieldInfo, field_name: str) -> tuple[Any, str, bool]:
        return None, field_name, False  # unused: __call__ reads the whole file at once

    def __call__(self) -> dict[str, Any]:
        values = _read_yaml(self.path)
        try:
            SettingsFields.model_validate(values)
        except ValidationError as exc:
            raise ConfigError(
                f"{self.path}: " + "; ".join(_describe(e, e["loc"]) for e in exc.errors())
            ) from None
        return values


def _read_yaml(path: Path) -> dict[str, Any]:
    """The file's mapping; {} for a missing or empty file; a `ConfigError` naming the file
    (and the line) for one that is not UTF-8, not YAML or not a mapping."""
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        return {}
    except UnicodeDecodeError as exc:
        raise ConfigError(f"{path}: not a text file (not UTF-8 at byte {exc.start}); expected YAML") from None
    except OSError as exc:
        raise ConfigError(f"{path}: cannot read: {exc.strerror or exc}") from None
    try:
        data = yaml.safe_load(text)
    except yaml.MarkedYAMLError as exc:
        where = f"line {exc.problem_mark.line + 1}: " if exc.problem_mark else ""
        raise ConfigError(
            f"{path}: {where}not valid YAML: {_one_line(exc.problem or exc.context or '')}"
        ) from None
    except yaml.reader.ReaderError as exc:
        character = exc.character if isinstance(exc.character, int) else ord(exc.character)
        raise ConfigError(
            f"{path}: not valid YAML: {exc.reason} (character #x{character:04x} at position {exc.position})"
        ) from None
    except yaml.YAMLError as exc:
        raise ConfigError(f"{path}: not valid YAML: {_one_line(str(exc))}") from None
    if data is None:
        return {}
    if not isinstance(data, dict):
        kind = "a list" if isinstance(data, list) else f"a single value ({type(data).__name__})"
        raise ConfigError(f"{path}: expected a mapping of settings (`key: value` lines), not {kind}")
    return data


def _variable(field_name: str) -> str:
    return f"{ENV_PREFIX}{field_name.upper()}"


def _one_line(text: str) -> str:
    return " ".join(text.split())


def _describe(error: ErrorDetails, loc: Sequence[int | str]) -> str:
    """`path.to[0].key: what is wrong`, with a close match for an unknown key."""
    path = "".join(f"[{part}]" if isinstance(part, int) else f".{part}" for part in loc).lstrip(".")
    if error["type"] in _UNKNOWN_KEY_ERRORS:
        known = _keys_at(SettingsFields, error["loc"][:-1])
        close = difflib.get_close_matches(str(error["loc"][-1]), known, n=1)
        hint = f" (did you mean {close[0]}?)" if close else ""
        return f"{path}: unknown setting{hint}"
    message = error["msg"].removeprefix("Value error, ")
    return f"{path}: {_one_line(message)}" if path else _one_line(message)


def _keys_at(annotation: Any, loc: Sequence[int | str]) -> list[str]:
    """The setting names valid at `loc` inside `annotation` (a model, dataclass or container)."""
    annotation = _model_of(annotation)
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        fields = {name: info.annotation for name, info in annotation.model_fields.items()}
    elif isinstance(annotation, type) and dataclasses.is_dataclass(annotation):
        hints = typing.get_type_hints(annotation)
        fields = {f.name: hints[f.name] for f in dataclasses.fields(annotation)}
    elif typing.get_origin(annotation) in (tuple, list) and loc and isinstance(loc[0], int):
        return _keys_at(typing.get_args(annotation)[0], loc[1:])
    elif typing.get_origin(annotation) is dict and loc:
        return _keys_at(typing.get_args(annotation)[1], loc[1:])
    else:
        return []
    if not loc:
        return list(fields)
    return _keys_at(fields[loc[0]], loc[1:]) if loc[0] in fields else []


def _model_of(annotation: Any) -> Any:
    """`Annotated[X, ...]` and `X | None` as X."""
    if typing.get_origin(annotation) is Annotated:
        return _model_of(typing.get_args(annotation)[0])
    if typing.get_origin(annotation) in (typing.Union, types.UnionType):
        members = [arg for arg in typing.get_args(annotation) if arg is not type(None)]
        return _model_of(members[0]) if len(members) == 1 else annotation
    return annotation


def load_settings(**overrides: Any) -> Settings:
    """Settings from every source, with `overrides` (e.g. CLI options) winning; None is ignored."""
    try:
        settings = Settings(**{key: value for key, value in overrides.items() if value is not None})
    except SettingsError as exc:
        raise ConfigError(f"invalid configuration: {_one_line(str(exc))}") from None
    except ValidationError as exc:  # each source alone was valid: their combination or the overrides are not
        problems = "; ".join(_describe(e, e["loc"]) for e in exc.errors())
        raise ConfigError(f"invalid configuration: {problems}") from None
    backend = os.environ.get("TAMMA_AGENT_BACKEND")
    if backend:
        try:
            agent = AgentSettings.model_validate({**settings.agent.model_dump(), "backend": backend})
        except ValidationError as exc:
            raise ConfigError(
                f"TAMMA_AGENT_BACKEND: {_describe(exc.errors()[0], ('agent', 'backend'))}"
            ) from None
        settings = settings.model_copy(update={"agent": agent})
    return settings
