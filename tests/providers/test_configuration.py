"""The provider chain from tamma.yaml and the environment; keys from env or the keychain."""

from __future__ import annotations

from pathlib import Path

import pytest

from tamma.config import load_settings
from tamma.errors import ConfigError
from tamma.providers import AnthropicProvider, FailoverProvider, OpenAICompatibleProvider, build_provider
from tests.config_fixtures import MemoryKeyring

CHAIN_YAML = """
providers:
  - kind: anthropic
    model: claude-haiku-4-5
  - kind: openai-compatible
    name: ollama
    base_url: http://127.0.0.1:11434/v1
    model: qwen2.5-coder
prices:
  qwen2.5-coder: {input: 0.5, output: 1.0, cache_read: 0.05, cache_write: 0.5}
breaker: {failures: 2, window_s: 10, open_s: 30}
"""


def test_yaml_chain_builds_failover_in_order(project: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    (project / "tamma.yaml").write_text(CHAIN_YAML)
    monkeypatch.setenv("ANTHROPIC_API_KEY", "sk-ant-from-env-123456")
    settings = load_settings()
    chain = build_provider(settings.providers, prices=settings.prices, breaker=settings.breaker)
    assert isinstance(chain, FailoverProvider)
    first, second = chain.providers
    assert isinstance(first, AnthropicProvider)
    assert first.model == "claude-haiku-4-5"
    assert isinstance(second, OpenAICompatibleProvider)
    assert second.name == "ollama"
    assert chain.breakers["ollama"].settings.failures == 2


def test_single_provider_from_the_environment(project: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(
        "TAMMA_PROVIDERS",
        '[{"kind": "openai-compatible", "base_url": "http://127.0.0.1:1/v1", "model": "m"}]',
    )
    provider = build_provider(load_settings().providers)
    assert isinstance(provider, OpenAICompatibleProvider)


def test_a_key_in_yaml_is_refused_with_a_pointer_to_the_right_place(project: Path) -> None:
    (project / "tamma.yaml").write_text("providers:\n  - kind: anthropic\n    api_key: sk-ant-oops-123456\n")
    with pytest.raises(ConfigError, match="environment variable") as refused:
        load_settings()
    assert "sk-ant-oops" not in str(refused.value)


def test_missing_key_says_where_to_put_it(project: Path, keychain: MemoryKeyring) -> None:
    with pytest.raises(ConfigError, match="set ANTHROPIC_API_KEY"):
        build_provider(load_settings().providers)


def test_key_from_the_keychain(project: Path, keychain: MemoryKeyring) -> None:
    keychain.set_password("tamma", "anthropic", "sk-ant-from-keychain-123456")
    assert isinstance(build_provider(load_settings().providers), AnthropicProvider)


def test_openai_compatible_needs_url_and_model(project: Path) -> None:
    (project / "tamma.yaml").write_text("providers:\n  - kind: openai-compatible\n    name: local\n")
    with pytest.raises(ConfigError, match="needs base_url and model"):
        build_provider(load_settings().providers)
