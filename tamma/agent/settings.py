"""The agent's settings as they appear in tamma.yaml / TAMMA_AGENT.

    agent:
      test_command: [python, -m, pytest, -q]   # default: detected (pytest, npm test, go test, cargo test)
      lint_command: [python, -m, ruff, check]  # default: ruff for Python repositories (if it runs), else none; [] = off
      allowed_commands: [git, ls]              # what run_command may start; default none
      command_timeout_s: 600
      attempts_per_phase: 3
      author: {name: Tamma, email: tamma@localhost}
      budget: {max_turns: 60, max_tokens: 2000000, max_cost_usd: 5.0, max_wall_s: 3600}
      backend: builtin                         # or claude-code (TAMMA_AGENT_BACKEND, tamma run --agent)
      claude_code: {model: claude-opus-5-5, max_turns: 30, cli_path: null}

Only configuration sets these; nothing an issue or the model says changes them.
"""

from __future__ import annotations

from pathlib import Path
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

__all__ = ["AgentBackendName", "AgentSettings", "AuthorSettings", "Budget", "ClaudeCodeSettings"]

AgentBackendName = Literal["builtin", "claude-code"]


class Budget(BaseModel):
    """Limits for one issue's agent session (all phases together)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    max_turns: int = Field(default=60, ge=1)
    max_tokens: int = Field(default=2_000_000, ge=1)
    max_cost_usd: float = Field(default=5.0, gt=0)
    max_wall_s: float = Field(default=3600.0, gt=0)


class AuthorSettings(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    name: str = "Tamma"
    email: str = "tamma@localhost"


class ClaudeCodeSettings(BaseModel):
    """The Claude Code backend (`pip install 'tamma[claude-code]'`). Its shell commands are the
    agent's own `allowed_commands` and test command; its budget is the agent's `budget`."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    model: str = Field(default="claude-opus-5-5", min_length=1)
    """Needs a price in Tamma's table or `prices:`; the backend refuses to start without one. The
    default is the bundled CLI's (2.1.3xx) own with an API key, named here so that its price is
    checked before the session starts and a CLI upgrade cannot switch to a model costed at $0."""
    max_turns: int = Field(default=30, ge=1)
    """Per phase; the run's `budget.max_turns` caps all phases together as well."""
    cli_path: Path | None = None
    """None: the CLI bundled with claude-agent-sdk."""


class AgentSettings(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    test_command: tuple[str, ...] | None = None
    lint_command: tuple[str, ...] | None = None
    allowed_commands: tuple[str, ...] = ()
    command_timeout_s: float = Field(default=600.0, gt=0)
    attempts_per_phase: int = Field(default=3, ge=1)
    author: AuthorSettings = Field(default_factory=AuthorSettings)
    budget: Budget = Field(default_factory=Budget)
    backend: AgentBackendName = "builtin"
    """Who writes the code: Tamma's own tool loop, or Claude Code under Tamma's policy."""
    claude_code: ClaudeCodeSettings = Field(default_factory=ClaudeCodeSettings)
