"""The agent's settings from tamma.yaml: commands, allowlist, budgets; typos refused."""

from __future__ import annotations

from pathlib import Path

import pytest

from tamma.config import load_settings
from tamma.errors import ConfigError

AGENT_YAML = """
agent:
  test_command: [python, -m, pytest, -q, tests]
  allowed_commands: [git]
  attempts_per_phase: 2
  author: {name: Bot, email: bot@example.com}
  budget: {max_cost_usd: 0.5, max_turns: 10}
"""


def test_agent_settings_from_yaml(project: Path) -> None:
    (project / "tamma.yaml").write_text(AGENT_YAML)
    agent = load_settings().agent
    assert agent.test_command == ("python", "-m", "pytest", "-q", "tests")
    assert agent.allowed_commands == ("git",)
    assert agent.attempts_per_phase == 2
    assert agent.author.email == "bot@example.com"
    assert (agent.budget.max_cost_usd, agent.budget.max_turns, agent.budget.max_wall_s) == (0.5, 10, 3600.0)


def test_defaults_and_typos(project: Path) -> None:
    assert load_settings().agent.budget.max_cost_usd == 5.0
    (project / "tamma.yaml").write_text("agent:\n  budget: {max_cost: 1}\n")
    with pytest.raises(ConfigError, match=r"agent\.budget\.max_cost"):
        load_settings()


def test_the_backend_from_yaml_and_the_environment(project: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    (project / "tamma.yaml").write_text(
        "agent:\n  backend: claude-code\n  claude_code: {model: claude-sonnet-4-6}\n"
    )
    agent = load_settings().agent
    assert (agent.backend, agent.claude_code.model, agent.claude_code.max_turns) == (
        "claude-code",
        "claude-sonnet-4-6",
        30,
    )

    monkeypatch.setenv("TAMMA_AGENT_BACKEND", "builtin")
    assert load_settings().agent.backend == "builtin"  # the environment wins over the file

    monkeypatch.setenv("TAMMA_AGENT_BACKEND", "codex")
    with pytest.raises(ConfigError, match="backend"):
        load_settings()
