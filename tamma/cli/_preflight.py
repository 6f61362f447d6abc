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
