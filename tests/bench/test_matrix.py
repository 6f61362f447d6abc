"""Cells: which model each `--model` names, and what a cell's runs are configured with."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tamma.bench.matrix import SCRIPTED, check_models, plan_cells
from tamma.bench.matrix import cell_environment as environment_of
from tamma.bench.task_files import BenchInputError
from tamma.config import Settings, load_settings
from tamma.errors import ConfigError
from tamma.providers._settings import ProviderSettings


@pytest.fixture
def settings(project: Path, monkeypatch: pytest.MonkeyPatch) -> Settings:
    monkeypatch.setenv("TAMMA_PROVIDERS", json.dumps([{"kind": "anthropic", "model": "claude-haiku-4-5"}]))
    return load_settings()


def test_each_backend_meets_each_model(settings: Settings) -> None:
    cells = plan_cells(
        ["builtin", "claude-code", "builtin"],
        ["configured", "claude-sonnet-4-5", "openai:qwen2.5-coder:7b@http://127.0.0.1:11434/v1"],
        settings,
    )
    assert [cell.label for cell in cells] == [
        "builtin / configured",
        "builtin / claude-sonnet-4-5",
        "builtin / openai:qwen2.5-coder:7b@http://127.0.0.1:11434/v1",
        "claude-code / configured",
        "claude-code / claude-sonnet-4-5",
        "claude-code / openai:qwen2.5-coder:7b@http://127.0.0.1:11434/v1",
    ]
    assert cells[0].providers == settings.providers
    assert cells[1].providers == (ProviderSettings(kind="anthropic", model="claude-sonnet-4-5"),)
    assert cells[2].providers == (
        ProviderSettings(
            kind="openai-compatible", model="qwen2.5-coder:7b", base_url="http://127.0.0.1:11434/v1"
        ),
    )
    assert cells[2].slug == "builtin-openai-qwen2.5-coder-7b-http-127.0.0.1-11434-v1"


@pytest.mark.parametrize(
    ("backend", "model", "message"),
    [
        ("codex", "scripted", "--backend 'codex': use builtin or claude-code"),
        ("claude-code", "scripted", "answers only for the builtin backend"),
        ("builtin", "openai:qwen2.5-coder", "openai:MODEL@BASE_URL"),
        ("builtin", "anthropic:", "openai:MODEL@BASE_URL"),
    ],
)
def test_a_bad_backend_or_model_is_refused(
    settings: Settings, backend: str, model: str, message: str
) -> None:
    with pytest.raises(BenchInputError) as raised:
        plan_cells([backend], [model], settings)
    assert message in str(raised.value)


def test_a_cell_passes_the_loaded_settings_on_with_its_model_and_home(
    settings: Settings, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    [cell] = plan_cells(["claude-code"], ["claude-sonnet-4-5"], settings)
    variables = environment_of(cell, settings, tmp_path / "cell", {"agent": {"attempts_per_phase": 2}})
    for name, value in variables.items():
        monkeypatch.setenv(name, value)
    seen = load_settings()
    assert seen.home == tmp_path / "cell"
    assert seen.event_store_url == f"sqlite:///{tmp_path / 'cell' / 'events.db'}"
    assert seen.providers == (ProviderSettings(kind="anthropic", model="claude-sonnet-4-5"),)
    assert seen.agent.claude_code.model == "claude-sonnet-4-5"
    assert seen.agent.attempts_per_phase == 2
    assert seen.sandbox == settings.sandbox
    [scripted] = plan_cells(["builtin"], [SCRIPTED], settings)
    kept = json.loads(environment_of(scripted, settings, tmp_path, {})["TAMMA_PROVIDERS"])
    assert kept == [
        {**ProviderSettings(kind="anthropic").model_dump(mode="json"), "model": "claude-haiku-4-5"}
    ]


@pytest.mark.usefixtures("keychain")
def test_a_model_without_its_key_stops_the_bench_before_it_starts(settings: Settings) -> None:
    local = plan_cells(["builtin"], ["openai:qwen2.5-coder@http://127.0.0.1:11434/v1", SCRIPTED], settings)
    check_models(local, settings)  # a local server needs no key; nothing is sent
    with pytest.raises(ConfigError, match="provider 'anthropic' has no API key"):
        check_models(plan_cells(["builtin"], ["claude-sonnet-4-5"], settings), settings)
