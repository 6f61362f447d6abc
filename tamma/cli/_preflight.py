"""Checks made before a command starts Prefect: a run that cannot work stops in a second, not
after the server's start-up, and says what to do."""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from tamma.config import Settings


def check_sandbox(settings: Settings) -> None:
    """Stop (SandboxUnavailable, with what to install) when the configured sandbox cannot run;
    warn on stderr when repository code will run unconfined."""
    import typer

    from tamma.sandbox import UNCONFINED_WARNING, Sandbox

    sandbox = Sandbox(settings.sandbox)
    sandbox.check()
    if not sandbox.policy.confined:
        typer.secho(f"warning: {UNCONFINED_WARNING}", fg="yellow", err=True)


def check_agent_prices(settings: Settings, agent: str | None) -> None:
    """Stop (ConfigError, with the `prices:` entry to add) when the run's Claude Code model has
    no price: its spend could not be counted against the budget."""
    if (agent or settings.agent.backend) != "claude-code":
        return
    from tamma.providers import PriceTable

    PriceTable(settings.prices).require(settings.agent.claude_code.model, setting="agent.claude_code.model")
