"""The agent's settings as they appear in tamma.yaml / TAMMA_AGENT.

    agent:
      test_command: [python, -m, pytest, -q]   # default: detected (pytest, npm test, go test, cargo test)
      lint_command: [python, -m, ruff, check]  # default: ruff for Python repositories, else none
      allowed_commands: [git, ls]              # what run_command may start; default none
      command_timeout_s: 600
      attempts_per_phase: 3
      author: {name: Tamma, email: tamma@localhost}
      budget: {max_turns: 60, max_tokens: 2000000, max_cost_usd: 5.0, max_wall_s: 3600}

Only configuration sets these; nothing an issue or the model says changes them.
"""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field

__all__ = ["AgentSettings", "AuthorSettings", "Budget"]


class Budget(BaseModel):
    """Limits for one issue's agent session (all phases together)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    max_turns: int = 60
    max_tokens: int = 2_000_000
    max_cost_usd: float = 5.0
    max_wall_s: float = 3600.0


class AuthorSettings(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    name: str = "Tamma"
    email: str = "tamma@localhost"


class AgentSettings(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    test_command: tuple[str, ...] | None = None
    lint_command: tuple[str, ...] | None = None
    allowed_commands: tuple[str, ...] = ()
    command_timeout_s: float = 600.0
    attempts_per_phase: int = Field(default=3, ge=1)
    author: AuthorSettings = Field(default_factory=AuthorSettings)
    budget: Budget = Field(default_factory=Budget)
