"""What writes the code in one test-first phase: the `AgentBackend` protocol.

`TestFirstAgent` owns the phases (tests must fail first, then pass; the suite stays green;
lint clean), checks each with Tamma's own command runs, commits and records the phase
boundaries. A backend only converses until the phase's work is done: Tamma's own tool loop
(`ToolUseLoop`, "builtin") or Claude Code under Tamma's policy (`ClaudeCodeBackend`). Both
spend from the same `BudgetGuard` and record the same event types.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Protocol

from tamma.agent.budget import BudgetGuard
from tamma.agent.loop import PhaseOutcome
from tamma.agent.tools import Toolbox
from tamma.providers import Message

__all__ = ["AgentBackend"]


class AgentBackend(Protocol):
    name: str
    """Tags the backend's events (`agent:<name>`): builtin or claude-code."""
    toolbox: Toolbox
    """Tamma's own test and lint runs go through it, whichever backend writes the code."""
    guard: BudgetGuard
    """The run's budget, shared by every phase and backend."""

    def run(self, phase: str, system: str, messages: Sequence[Message]) -> PhaseOutcome:
        """Converse until the phase's work is done, a budget is reached or the backend fails."""
        ...
