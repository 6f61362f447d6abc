"""Why the sandbox cannot run here, said so that a user knows what to do next."""

from __future__ import annotations

from tamma.errors import ConfigError

__all__ = ["UNCONFINED_HINT", "SandboxUnavailable"]

UNCONFINED_HINT = "or set `sandbox: none` in tamma.yaml to run repository code unconfined (not recommended)"


class SandboxUnavailable(ConfigError):
    """The sandbox was asked for and a program it needs is missing or cannot work here."""
