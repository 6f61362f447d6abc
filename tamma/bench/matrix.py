"""What a bench compares: each agent backend with each model, one cell at a time.

A model is named on the command line (`--model`):

    scripted                                  each task's saved script (offline, free)
    configured                                the providers of tamma.yaml, failover included
    claude-sonnet-4-5                         Anthropic, this model (ANTHROPIC_API_KEY)
    anthropic:claude-sonnet-4-5               the same, spelled out
    openai:qwen2.5-coder@http://127.0.0.1:11434/v1   an OpenAI-compatible server (Ollama,
                                              vLLM, LM Studio); its key from OPENAI_API_KEY

A cell's runs read their settings from the environment (`cell_environment`): the user's
configuration as loaded once, with the cell's model, and a TAMMA_HOME of the cell's own, so
each cell's platforms, workspaces and event store stay apart and can be inspected after.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, cast, get_args

from tamma.agent.settings import AgentBackendName
from tamma.bench.task_files import BenchInputError
from tamma.config import Settings
from tamma.providers._settings import ProviderSettings

__all__ = ["CONFIGURED", "SCRIPTED", "Cell", "cell_environment", "check_models", "plan_cells"]

SCRIPTED = "scripted"
CONFIGURED = "configured"
_KINDS = {"anthropic": "anthropic", "openai": "openai-compatible", "openai-compatible": "openai-compatible"}
_EXPORTED = {"providers", "prices", "breaker", "agent", "sandbox"}
"""The settings a cell passes on to its runs (secrets stay in their own variables)."""


@dataclass(frozen=True)
class Cell:
    """One backend with one model; `providers` is None when each task's script answers."""

    backend: AgentBackendName
    model: str
    providers: tuple[ProviderSettings, ...] | None

    @property
    def label(self) -> str:
        return f"{self.backend} / {self.model}"

    @property
    def slug(self) -> str:
        """A directory name for the cell."""
        return re.sub(r"[^A-Za-z0-9._-]+", "-", f"{self.backend}-{self.model}").strip("-")


def plan_cells(backends: Sequence[str], models: Sequence[str], settings: Settings) -> list[Cell]:
    """Every backend with every model, in the order given; a bad name is a BenchInputError."""
    cells = []
    for backend in dict.fromkeys(backends):
        if backend not in get_args(AgentBackendName):
            raise BenchInputError(f"--backend {backend!r}: use builtin or claude-code")
        for model in dict.fromkeys(models):
            providers = _providers(model, settings)
            if providers is None and backend != "builtin":
                raise BenchInputError(
                    f"--model {SCRIPTED} answers only for the builtin backend, not {backend}"
                )
            cells.append(Cell(cast(AgentBackendName, backend), model, providers))
    return cells


def check_models(cells: Sequence[Cell], settings: Settings) -> None:
    """Build each cell's model once, as its runs will: a missing API key or base URL stops the
    bench now (ConfigError), not every task of the cell one by one. Nothing is sent anywhere."""
    from tamma.providers import build_provider  # imports the model SDKs (~1 s): only for real models

    for cell in cells:
        if cell.providers is not None:
            build_provider(cell.providers, prices=settings.prices, breaker=settings.breaker)


def _providers(spec: str, settings: Settings) -> tuple[ProviderSettings, ...] | None:
    if spec == SCRIPTED:
        return None
    if spec == CONFIGURED:
        return settings.providers
    prefix, _, rest = spec.partition(":")
    kind = _KINDS.get(prefix)
    model, _, base_url = (rest if kind else spec).partition("@")
    kind = kind or "anthropic"
    if not model or (kind == "openai-compatible") != bool(base_url):
        raise BenchInputError(
            f"--model {spec!r}: use scripted, configured, MODEL, anthropic:MODEL or openai:MODEL@BASE_URL"
        )
    return (ProviderSettings(kind=kind, model=model, base_url=base_url or None),)


def cell_environment(
    cell: Cell, settings: Settings, home: Path, overrides: Mapping[str, Mapping[str, Any]]
) -> dict[str, str]:
    """TAMMA_* variables for the cell's runs (and the local CI runners they start): `settings`
    as loaded, with the cell's model and home, and `overrides` merged into their sections (the
    shipped tasks' test and lint commands and sandbox; nothing for one's own tasks)."""
    values = settings.model_dump(mode="json", include=_EXPORTED)
    for section, changes in overrides.items():
        values[section] |= changes
    if cell.providers is not None:
        values["providers"] = [provider.model_dump(mode="json") for provider in cell.providers]
        if (
            cell.backend == "claude-code"
            and cell.providers[0].kind == "anthropic"
            and cell.providers[0].model
        ):
            values["agent"]["claude_code"]["model"] = cell.providers[0].model
    environment = {f"TAMMA_{name.upper()}": json.dumps(value) for name, value in values.items()}
    return environment | {"TAMMA_HOME": str(home), "TAMMA_DATABASE_URL": f"sqlite:///{home / 'events.db'}"}
